"""Registration, login, token authentication and the caller's own profile."""

from __future__ import annotations

import logging

from attrs import frozen

from catalyst_core.auth.model import (
    Actor,
    GlobalRole,
    IssuedToken,
    User,
    check_name,
    check_password,
    normalize_email,
)
from catalyst_core.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
    Unavailable,
    check_each,
)
from catalyst_core.ids import IdFactory, UserId
from catalyst_core.ports import Clock, PasswordHasher, Storage, TokenIssuer

_BAD_CREDENTIALS = "invalid email or password"
log = logging.getLogger("catalyst.auth")


@frozen
class LoginResult:
    token: IssuedToken
    user: User


@frozen
class ProfileChanges:
    name: str | None = None
    email: str | None = None
    password: str | None = None
    current_password: str | None = None


class AuthService:
    def __init__(self, storage: Storage, hasher: PasswordHasher, tokens: TokenIssuer, clock: Clock,
                 ids: IdFactory) -> None:
        self.storage, self.hasher, self.tokens, self.clock, self.ids = storage, hasher, tokens, clock, ids
        self._dummy_hash: str | None = None

    async def register(self, email: str, password: str, name: str,
                       role: GlobalRole = GlobalRole.MEMBER) -> User:
        """Create a user. Conflict when the email is taken. Public registration makes members;
        `role=ADMIN` is for the operator's CLI."""
        email, name, password = check_each((normalize_email, email), (check_name, name),
                                           (check_password, password))
        hashed = await self.hasher.hash(password)  # before the transaction: it is slow on purpose
        now = self.clock.now()
        user = User(id=UserId(self.ids()), email=email, name=name, password_hash=hashed, role=role,
                    is_active=True, created_at=now, updated_at=now)
        async with self.storage.transaction() as tx:
            await tx.users.add(user)
        return user

    async def login(self, email: str, password: str) -> LoginResult:
        """Unknown email, wrong password and deactivated user all answer the same Unauthenticated,
        and each pays for exactly one hash check (an unknown email against a dummy hash made by
        the same hasher, so of the same cost), so timing does not tell them apart."""
        # Made before the lookup, whoever logs in first: were it made on the first unknown email,
        # that one answer would take a hash longer than any other.
        dummy = await self._dummy()
        try:
            email = normalize_email(email)
        except InvalidInput:
            email = ""
        async with self.storage.transaction(write=False) as tx:
            user = await tx.users.get_by_email(email) if email else None
        if user is None:
            await self.hasher.verify(password, dummy)
            raise Unauthenticated(_BAD_CREDENTIALS)
        if not await self.hasher.verify(password, user.password_hash) or not user.is_active:
            raise Unauthenticated(_BAD_CREDENTIALS)
        if self.hasher.needs_rehash(user.password_hash):
            await self._rehash(user, password)
        token = self.tokens.issue(user.id, now=self.clock.now(), version=user.token_version)
        return LoginResult(token=token, user=user)

    async def authenticate(self, token: str) -> Actor:
        """The actor behind a bearer token; Unauthenticated when the token is bad or the user is
        gone or deactivated, or its password changed since the token was issued (checked on every
        request, so each takes effect at once)."""
        claims = self.tokens.verify(token, now=self.clock.now())
        async with self.storage.transaction(write=False) as tx:
            user = await tx.users.get(claims.user_id)
        if user is None or not user.is_active or claims.version != user.token_version:
            raise Unauthenticated("token is no longer valid")
        return Actor(user_id=user.id, role=user.role)

    async def me(self, actor: Actor) -> User:
        async with self.storage.transaction(write=False) as tx:
            user = await tx.users.get(actor.user_id)
        if user is None:
            raise NotFound("user not found")
        return user

    async def update_me(self, actor: Actor, changes: ProfileChanges) -> User:
        """Name changes freely; email and password changes need the current password. A new
        password revokes every token issued before it, the caller's own included (log in again)."""
        email, name, password = check_each((normalize_email, changes.email), (check_name, changes.name),
                                           (check_password, changes.password))
        user = await self.me(actor)
        sensitive = (email is not None and email != user.email) or password is not None
        if sensitive:
            if changes.current_password is None:
                raise InvalidInput({"current_password": "required to change email or password"})
            if not await self.hasher.verify(changes.current_password, user.password_hash):
                raise Forbidden("current password is wrong")
        new_hash = await self.hasher.hash(password) if password is not None else None
        async with self.storage.transaction() as tx:
            user = await tx.users.get(actor.user_id)
            if user is None:
                raise NotFound("user not found")
            user.name = name if name is not None else user.name
            user.email = email if email is not None else user.email
            if new_hash is not None:
                user.password_hash = new_hash
                user.token_version += 1
            user.updated_at = self.clock.now()
            await tx.users.save(user)
        return user

    async def reset_password(self, email: str, password: str) -> User:
        """Operator action: set a user's password without the old one (a forgotten password, a
        leaked one). Every token issued before is revoked."""
        email, password = check_each((normalize_email, email), (check_password, password))
        new_hash = await self.hasher.hash(password)
        async with self.storage.transaction() as tx:
            user = await tx.users.get_by_email(email)
            if user is None:
                raise NotFound("user not found")
            user.password_hash, user.updated_at = new_hash, self.clock.now()
            user.token_version += 1
            await tx.users.save(user)
        return user

    async def set_active(self, email: str, active: bool) -> User:
        """Operator action: a deactivated user can neither log in nor use tokens issued before."""
        async with self.storage.transaction() as tx:
            user = await tx.users.get_by_email(normalize_email(email))
            if user is None:
                raise NotFound("user not found")
            user.is_active, user.updated_at = active, self.clock.now()
            await tx.users.save(user)
        return user

    async def _rehash(self, user: User, password: str) -> None:
        """Store the password again at the hasher's current costs: one write transaction, only
        if nobody changed the password meanwhile. A busy database does not fail the login (the
        credentials were right); the upgrade is simply tried again at the next one."""
        new_hash = await self.hasher.hash(password)
        try:
            async with self.storage.transaction() as tx:
                fresh = await tx.users.get(user.id)
                if fresh is not None and fresh.password_hash == user.password_hash:
                    fresh.password_hash = new_hash
                    await tx.users.save(fresh)
        except Unavailable:
            log.warning("could not upgrade a password hash now (database busy); next login will")

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hasher.hash("not-a-real-password")
        return self._dummy_hash
