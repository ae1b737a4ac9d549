"""SQLite locked past the bound: writes are answered 503 (with Retry-After) while the lock is held,
reads keep working (WAL), and writes succeed again once it is let go, without a restart."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from catalyst_adapters.sql import write_lock
from catalyst_adapters.sql.write_lock import ProcessWriteLock
from tests.faults.conftest import sqlite_storage
from tests.helpers import new_client, register

# Generous against the 0.3 s bound; only there so a regression fails instead of hanging.
NO_HANG = 10


def database_file(url: str) -> Path:
    return Path(make_url(url).database or "")


@pytest.fixture
def outside_writer(sqlite_url: str) -> Iterator[sqlite3.Connection]:
    """Another program's connection to the same file (it knows nothing of Catalyst's lock file)."""
    conn = sqlite3.connect(database_file(sqlite_url), isolation_level=None, timeout=0)
    yield conn
    conn.close()


async def test_a_write_lock_held_elsewhere_answers_writes_503_and_reads_still_work(
        serve: Any, sqlite_url: str, outside_writer: sqlite3.Connection) -> None:
    api = await serve(sqlite_storage(sqlite_url))
    alice = await register(api, "Alice")
    client_id = await new_client(alice)
    status, before = await alice.post("/tasks", json={"client_id": client_id, "name": "Before",
                                                      "assignees": [alice.id]})
    assert status == 201, before

    outside_writer.execute("BEGIN IMMEDIATE")  # holds SQLite's write lock until we let go
    try:
        async with asyncio.timeout(NO_HANG):
            # Several at once: those queued behind the first in this process are bounded too.
            answers = await asyncio.gather(*(
                api.post("/api/v1/tasks", headers=alice.headers,
                         json={"client_id": client_id, "name": f"During {i}"}) for i in range(3)))
            for response in answers:
                body = await response.json()
                assert response.status == 503, body
                assert body["status_code"] == 503 and body["message"] == "Service Unavailable"
                assert body["detail"]
                assert int(response.headers["Retry-After"]) > 0
            status, listed = await alice.get("/tasks", params={"client_id": client_id})
            assert status == 200, listed
            assert [t["name"] for t in listed["data"]["tasks"]] == ["Before"]
            status, _ = await alice.get(f"/tasks/{before['data']['id']}")
            assert status == 200
        # The lock is still held now: the answers above came within the bound, not on release.
        assert outside_writer.in_transaction
    finally:
        outside_writer.execute("ROLLBACK")

    status, after = await alice.post("/tasks", json={"client_id": client_id, "name": "After"})
    assert status == 201, after
    status, listed = await alice.get("/tasks", params={"client_id": client_id})
    assert sorted(t["name"] for t in listed["data"]["tasks"]) == ["After", "Before"]


async def test_another_server_process_writing_too_long_answers_503_then_writes_resume(
        serve: Any, sqlite_url: str) -> None:
    api = await serve(sqlite_storage(sqlite_url))
    alice = await register(api, "Alice")
    client_id = await new_client(alice)
    # Another Catalyst process's writer holds the lock file beside the database (ADR 0003).
    other_process = ProcessWriteLock.beside(database_file(sqlite_url), timeout=1)
    assert other_process is not None
    await other_process.acquire()
    try:
        async with asyncio.timeout(NO_HANG):
            for i in range(3):
                status, body = await alice.post("/tasks", json={"client_id": client_id, "name": f"t{i}"})
                assert status == 503, body
            status, _ = await alice.get("/tasks", params={"client_id": client_id})
            assert status == 200
    finally:
        other_process.release()
        other_process.close()
    async with asyncio.timeout(NO_HANG):
        status, body = await alice.post("/tasks", json={"client_id": client_id, "name": "after"})
    assert status == 201, body


async def test_writers_timing_out_on_the_lock_file_share_one_waiting_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stuck process must not fill the default thread pool with threads blocked in flock."""
    blocking_calls = []

    def flock(fd: int, operation: int) -> None:
        if not operation & write_lock.fcntl.LOCK_NB and operation != write_lock.fcntl.LOCK_UN:
            blocking_calls.append(operation)
        real_fcntl.flock(fd, operation)

    real_fcntl = write_lock.fcntl
    monkeypatch.setattr(write_lock, "fcntl", SimpleNamespace(
        flock=flock, LOCK_EX=real_fcntl.LOCK_EX, LOCK_NB=real_fcntl.LOCK_NB, LOCK_UN=real_fcntl.LOCK_UN))
    database = tmp_path / "x.db"
    holder, waiter = (ProcessWriteLock.beside(database, timeout=0.05) for _ in range(2))
    assert holder is not None and waiter is not None
    await holder.acquire()
    for _ in range(4):
        with pytest.raises(TimeoutError):
            await waiter.acquire()
    assert len(blocking_calls) == 1
    holder.release()
    async with asyncio.timeout(NO_HANG):  # the abandoned wait got the lock and let it go
        await waiter.acquire()
        waiter.release()
        await holder.acquire()
        holder.release()
    holder.close()
    waiter.close()
