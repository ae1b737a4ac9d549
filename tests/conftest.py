"""Fixtures shared by every test: one storage of each kind, and an HTTP client over any of them.

PostgreSQL tests use CATALYST_TEST_POSTGRES_URL (default: the server on 127.0.0.1:5432, database
`test`) inside a schema of their own, so parallel runs do not meet. Without the server they skip,
unless CATALYST_REQUIRE_SERVICES=1 (set by .ci/run), where a missing server is a failure."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from aiohttp.test_utils import TestClient, TestServer

from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.notifier import RecordingNotifier
from catalyst_adapters.security import PasslibHasher
from catalyst_adapters.sql import SqlStorage, create_engine, migrate
from catalyst_adapters.sqlite_processes import ReadProcesses
from catalyst_api.app import create_app
from catalyst_api.container import build_container
from catalyst_api.settings import Settings

STORAGE_KINDS = ("memory", "sqlite", "postgres")
# SQLite with the fast lane off (docs/adr/0006); the HTTP tests of tasks and comments run on it too
# (tests/http/conftest.py).
FAST_LANE_OFF = "sqlite-fast-lane-off"
TEST_SECRET = "test-secret-that-is-long-enough-for-hs256!"
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def run_in_thread(coroutine_function: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine to completion on a loop of its own, even when called inside a running loop
    (session fixtures may first be requested from an async test)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_function())).result()  # type: ignore[arg-type]


def services_required() -> bool:
    return os.environ.get("CATALYST_REQUIRE_SERVICES") == "1"


# -- SQLite: migrate once into a template file, copy it for each test ----------------------------

@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate(engine)
        await engine.dispose()

    run_in_thread(build)
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    target = directory / f"catalyst-{uuid.uuid4().hex}.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


# -- PostgreSQL: one schema per test session --------------------------------------------------------

@pytest.fixture(scope="session")
def postgres_url() -> Iterator[tuple[str, dict[str, Any]]]:
    """(url, engine kwargs) of a freshly migrated schema; skips or fails when there is no server."""
    url = os.environ.get("CATALYST_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    schema = f"catalyst_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    kwargs = {"connect_args": {"server_settings": {"search_path": schema}}}

    async def setup() -> None:
        admin = create_engine(url)
        try:
            async with admin.begin() as conn:
                await conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
        finally:
            await admin.dispose()
        engine = create_engine(url, **kwargs)
        await migrate(engine)
        await engine.dispose()

    try:
        run_in_thread(setup)
    except (OSError, sqlalchemy.exc.DBAPIError, sqlalchemy.exc.InterfaceError) as e:
        message = f"PostgreSQL unavailable at {url}: {e}"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    yield url, kwargs

    async def teardown() -> None:
        admin = create_engine(url)
        async with admin.begin() as conn:
            await conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()

    run_in_thread(teardown)


# -- one storage of each kind -------------------------------------------------------------------

@pytest.fixture(scope="session")
def read_processes() -> Iterator[ReadProcesses]:
    """One pool of worker processes for the heavy SQLite reads of every test (as a server has)."""
    processes = ReadProcesses(1)
    yield processes
    processes.close()


StorageFactory = Callable[[], Awaitable[Any]]


@pytest.fixture
async def storage_factory(request: pytest.FixtureRequest, tmp_path: Path,
                          sqlite_template: Path) -> AsyncIterator[Callable[[str], Awaitable[Any]]]:
    """`await storage_factory(kind)` gives an empty storage of that kind, closed after the test."""
    made: list[Any] = []

    async def make(kind: str) -> Any:
        if kind == "memory":
            storage: Any = MemoryStorage()
        elif kind == "sqlite":
            storage = SqlStorage(create_engine(sqlite_copy(sqlite_template, tmp_path)),
                                 request.getfixturevalue("read_processes"))
        elif kind == FAST_LANE_OFF:  # CATALYST_FAST_LANE=0: SQLAlchemy's plain path only
            storage = SqlStorage(create_engine(sqlite_copy(sqlite_template, tmp_path), fast_lane=False),
                                 fast_lane=False)
        elif kind == "postgres":
            url, kwargs = request.getfixturevalue("postgres_url")
            storage = SqlStorage(create_engine(url, **kwargs))
            await storage.reset()
        else:
            raise ValueError(kind)
        made.append(storage)
        return storage

    yield make
    for storage in made:
        await storage.close()


@pytest.fixture(params=STORAGE_KINDS)
async def storage(request: pytest.FixtureRequest, storage_factory: Callable[[str], Awaitable[Any]]) -> Any:
    """An empty storage; tests using it run once per kind (memory, sqlite, postgres)."""
    return await storage_factory(request.param)


# -- HTTP ---------------------------------------------------------------------------------------

@pytest.fixture
async def api_factory(storage_factory: Callable[[str], Awaitable[Any]]
                      ) -> AsyncIterator[Callable[..., Awaitable[TestClient]]]:
    """`await api_factory(kind)` gives an aiohttp TestClient over a fresh storage of that kind.

    The client carries `.container` (to reach services, the notifier, the clock) and `.notifier`."""
    clients: list[TestClient] = []

    async def make(kind: str = "memory", **overrides: Any) -> TestClient:
        # The scheduler runs only in the tests that ask for it (it would race the others' clocks).
        overrides.setdefault("scheduler", False)
        if kind == FAST_LANE_OFF:
            overrides.setdefault("fast_lane", False)
        settings = Settings(database_url="memory", data_dir=Path("unused"), jwt_secret=TEST_SECRET,
                            **overrides)
        container = build_container(settings)
        container.storage.override(await storage_factory(kind))
        container.hasher.override(PasslibHasher.fast_for_tests())
        notifier = RecordingNotifier()
        container.notifier.override(notifier)
        client = TestClient(TestServer(create_app(settings, container=container)))
        await client.start_server()
        client.container = container  # type: ignore[attr-defined]
        client.notifier = notifier  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture(params=("memory", "sqlite", "postgres"))
async def api(request: pytest.FixtureRequest,
              api_factory: Callable[..., Awaitable[TestClient]]) -> TestClient:
    """An HTTP client over memory, SQLite and PostgreSQL storage (the test runs once for each)."""
    return await api_factory(request.param)
