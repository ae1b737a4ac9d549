"""Writers of two SqlStorage instances on one SQLite file, as two server processes have them, queue on
the lock file beside the database (docs/adr/0003): in turn, bounded by the lock timeout, and a
writer that gives up leaves the lock free."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from catalyst_adapters.sql import SqlStorage, create_engine
from catalyst_contracts.strategies import make_user
from catalyst_core.errors import Unavailable
from tests.conftest import sqlite_copy


@pytest.fixture
async def two_processes(sqlite_template: Path, tmp_path: Path) -> Any:
    """Two storages on one file: as two server processes would be (flock locks belong to the open
    file, so two storages in one process contend for the lock file as two processes do)."""
    url = sqlite_copy(sqlite_template, tmp_path)
    first, second = SqlStorage(create_engine(url)), SqlStorage(create_engine(url))
    yield first, second
    await first.close()
    await second.close()


async def _hold_a_write(storage: SqlStorage, holding: asyncio.Event, release: asyncio.Event,
                        order: list[str]) -> None:
    async with storage.transaction() as tx:
        await tx.users.add(make_user())
        holding.set()
        await release.wait()
        order.append("first committing")


def _lock_file_is_free(storage: SqlStorage) -> bool:
    import fcntl
    import os

    fd = os.open(storage._process_lock.path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing the descriptor lets go of a lock it took
    return True


async def test_writers_of_two_processes_queue_on_the_lock_file(two_processes: Any) -> None:
    first, second = two_processes
    assert _lock_file_is_free(first)
    holding, release, order = asyncio.Event(), asyncio.Event(), []
    holder = asyncio.create_task(_hold_a_write(first, holding, release, order))
    await holding.wait()

    async def write_second() -> None:
        async with second.transaction() as tx:
            order.append("second writing")
            await tx.users.add(make_user())

    waiter = asyncio.create_task(write_second())
    await asyncio.sleep(0.2)
    assert not waiter.done() and order == []  # waiting for the lock, not failing on SQLite's
    assert not _lock_file_is_free(first)  # held by the open write transaction
    release.set()
    async with asyncio.timeout(5):
        await asyncio.gather(holder, waiter)
    assert order == ["first committing", "second writing"]
    assert _lock_file_is_free(first)  # and let go after each commit


async def test_a_writer_cancelled_while_waiting_leaves_the_lock_free(two_processes: Any) -> None:
    first, second = two_processes
    holding, release, order = asyncio.Event(), asyncio.Event(), []
    holder = asyncio.create_task(_hold_a_write(first, holding, release, order))
    await holding.wait()

    async def write(storage: SqlStorage) -> None:
        async with storage.transaction() as tx:
            await tx.users.add(make_user())

    waiter = asyncio.create_task(write(second))
    await asyncio.sleep(0.1)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    await holder
    async with asyncio.timeout(5):  # the cancelled waiter's thread got the lock and let it go
        await write(first)
        await write(second)


async def test_a_writer_waits_for_another_process_only_so_long(two_processes: Any) -> None:
    first, second = two_processes
    second._process_lock._timeout = 0.2
    holding, release, order = asyncio.Event(), asyncio.Event(), []
    holder = asyncio.create_task(_hold_a_write(first, holding, release, order))
    await holding.wait()
    with pytest.raises(Unavailable, match="another process"):
        async with second.transaction() as tx:
            await tx.users.add(make_user())
    release.set()
    await holder
    async with asyncio.timeout(5), second.transaction() as tx:  # and then writes again
        await tx.users.add(make_user())


async def test_a_brief_write_queues_on_the_lock_file_too(two_processes: Any) -> None:
    """A brief write runs on the event loop (ADR 0007), but only once both turns are its own: the
    lock file is waited for on a worker thread, never by a BEGIN on the loop."""
    first, second = two_processes
    holding, release, order = asyncio.Event(), asyncio.Event(), []
    holder = asyncio.create_task(_hold_a_write(first, holding, release, order))
    await holding.wait()

    async def brief() -> None:
        async with second.transaction(brief=True) as tx:
            await tx.users.add(make_user())
        order.append("brief committed")

    waiter = asyncio.create_task(brief())
    await asyncio.sleep(0.2)  # the loop turns meanwhile: this test runs on it
    assert not waiter.done()
    release.set()
    await holder
    async with asyncio.timeout(5):
        await waiter
    assert order == ["first committing", "brief committed"]
    assert _lock_file_is_free(first)
