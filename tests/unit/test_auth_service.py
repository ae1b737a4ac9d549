"""AuthService with the in-memory storage, a frozen clock and real (fast) hashing and tokens."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.security import JwtTokenIssuer, PasslibHasher
from catalyst_core.auth.model import Actor, GlobalRole
from catalyst_core.auth.service import AuthService, ProfileChanges
from catalyst_core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from catalyst_core.ids import UserId, sequential_ids

SECRET = "unit-test-secret-that-is-long-enough-!!"
PASSWORD = "correct horse battery"


class CountingHasher:
    """A real hasher that counts how often it verifies (for the login timing guard)."""

    def __init__(self, inner: PasslibHasher) -> None:
        self.inner, self.verifies, self.hashes = inner, 0, 0

    async def hash(self, password: str) -> str:
        self.hashes += 1
        return await self.inner.hash(password)

    async def verify(self, password: str, hashed: str) -> bool:
        self.verifies += 1
        return await self.inner.verify(password, hashed)

    def needs_rehash(self, hashed: str) -> bool:
        return self.inner.needs_rehash(hashed)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher(PasslibHasher.fast_for_tests())


@pytest.fixture
def tokens() -> JwtTokenIssuer:
    return JwtTokenIssuer(SECRET)


@pytest.fixture
def auth(storage: MemoryStorage, hasher: CountingHasher, tokens: JwtTokenIssuer,
         clock: FrozenClock) -> AuthService:
    return AuthService(storage, hasher, tokens, clock, sequential_ids())


async def stored(storage: MemoryStorage, email: str):  # type: ignore[no-untyped-def]
    async with storage.transaction(write=False) as tx:
        return await tx.users.get_by_email(email)


# -- register -------------------------------------------------------------------------------------

async def test_register_normalises_and_stores(auth: AuthService, storage: MemoryStorage,
                                              clock: FrozenClock) -> None:
    user = await auth.register("  Ada@Example.COM ", PASSWORD, "  Ada  ")
    assert user.id == uuid.UUID(int=1)
    assert user.email == "ada@example.com"
    assert user.name == "Ada"
    assert user.role is GlobalRole.MEMBER
    assert user.is_active is True
    assert user.created_at == user.updated_at == clock.now()
    assert user.password_hash != PASSWORD and user.password_hash.startswith("$argon2")

    saved = await stored(storage, "ada@example.com")
    assert saved is not None and saved.id == user.id and saved.password_hash == user.password_hash


async def test_register_admin_role_for_the_operator(auth: AuthService) -> None:
    user = await auth.register("root@example.com", PASSWORD, "Root", role=GlobalRole.ADMIN)
    assert user.role is GlobalRole.ADMIN


async def test_register_duplicate_email_in_any_case_conflicts(auth: AuthService,
                                                              storage: MemoryStorage) -> None:
    await auth.register("ada@example.com", PASSWORD, "Ada")
    with pytest.raises(Conflict):
        await auth.register("ADA@example.com", "another password", "Imposter")
    assert (await stored(storage, "ada@example.com")).name == "Ada"


async def test_register_names_every_invalid_field(auth: AuthService, storage: MemoryStorage,
                                                  hasher: CountingHasher) -> None:
    with pytest.raises(InvalidInput) as err:
        await auth.register("not an email", "short", "   ")
    assert set(err.value.fields) == {"email", "password", "name"}
    assert hasher.hashes == 0  # nothing expensive happens for invalid input
    with pytest.raises(InvalidInput) as err:
        await auth.register("a@example.com", "x" * 129, "A")
    assert set(err.value.fields) == {"password"}
    assert await stored(storage, "a@example.com") is None


# -- login ------------------------------------------------------------------------------------------

async def test_login_issues_a_token_for_the_user(auth: AuthService, tokens: JwtTokenIssuer,
                                                 clock: FrozenClock) -> None:
    user = await auth.register("ada@example.com", PASSWORD, "Ada")
    result = await auth.login(" ADA@example.com", PASSWORD)
    assert result.user.id == user.id
    assert result.token.expires_in == 2_628_000
    claims = tokens.verify(result.token.token, now=clock.now())
    assert claims.user_id == user.id
    assert claims.issued_at == clock.now()
    assert claims.expires_at == clock.now() + timedelta(seconds=2_628_000)


async def test_login_failures_are_indistinguishable(auth: AuthService) -> None:
    await auth.register("ada@example.com", PASSWORD, "Ada")
    await auth.register("off@example.com", PASSWORD, "Off")
    await auth.set_active("off@example.com", False)
    messages = []
    for email, password in (("ada@example.com", "wrong password"), ("ghost@example.com", PASSWORD),
                            ("off@example.com", PASSWORD), ("not an email", PASSWORD)):
        with pytest.raises(Unauthenticated) as err:
            await auth.login(email, password)
        messages.append(err.value.message)
    assert len(set(messages)) == 1


@pytest.mark.parametrize("email", ["ghost@example.com", "not an email"])
async def test_unknown_email_still_pays_for_one_hash_check(auth: AuthService, hasher: CountingHasher,
                                                          email: str) -> None:
    await auth.register("ada@example.com", PASSWORD, "Ada")
    before = hasher.verifies
    with pytest.raises(Unauthenticated):
        await auth.login(email, PASSWORD)
    assert hasher.verifies == before + 1
    # And again: the dummy hash is reused, the check is still paid.
    with pytest.raises(Unauthenticated):
        await auth.login(email, PASSWORD)
    assert hasher.verifies == before + 2

    # A known email with a wrong password also costs exactly one check.
    with pytest.raises(Unauthenticated):
        await auth.login("ada@example.com", "wrong password")
    assert hasher.verifies == before + 3


async def test_login_upgrades_an_outdated_hash(storage: MemoryStorage, tokens: JwtTokenIssuer,
                                               clock: FrozenClock) -> None:
    schemes = ("argon2", "pbkdf2_sha256")
    old = PasslibHasher(schemes=schemes, default="pbkdf2_sha256", pbkdf2_sha256__rounds=1000)
    new = PasslibHasher(schemes=schemes, default="argon2", argon2__memory_cost=8, argon2__time_cost=1,
                        argon2__parallelism=1)
    ids = sequential_ids()
    await AuthService(storage, old, tokens, clock, ids).register("ada@example.com", PASSWORD, "Ada")
    old_hash = (await stored(storage, "ada@example.com")).password_hash
    assert old_hash.startswith("$pbkdf2-sha256$") and new.needs_rehash(old_hash)

    current = AuthService(storage, new, tokens, clock, ids)
    await current.login("ada@example.com", PASSWORD)
    upgraded = (await stored(storage, "ada@example.com")).password_hash
    assert upgraded.startswith("$argon2") and not new.needs_rehash(upgraded)
    assert await new.verify(PASSWORD, upgraded)
    # The upgraded hash still logs in, and a wrong password does not trigger a rehash.
    await current.login("ada@example.com", PASSWORD)
    with pytest.raises(Unauthenticated):
        await current.login("ada@example.com", "wrong password")
    assert (await stored(storage, "ada@example.com")).password_hash == upgraded


async def test_wrong_password_never_rehashes(storage: MemoryStorage, tokens: JwtTokenIssuer,
                                             clock: FrozenClock) -> None:
    schemes = ("argon2", "pbkdf2_sha256")
    old = PasslibHasher(schemes=schemes, default="pbkdf2_sha256", pbkdf2_sha256__rounds=1000)
    new = PasslibHasher(schemes=schemes, default="argon2", argon2__memory_cost=8, argon2__time_cost=1,
                        argon2__parallelism=1)
    await AuthService(storage, old, tokens, clock, sequential_ids()).register("a@example.com", PASSWORD, "A")
    before = (await stored(storage, "a@example.com")).password_hash
    with pytest.raises(Unauthenticated):
        await AuthService(storage, new, tokens, clock, sequential_ids(9)).login("a@example.com", "nope nope")
    assert (await stored(storage, "a@example.com")).password_hash == before


# -- authenticate -------------------------------------------------------------------------------------

async def test_authenticate_resolves_the_actor(auth: AuthService) -> None:
    user = await auth.register("root@example.com", PASSWORD, "Root", role=GlobalRole.ADMIN)
    token = (await auth.login("root@example.com", PASSWORD)).token.token
    actor = await auth.authenticate(token)
    assert actor == Actor(user_id=user.id, role=GlobalRole.ADMIN)
    assert actor.is_platform_admin


async def test_authenticate_rejects_deactivated_users_until_reactivated(auth: AuthService) -> None:
    await auth.register("ada@example.com", PASSWORD, "Ada")
    token = (await auth.login("ada@example.com", PASSWORD)).token.token
    await auth.set_active("ADA@example.com", False)
    with pytest.raises(Unauthenticated):
        await auth.authenticate(token)
    await auth.set_active("ada@example.com", True)
    assert (await auth.authenticate(token)).role is GlobalRole.MEMBER


async def test_authenticate_rejects_tokens_of_unknown_users(auth: AuthService, tokens: JwtTokenIssuer,
                                                            clock: FrozenClock) -> None:
    token = tokens.issue(UserId(uuid.UUID(int=999)), now=clock.now()).token
    with pytest.raises(Unauthenticated):
        await auth.authenticate(token)


async def test_authenticate_judges_expiry_by_the_clock(auth: AuthService, clock: FrozenClock) -> None:
    await auth.register("ada@example.com", PASSWORD, "Ada")
    token = (await auth.login("ada@example.com", PASSWORD)).token.token
    clock.advance(seconds=2_628_000 - 1)
    await auth.authenticate(token)
    clock.advance(seconds=1)
    with pytest.raises(Unauthenticated):
        await auth.authenticate(token)


async def test_authenticate_rejects_other_keys_and_garbage(auth: AuthService, clock: FrozenClock) -> None:
    user = await auth.register("ada@example.com", PASSWORD, "Ada")
    foreign = JwtTokenIssuer("some-other-secret-that-is-long-enough!").issue(user.id, now=clock.now()).token
    for token in (foreign, "garbage", "", "a.b.c"):
        with pytest.raises(Unauthenticated):
            await auth.authenticate(token)


async def test_set_active_unknown_email_is_not_found(auth: AuthService) -> None:
    with pytest.raises(NotFound):
        await auth.set_active("ghost@example.com", False)


# -- profile ---------------------------------------------------------------------------------------

async def test_update_me(auth: AuthService, storage: MemoryStorage, clock: FrozenClock) -> None:
    user = await auth.register("ada@example.com", PASSWORD, "Ada")
    actor = Actor(user.id)
    clock.advance(minutes=5)

    renamed = await auth.update_me(actor, ProfileChanges(name="Ada L."))
    assert renamed.name == "Ada L." and renamed.updated_at == clock.now()
    assert renamed.created_at == user.created_at

    with pytest.raises(InvalidInput) as err:
        await auth.update_me(actor, ProfileChanges(email="new@example.com"))
    assert set(err.value.fields) == {"current_password"}
    with pytest.raises(Forbidden):
        await auth.update_me(actor, ProfileChanges(password="new password 1", current_password="wrong one"))

    await auth.register("taken@example.com", PASSWORD, "Taken")
    with pytest.raises(Conflict):
        await auth.update_me(actor, ProfileChanges(email="TAKEN@example.com", current_password=PASSWORD))
    assert (await stored(storage, "ada@example.com")).name == "Ada L."

    changed = await auth.update_me(actor, ProfileChanges(email="New@Example.com", password="new password 1",
                                                         current_password=PASSWORD))
    assert changed.email == "new@example.com"
    with pytest.raises(Unauthenticated):
        await auth.login("new@example.com", PASSWORD)
    assert (await auth.login("new@example.com", "new password 1")).user.id == user.id
    assert await stored(storage, "ada@example.com") is None


async def test_me_of_a_vanished_user_is_not_found(auth: AuthService) -> None:
    with pytest.raises(NotFound):
        await auth.me(Actor(UserId(uuid.UUID(int=42))))
