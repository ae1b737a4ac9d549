"""Registration, login, token authentication and the caller's own profile."""

from __future__ import annotations

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
from catalyst_core.errors import Forbidden, InvalidInput, NotFound, Unauthenticated, check_each
from catalyst_core.ids import IdFactory, UserId
from catalyst_core.ports import Clock, PasswordHasher, Storage, TokenIssuer

_BAD_CREDENTIALS = "invalid email or password"


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
        and an unknown email still pays for one hash check, so timing does not tell them apart."""
        try:
            email = normalize_email(email)
        except InvalidInput:
            email = ""
        async with self.storage.transaction(write=False) as tx:
            user = await tx.users.get_by_email(email) if email else None
        if user is None:
            await self.hasher.verify(password, await self._dummy())
            raise Unauthenticated(_BAD_CREDENTIALS)
        if not await self.hasher.verify(password, user.password_hash) or not user.is_active:
            raise Unauthenticated(_BAD_CREDENTIALS)
        if self.hasher.needs_rehash(user.password_hash):
            await self._rehash(user, password)
        return LoginResult(token=self.tokens.issue(user.id, now=self.clock.now()), user=user)

    async def authenticate(self, token: str) -> Actor:
        """The actor behind a bearer token; Unauthenticated when the token is bad or the user is
        gone or deactivated (checked on every request, so deactivation takes effect at once)."""
        claims = self.tokens.verify(token, now=self.clock.now())
        async with self.storage.transaction(write=False) as tx:
            user = await tx.users.get(claims.user_id)
        if user is None or not user.is_active:
            raise Unauthenticated("token is no longer valid")
        return Actor(user_id=user.id, role=user.role)

    async def me(self, actor: Actor) -> User:
        async with self.storage.transaction(write=False) as tx:
            user = await tx.users.get(actor.user_id)
        if user is None:
            raise NotFound("user not found")
        return user

    async def update_me(self, actor: Actor, changes: ProfileChanges) -> User:
        """Name changes freely; email and password changes need the current password."""
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
            user.password_hash = new_hash if new_hash is not None else user.password_hash
            user.updated_at = self.clock.now()
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
        new_hash = await self.hasher.hash(password)
        async with self.storage.transaction() as tx:
            fresh = await tx.users.get(user.id)
            if fresh is not None and fresh.password_hash == user.password_hash:
                fresh.password_hash = new_hash
                await tx.users.save(fresh)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hasher.hash("not-a-real-password")
        return self._dummy_hash
