"""Brief SQLite writes on the event loop (adapters/sql/loop_writes.py, docs/adr/0007): no trips to a
worker thread, checkpoints off the loop, and a writer outside Catalyst neither blocks the loop nor
loses a write."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy.engine import make_url

from catalyst_adapters.sql import SqlStorage, create_engine, loop_writes
from catalyst_contracts.storage.helpers import put, read
from catalyst_contracts.strategies import make_client, make_task, make_user
from catalyst_core.errors import Conflict
from tests.conftest import sqlite_copy


@pytest.fixture
async def sqlite(tmp_path: Path, sqlite_template: Path) -> Any:
    storage = SqlStorage(create_engine(sqlite_copy(sqlite_template, tmp_path), lock_timeout=5))
    yield storage
    await storage.close()


def database(storage: SqlStorage) -> Path:
    return Path(make_url(str(storage.engine.url)).database or "")


@pytest.fixture
def thread_trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every job handed to an aiosqlite connection's worker thread."""
    trips: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return trips


async def test_a_brief_write_makes_no_trip_to_a_worker_thread(sqlite: SqlStorage,
                                                                thread_trips: list[str]) -> None:
    user, client = make_user(), make_client()
    await put(sqlite, user, client)
    thread_trips.clear()
    task = make_task(client, user, assignees=[user.id])
    async with sqlite.transaction(brief=True) as tx:
        await tx.tasks.add(task)
        assert await tx.tasks.get(task.id) == task  # its own write, inside the transaction
    assert thread_trips == []
    assert await read(sqlite, lambda tx: tx.tasks.get(task.id)) == task
    # and the other path still takes its trips: the counter sees them
    async with sqlite.transaction() as tx:
        await tx.users.get(user.id)
    assert thread_trips


async def test_a_failed_brief_write_leaves_nothing_and_the_connection_serves_the_next(
        sqlite: SqlStorage) -> None:
    user, client = make_user(), make_client()
    task = make_task(client, user)
    await put(sqlite, user, client, task)
    rolled_back = make_task(client, user, name="Rolled back")
    with pytest.raises(Conflict):
        async with sqlite.transaction(brief=True) as tx:
            await tx.tasks.add(rolled_back)
            await tx.tasks.add(task)  # already there
    assert await read(sqlite, lambda tx: tx.tasks.get(rolled_back.id)) is None
    other = make_task(client, user, name="After")
    async with sqlite.transaction(brief=True) as tx:
        await tx.tasks.add(other)
    assert await read(sqlite, lambda tx: tx.tasks.get(other.id)) == other


async def test_checkpoints_run_on_a_worker_thread_not_at_commits(
        sqlite: SqlStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loop_writes, "CHECKPOINT_EVERY_COMMITS", 3)
    ran_on: list[int] = []
    original = loop_writes.LoopWriter._run_checkpoint

    def recorded(self: Any) -> None:
        ran_on.append(threading.get_ident())
        original(self)

    monkeypatch.setattr(loop_writes.LoopWriter, "_run_checkpoint", recorded)
    user, client = make_user(), make_client()
    await put(sqlite, user, client)
    file = database(sqlite)
    size_before = file.stat().st_size
    for i in range(3):
        async with sqlite.transaction(brief=True) as tx:
            await tx.tasks.add_many([make_task(client, user, name=f"T{i}-{n}", description="x" * 2000)
                                     for n in range(20)])
        if i < 2:
            assert ran_on == []  # the loop writer's own commits never checkpoint
    writer = sqlite._loop_writer
    assert writer is not None and writer._checkpoint is not None
    await writer._checkpoint
    assert len(ran_on) == 1 and ran_on[0] != threading.get_ident()
    assert file.stat().st_size > size_before  # the WAL's pages reached the database file
    autocheckpoint = writer._open().raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert autocheckpoint == 0


async def test_a_writer_outside_catalyst_delays_a_brief_write_without_holding_the_loop(
        sqlite: SqlStorage) -> None:
    user, client = make_user(), make_client()
    await put(sqlite, user, client)
    outside = sqlite3.connect(database(sqlite), isolation_level=None, timeout=0)
    outside.execute("BEGIN IMMEDIATE")  # SQLite's write lock, without Catalyst's lock file
    longest_gap = 0.0
    stop = False

    async def sentinel() -> None:
        nonlocal longest_gap
        last = time.perf_counter()
        while not stop:
            await asyncio.sleep(0)
            now = time.perf_counter()
            longest_gap, last = max(longest_gap, now - last), now

    ticking = asyncio.create_task(sentinel())
    asyncio.get_running_loop().call_later(0.4, outside.rollback)
    task = make_task(client, user)
    started = time.perf_counter()
    try:
        async with sqlite.transaction(brief=True) as tx:
            await tx.tasks.add(task)
    finally:
        stop = True
        await ticking
        outside.close()
    assert time.perf_counter() - started >= 0.35  # it did wait for the lock...
    assert longest_gap < 0.1, longest_gap  # ...on a worker thread: the loop kept turning
    assert await read(sqlite, lambda tx: tx.tasks.get(task.id)) == task
    async with sqlite.transaction(brief=True) as tx:  # and the loop path is back
        await tx.tasks.add(make_task(client, user, name="Next"))


async def test_saves_keep_assignee_rows_in_step_with_the_task(sqlite: SqlStorage) -> None:
    """A save that keeps the assignees leaves their rows alone; one that changes them rewrites
    them, also when the same id was deleted and added again meanwhile (the brief writer's
    repositories outlive their transactions)."""
    from catalyst_core.paging import PageRequest, SortSpec
    from catalyst_core.tasks.model import TaskQuery

    user, other, client = make_user(), make_user(), make_client()
    task = make_task(client, user, assignees=[user.id])
    await put(sqlite, user, other, client, task)

    async def assigned(who: Any) -> list[Any]:
        page = await read(sqlite, lambda tx: tx.tasks.list(
            TaskQuery(client_id=client.id, assignee_id=who.id), PageRequest(1, 10), SortSpec()))
        return [t.id for t in page.items]

    async with sqlite.transaction(brief=True) as tx:
        loaded = await tx.tasks.get(task.id, for_update=True)
        loaded.name = "Renamed"
        await tx.tasks.save(loaded)
    assert await assigned(user) == [task.id]
    async with sqlite.transaction(brief=True) as tx:
        loaded = await tx.tasks.get(task.id, for_update=True)
        loaded.assignees = [other.id]
        await tx.tasks.save(loaded)
    assert await assigned(user) == [] and await assigned(other) == [task.id]

    async with sqlite.transaction(brief=True) as tx:
        stale = await tx.tasks.get(task.id)  # version 3, assigned to `other`
        await tx.tasks.delete(task.id)
        await tx.tasks.add(make_task(client, user, id=task.id, assignees=[user.id]))
    stale.version = 1  # the new task's version
    async with sqlite.transaction(brief=True) as tx:
        await tx.tasks.save(stale)
    assert await assigned(other) == [task.id] and await assigned(user) == []


async def test_a_file_not_yet_in_wal_mode_is_left_to_the_aiosqlite_writers(
        tmp_path: Path, sqlite_template: Path, thread_trips: list[str]) -> None:
    """Switching a file to WAL may have to wait for other connections, which the loop must not:
    the loop writer only checks, and a brief write takes the aiosqlite path until it is WAL."""
    url = sqlite_copy(sqlite_template, tmp_path)
    with sqlite3.connect(make_url(url).database or "") as plain:
        assert plain.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    storage = SqlStorage(create_engine(url))
    try:
        user, client = make_user(), make_client()
        async with storage.transaction(brief=True) as tx:  # aiosqlite, which switches the file
            await tx.users.add(user)
            await tx.clients.add(client)
        assert thread_trips
        thread_trips.clear()
        task = make_task(client, user)
        async with storage.transaction(brief=True) as tx:  # now on the loop
            await tx.tasks.add(task)
        assert thread_trips == []
        assert await read(storage, lambda tx: tx.tasks.get(task.id)) == task
    finally:
        await storage.close()
