"""Fixtures of the fault tests: an HTTP client over a storage the test builds itself (with short
lock bounds, behind a proxy it can cut), on SQLite or PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url

from catalyst_adapters.notifier import RecordingNotifier
from catalyst_adapters.security import PasslibHasher
from catalyst_adapters.sql import SqlStorage, create_engine
from catalyst_api.app import create_app
from catalyst_api.container import build_container
from catalyst_api.settings import Settings
from tests.conftest import DEFAULT_POSTGRES_URL, TEST_SECRET, sqlite_copy
from tests.tcp_proxy import CuttableProxy

BOUND = 0.3  # seconds: the lock timeout of the storages built here


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Any], Awaitable[TestClient]]]:
    """`await serve(storage)`: a TestClient of the whole app over `storage` (closed with it).

    aiohttp's test server cancels a handler whose client went away (`handler_cancellation=True`),
    which `catalyst serve` does not do: the tests see the harsher of the two."""
    clients: list[TestClient] = []

    async def make(storage: Any) -> TestClient:
        settings = Settings(database_url="memory", data_dir=Path("unused"), jwt_secret=TEST_SECRET,
                            scheduler=False)
        container = build_container(settings)
        container.storage.override(storage)
        container.hasher.override(PasslibHasher.fast_for_tests())
        container.notifier.override(RecordingNotifier())
        client = TestClient(TestServer(create_app(settings, container=container)))
        await client.start_server()
        client.container = container  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()  # the app's cleanup closes the storage


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    return sqlite_copy(sqlite_template, tmp_path)


def sqlite_storage(url: str, bound: float = BOUND) -> SqlStorage:
    return SqlStorage(create_engine(url, lock_timeout=bound), lock_timeout=bound)


@pytest.fixture
async def proxy() -> AsyncIterator[CuttableProxy]:
    """A cuttable proxy in front of the test PostgreSQL server."""
    target = make_url(os.environ.get("CATALYST_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    cuttable = CuttableProxy(target.host or "127.0.0.1", target.port or 5432)
    await cuttable.start()
    yield cuttable
    await cuttable.close()


async def postgres_storage(postgres_url: tuple[str, dict[str, Any]], port: int | None = None,
                           bound: float = BOUND) -> SqlStorage:
    """An emptied storage on the test schema, through `port` (the proxy) when given."""
    url, kwargs = postgres_url
    if port is not None:
        url = make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    storage = SqlStorage(create_engine(url, lock_timeout=bound, connect_timeout=2, **kwargs),
                         lock_timeout=bound)
    await storage.reset()
    return storage
