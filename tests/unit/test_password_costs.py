"""Argon2id costs: OWASP's minimum by default, configurable, and every stored hash of other costs
upgraded at its user's next successful login, in one write (issue 14, item 2)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.security import JwtTokenIssuer, PasslibHasher
from catalyst_api.container import build_container
from catalyst_api.settings import Settings
from catalyst_core.auth.service import AuthService
from catalyst_core.errors import Unauthenticated, Unavailable
from catalyst_core.ids import sequential_ids

PASSWORD = "correct horse battery"
EMAIL = "ada@example.com"


def costs(argon2_hash: str) -> tuple[str, str]:
    """`$argon2id$v=19$m=19456,t=2,p=1$salt$digest` -> ("argon2id", "m=19456,t=2,p=1")."""
    parts = argon2_hash.split("$")
    return parts[1], parts[3]


class CountingStorage:
    """A MemoryStorage that counts its write transactions, and can be told to refuse them."""

    def __init__(self) -> None:
        self.inner = MemoryStorage()
        self.writes = 0
        self.refuse_writes = False

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[Any]:
        if write:
            self.writes += 1
            if self.refuse_writes:
                raise Unavailable("the database is busy")
        async with self.inner.transaction(write=write) as tx:
            yield tx

    async def stored_hash(self, email: str = EMAIL) -> str:
        async with self.inner.transaction(write=False) as tx:
            user = await tx.users.get_by_email(email)
        assert user is not None
        return user.password_hash


def service(storage: Any, hasher: PasslibHasher) -> AuthService:
    return AuthService(storage, hasher, JwtTokenIssuer("s" * 40), FrozenClock(), sequential_ids())


# -- the hasher --------------------------------------------------------------------------------------

async def test_the_default_is_argon2id_at_owasps_minimum() -> None:
    hasher = PasslibHasher()
    hashed = await hasher.hash(PASSWORD)
    assert costs(hashed) == ("argon2id", "m=19456,t=2,p=1")
    assert hasher.costs == (19_456, 2, 1)
    assert await hasher.verify(PASSWORD, hashed)
    assert not hasher.needs_rehash(hashed)


@pytest.mark.parametrize("other", [(64, 2, 1), (32, 3, 1), (32, 2, 2), (32, 1, 1)],
                         ids=["memory", "more passes", "more lanes", "fewer passes"])
async def test_a_hash_of_any_other_cost_needs_a_rehash(other: tuple[int, int, int]) -> None:
    # Higher costs too: the configured ones are the policy, and a lower setting must take effect.
    current = PasslibHasher.argon2id(32, 2, 1)
    old = await PasslibHasher.argon2id(*other).hash(PASSWORD)
    assert current.needs_rehash(old)
    assert await current.verify(PASSWORD, old)  # still verifies: upgrading needs the password
    assert not current.needs_rehash(await current.hash(PASSWORD))


@pytest.mark.parametrize("bad", [(4, 2, 1), (16, 2, 4), (32, 0, 1), (32, 2, 0)])
def test_impossible_costs_are_refused(bad: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="argon2"):
        PasslibHasher.argon2id(*bad)


async def test_hashes_run_on_their_own_threads_no_more_at_once_than_configured() -> None:
    hasher = PasslibHasher.argon2id(8, 1, 1, threads=2)
    inner, lock = hasher.context, threading.Lock()
    running, most, names = 0, 0, set()

    class Watched:
        def hash(self, password: str) -> str:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
                names.add(threading.current_thread().name)
            try:
                threading.Event().wait(0.02)  # long enough for the others to pile up
                return str(inner.hash(password))
            finally:
                with lock:
                    running -= 1

    hasher.context = Watched()  # type: ignore[assignment]
    hashes = await asyncio.gather(*(hasher.hash(PASSWORD) for _ in range(6)))
    assert len(set(hashes)) == 6
    assert most == 2
    assert names and all(n.startswith("password-hash") for n in names)


# -- the upgrade at login -----------------------------------------------------------------------------

async def test_a_user_with_the_old_default_costs_is_upgraded_at_login_in_one_write() -> None:
    storage = CountingStorage()
    # passlib's own defaults, what every hash was made with before the costs became settings.
    old = PasslibHasher.argon2id(65_536, 3, 4)
    await service(storage, old).register(EMAIL, PASSWORD, "Ada")
    assert costs(await storage.stored_hash()) == ("argon2id", "m=65536,t=3,p=4")

    auth = service(storage, PasslibHasher())
    writes = storage.writes
    await auth.login(EMAIL, PASSWORD)
    assert storage.writes == writes + 1
    upgraded = await storage.stored_hash()
    assert costs(upgraded) == ("argon2id", "m=19456,t=2,p=1")

    # The same password still logs in, now with nothing left to write.
    await auth.login(EMAIL, PASSWORD)
    assert storage.writes == writes + 1
    assert await storage.stored_hash() == upgraded
    with pytest.raises(Unauthenticated):
        await auth.login(EMAIL, "the wrong password")


async def test_an_upgrade_the_database_cannot_take_now_does_not_fail_the_login() -> None:
    storage = CountingStorage()
    await service(storage, PasslibHasher.argon2id(64, 1, 1)).register(EMAIL, PASSWORD, "Ada")
    old = await storage.stored_hash()
    auth = service(storage, PasslibHasher.argon2id(32, 2, 1))
    storage.refuse_writes = True
    assert (await auth.login(EMAIL, PASSWORD)).token.token
    assert await storage.stored_hash() == old
    storage.refuse_writes = False
    await auth.login(EMAIL, PASSWORD)  # the next login does it
    assert costs(await storage.stored_hash())[1] == "m=32,t=2,p=1"


# -- the settings and the container -------------------------------------------------------------------

def test_the_settings_default_to_owasps_minimum(tmp_path: Path) -> None:
    settings = Settings.from_env({"CATALYST_DATA_DIR": str(tmp_path)})
    assert (settings.argon2_memory_kib, settings.argon2_time_cost,
            settings.argon2_parallelism) == (19_456, 2, 1)


@pytest.mark.parametrize("env", [{"CATALYST_ARGON2_MEMORY_KIB": "7"}, {"CATALYST_ARGON2_TIME_COST": "0"},
                                 {"CATALYST_ARGON2_PARALLELISM": "0"},
                                 {"CATALYST_ARGON2_PARALLELISM": "4", "CATALYST_ARGON2_MEMORY_KIB": "31"},
                                 {"CATALYST_PASSWORD_HASH_THREADS": "-1"}])
def test_impossible_settings_stop_the_start(env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Settings.from_env({"CATALYST_DATA_DIR": str(tmp_path)} | env)


async def test_the_configured_costs_make_every_hash_the_dummy_included(tmp_path: Path) -> None:
    env = {"CATALYST_DATA_DIR": str(tmp_path), "CATALYST_DATABASE_URL": "memory",
           "CATALYST_ARGON2_MEMORY_KIB": "64", "CATALYST_ARGON2_TIME_COST": "3",
           "CATALYST_ARGON2_PARALLELISM": "2", "CATALYST_PASSWORD_HASH_THREADS": "3"}
    container = build_container(Settings.from_env(env))
    hasher = container.hasher()
    assert hasher.costs == (64, 3, 2) and hasher.threads == 3
    verified: list[str] = []
    verify = hasher.verify

    async def recording_verify(password: str, hashed: str) -> bool:
        verified.append(hashed)
        return await verify(password, hashed)

    hasher.verify = recording_verify  # type: ignore[method-assign]
    auth = container.auth()
    await auth.register(EMAIL, PASSWORD, "Ada")
    with pytest.raises(Unauthenticated):
        await auth.login("nobody@example.com", PASSWORD)  # checked against the dummy hash
    await auth.login(EMAIL, PASSWORD)
    assert [costs(h) for h in verified] == [("argon2id", "m=64,t=3,p=2")] * 2
    assert verified[0] != verified[1]  # the dummy, then Ada's own
