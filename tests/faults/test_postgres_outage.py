"""PostgreSQL going away and coming back, seen by one server only: a proxy in front of the test
database is cut (every connection dropped, new ones refused) and restored. While it is down the
API answers 503 in the envelope with Retry-After; once it is back the same server uses it again.
Also a table locked past the bound (lock_timeout): writes 503, reads unaffected."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from catalyst_adapters.sql import create_engine
from tests.faults.conftest import postgres_storage
from tests.helpers import API, new_client, register
from tests.tcp_proxy import CuttableProxy

NO_HANG = 15  # seconds; only so that a regression fails instead of hanging


async def assert_unavailable(response: Any) -> None:
    body = await response.json()
    assert response.status == 503, body
    assert body["status_code"] == 503 and body["message"] == "Service Unavailable" and body["detail"]
    assert int(response.headers["Retry-After"]) > 0


async def test_a_stopped_database_answers_503_and_the_server_recovers_when_it_is_back(
        serve: Any, proxy: CuttableProxy, postgres_url: Any) -> None:
    api = await serve(await postgres_storage(postgres_url, proxy.port))
    alice = await register(api, "Alice")
    client_id = await new_client(alice)
    status, created = await alice.post("/tasks", json={"client_id": client_id, "name": "Kept"})
    assert status == 201, created

    for stored in (1, 2):  # twice: the second outage finds a pool refilled after the first
        await proxy.cut()
        async with asyncio.timeout(NO_HANG):
            await assert_unavailable(await api.get(f"{API}/tasks", headers=alice.headers,
                                                   params={"client_id": client_id}))
            await assert_unavailable(await api.post(f"{API}/tasks", headers=alice.headers,
                                                    json={"client_id": client_id, "name": "Lost"}))
            await assert_unavailable(await api.post(f"{API}/auth/login", json={
                "email": alice.email, "password": alice.password}))
            response = await api.get(f"{API}/health")
            assert response.status == 503
        await proxy.restore()

        # The first request after the restart is served: dead pooled connections are replaced.
        async with asyncio.timeout(NO_HANG):
            status, listed = await alice.get("/tasks", params={"client_id": client_id})
        assert status == 200, listed
        assert [t["name"] for t in listed["data"]["tasks"]] == ["Kept"] * stored
        status, body = await alice.post("/tasks", json={"client_id": client_id, "name": "Kept"})
        assert status == 201, body
        response = await api.get(f"{API}/health")
        assert response.status == 200


async def test_a_database_lost_in_the_middle_of_a_write_stores_none_of_it(
        serve: Any, proxy: CuttableProxy, postgres_url: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.faults.slow_points import pause_before_assignees

    api = await serve(await postgres_storage(postgres_url, proxy.port))
    alice = await register(api, "Alice")
    client_id = await new_client(alice)
    paused = pause_before_assignees(monkeypatch)
    request = asyncio.ensure_future(alice.post("/tasks", json={
        "client_id": client_id, "name": "Half", "assignees": [alice.id]}))
    async with asyncio.timeout(NO_HANG):
        await paused.reached.wait()  # the task's row is written, its assignees not yet
        await proxy.cut()
        paused.go_on.set()
        status, body = await request
    assert status == 503, body
    await proxy.restore()
    async with asyncio.timeout(NO_HANG):
        status, listed = await alice.get("/tasks", params={"client_id": client_id})
    assert status == 200 and listed["data"]["tasks"] == [], listed


async def test_a_table_locked_past_the_bound_answers_writes_503_and_reads_go_on(
        serve: Any, postgres_url: Any) -> None:
    api = await serve(await postgres_storage(postgres_url))
    alice = await register(api, "Alice")
    client_id = await new_client(alice)
    status, _ = await alice.post("/tasks", json={"client_id": client_id, "name": "Before"})
    assert status == 201
    url, kwargs = postgres_url
    other = create_engine(url, **kwargs)  # say, an operator's session in psql
    try:
        async with other.connect() as conn, conn.begin():
            await conn.execute(text("LOCK TABLE tasks IN EXCLUSIVE MODE"))  # reads still allowed
            async with asyncio.timeout(NO_HANG):
                await assert_unavailable(await api.post(
                    f"{API}/tasks", headers=alice.headers, json={"client_id": client_id, "name": "x"}))
                status, listed = await alice.get("/tasks", params={"client_id": client_id})
                assert status == 200 and len(listed["data"]["tasks"]) == 1, listed
    finally:
        await other.dispose()
    status, body = await alice.post("/tasks", json={"client_id": client_id, "name": "After"})
    assert status == 201, body
