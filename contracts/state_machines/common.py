"""Plumbing shared by the state machines: settings, empty storages of each kind, and the base
machine with its own event loop, storage, frozen clock and deterministic ids."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, rule

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.security import JwtTokenIssuer, PasslibHasher
from catalyst_adapters.sql import SqlStorage, create_engine
from catalyst_contracts import strategies as cs
from catalyst_core.auth.model import Actor, GlobalRole, User
from catalyst_core.auth.service import AuthService
from catalyst_core.clients.service import ClientsService
from catalyst_core.errors import DomainError
from catalyst_core.ids import UserId, sequential_ids

T = TypeVar("T")
StorageFactory = Callable[[], Awaitable[Any]]

MACHINE_SETTINGS = settings(max_examples=25, stateful_step_count=30, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow])
# A database costs about a millisecond per transaction: fewer, shorter runs keep the suite quick.
SQL_MACHINE_SETTINGS = settings(MACHINE_SETTINGS, max_examples=15, stateful_step_count=25)


def machine_settings(kind: str) -> settings:
    return MACHINE_SETTINGS if kind == "memory" else SQL_MACHINE_SETTINGS


TEST_SECRET = "state-machine-secret-long-enough-for-hs256"
PASSWORD = "correct horse battery"  # every machine registers its people with it


def storage_factory(kind: str, *, sqlite_template: Path | None = None, directory: Path | None = None,
                    postgres: tuple[str, dict[str, Any]] | None = None) -> StorageFactory:
    """An async factory of empty storages of `kind`: memory; sqlite (a copy of a migrated template
    file in `directory`); postgres (`(url, engine kwargs)` of a migrated schema, emptied each time)."""

    async def make() -> Any:
        if kind == "memory":
            return MemoryStorage()
        if kind == "sqlite":
            assert sqlite_template is not None and directory is not None
            target = directory / f"machine-{uuid.uuid4().hex}.db"
            shutil.copyfile(sqlite_template, target)
            return SqlStorage(create_engine(f"sqlite+aiosqlite:///{target}"))
        if kind == "postgres":
            assert postgres is not None
            url, kwargs = postgres
            storage = SqlStorage(create_engine(url, **kwargs))
            await storage.reset()
            return storage
        raise ValueError(kind)

    return make


class ServiceMachine(RuleBasedStateMachine):
    """Shared plumbing: an event loop, a storage, a frozen clock and deterministic ids per example."""

    storage_factory: ClassVar[StorageFactory | None] = None

    def __init__(self) -> None:
        super().__init__()
        factory = type(self).storage_factory
        if factory is None:
            raise RuntimeError("set storage_factory on a subclass before running the machine")
        self.loop = asyncio.new_event_loop()
        self.storage = self.loop.run_until_complete(factory())
        self.clock = FrozenClock(cs.BASE_TIME)
        self.ids = sequential_ids()
        self.auth = AuthService(self.storage, PasslibHasher.fast_for_tests(), JwtTokenIssuer(TEST_SECRET),
                                self.clock, self.ids)
        self.clients = ClientsService(self.storage, self.clock, self.ids)
        self.steps = 0
        self.people: dict[str, UserId] = {}
        self.actors: dict[UserId, Actor] = {}

    def register_cast(self, names: Sequence[str]) -> list[User]:
        """Register each of `names` as `<name>@example.com` with PASSWORD (`root` as a platform
        admin), into `self.people` (name -> id) and `self.actors` (id -> Actor)."""
        users = []
        for who in names:
            role = GlobalRole.ADMIN if who == "root" else GlobalRole.MEMBER
            user = self.run(self.auth.register(f"{who}@example.com", PASSWORD, who.title(), role=role))
            self.people[who] = user.id
            self.actors[user.id] = Actor(user.id, role)
            users.append(user)
        return users

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def attempt(self, coroutine: Coroutine[Any, Any, T], expected: type[DomainError] | None) -> T | None:
        """Run a use case that must succeed (expected None) or raise exactly `expected`."""
        try:
            result = self.run(coroutine)
        except DomainError as error:
            assert expected is not None, f"unexpected {error!r}"
            assert type(error) is expected, f"raised {error!r}, expected {expected.__name__}"
            return None
        assert expected is None, f"succeeded, expected {expected.__name__}"
        return result

    def teardown(self) -> None:
        try:
            self.run(self.storage.close())
            self.run(self.loop.shutdown_default_executor())
        finally:
            self.loop.close()

    @rule()
    def tick(self) -> None:
        """Time passes (without it, several steps share a timestamp and ties are broken by id)."""
        self.clock.advance(seconds=1)

