"""A client that goes away in the middle of a write leaves nothing half-written: the handler is
cancelled mid-transaction (aiohttp's test server cancels handlers of lost connections), the
transaction rolls back, and the server goes on serving. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from catalyst_adapters.sql import SqlStorage
from catalyst_adapters.sql.tables import (
    performance_days,
    performance_months,
    performance_names,
    performance_rows,
    task_assignees,
    task_counts,
    tasks,
)
from tests.faults.conftest import postgres_storage, sqlite_storage
from tests.faults.slow_points import SlowPoint, pause_before_assignees, pause_before_names
from tests.helpers import API, Caller, new_client, register

NO_HANG = 15  # seconds; only so that a regression fails instead of hanging


@pytest.fixture(params=("sqlite", "postgres"))
async def storage(request: pytest.FixtureRequest, sqlite_url: str) -> SqlStorage:
    if request.param == "sqlite":
        return sqlite_storage(sqlite_url)
    return await postgres_storage(request.getfixturevalue("postgres_url"))


async def rows_in(storage: SqlStorage, *tables: Any) -> dict[str, int]:
    """Row counts straight from the database, past every cache and fast lane."""
    async with storage.engine.connect() as conn:
        return {t.name: (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                for t in tables}


async def abandon_midway(caller: Caller, point: SlowPoint, path: str, body: dict[str, Any]) -> None:
    """Send a write, and drop the connection once the write is half done."""
    request = asyncio.ensure_future(caller.client.post(f"{API}{path}", json=body, headers=caller.headers))
    async with asyncio.timeout(NO_HANG):
        await point.reached.wait()
        request.cancel()  # the client closes its connection; the server cancels the handler
        await point.cancelled.wait()
    with pytest.raises(asyncio.CancelledError):
        await request


async def served_again(caller: Caller, write: Callable[[], Awaitable[tuple[int, Any]]]) -> Any:
    """The next write through the same server succeeds (it also queues behind the rollback)."""
    async with asyncio.timeout(NO_HANG):
        status, body = await write()
    assert status in (200, 201), body
    return body


async def test_a_task_create_cancelled_between_the_task_and_its_assignees_stores_nothing(
        serve: Any, storage: SqlStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    api = await serve(storage)
    alice, bob = await register(api, "Alice"), await register(api, "Bob")
    client_id = await new_client(alice)
    await alice.post(f"/clients/{client_id}/members", json={"email": bob.email, "role": "member"})
    empty = await rows_in(storage, tasks, task_assignees)

    point = pause_before_assignees(monkeypatch)
    await abandon_midway(alice, point, "/tasks", {"client_id": client_id, "name": "Half",
                                                  "assignees": [alice.id, bob.id]})

    await served_again(alice, lambda: alice.post("/tasks", json={"client_id": client_id,
                                                                 "name": "Whole", "assignees": [bob.id]}))
    status, listed = await alice.get("/tasks", params={"client_id": client_id})
    assert status == 200
    assert [t["name"] for t in listed["data"]["tasks"]] == ["Whole"]
    assert listed["data"]["total_items"] == 1  # task_counts, kept by triggers, rolled back too
    stored = await rows_in(storage, tasks, task_assignees)
    assert stored == {"tasks": empty["tasks"] + 1, "task_assignees": empty["task_assignees"] + 1}
    async with storage.engine.connect() as conn:
        counted = (await conn.execute(select(func.sum(task_counts.c.n)))).scalar_one()
    assert counted == stored["tasks"]


def metric_row(ad: str) -> dict[str, Any]:
    return {"date": "2024-02-01", "platform": "facebook", "campaign_id": "c-1", "campaign_name": "C",
            "adset_id": "s-1", "adset_name": "S", "ad_id": ad, "ad_name": f"Ad {ad}", "spend": "1.5",
            "impressions": 100, "clicks": 2, "landing_page_views": 1, "leads": 1, "conversions": 0,
            "revenue": 3}


async def test_a_metrics_batch_cancelled_after_its_rows_and_rollups_stores_nothing(
        serve: Any, storage: SqlStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    api = await serve(storage)
    alice = await register(api, "Alice")
    client_id = await new_client(alice)
    performance = (performance_rows, performance_days, performance_months, performance_names)

    point = pause_before_names(monkeypatch)
    await abandon_midway(alice, point, f"/clients/{client_id}/metrics",
                         {"rows": [metric_row(f"ad-{i}") for i in range(50)]})
    assert set((await rows_in(storage, *performance)).values()) == {0}

    body = await served_again(alice, lambda: alice.post(f"/clients/{client_id}/metrics",
                                                        json={"rows": [metric_row("ad-x")]}))
    assert body["data"] == {"inserted": 1, "updated": 0}
    assert await rows_in(storage, *performance) == {
        "performance_rows": 1, "performance_days": 1, "performance_months": 1,
        "performance_names": 3}  # the campaign's, the ad set's and the ad's


async def test_a_write_cancelled_while_its_statement_waits_in_sqlite_leaves_no_lock_behind(
        serve: Any, sqlite_url: str) -> None:
    """Cancelled while the statement carrying BEGIN IMMEDIATE still waits on the connection's
    thread for another program's lock: when that lock goes, the abandoned statement must not keep
    the database's write lock (or write anything) for a transaction nobody will finish."""
    import sqlite3

    from sqlalchemy.engine import make_url

    api = await serve(sqlite_storage(sqlite_url, bound=5))
    alice = await register(api, "Alice")
    client_id = await new_client(alice)
    outside = sqlite3.connect(make_url(sqlite_url).database or "", isolation_level=None, timeout=0)
    try:
        outside.execute("BEGIN IMMEDIATE")
        request = asyncio.ensure_future(api.post(f"{API}/tasks", headers=alice.headers, json={
            "client_id": client_id, "name": "Abandoned", "assignees": [alice.id]}))
        await asyncio.sleep(0.3)  # the write now waits in SQLite's busy handler
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        await asyncio.sleep(0.1)
        outside.execute("ROLLBACK")
        async with asyncio.timeout(NO_HANG):
            status, body = await alice.post("/tasks", json={"client_id": client_id, "name": "Next"})
            assert status == 201, body
            # ...and the database's lock is free for other programs too.
            outside.execute("BEGIN IMMEDIATE")
            outside.execute("ROLLBACK")
    finally:
        outside.close()
    status, listed = await alice.get("/tasks", params={"client_id": client_id})
    assert [t["name"] for t in listed["data"]["tasks"]] == ["Next"]
