"""The lock file between server processes (adapters/sql/write_lock.py, docs/adr/0003): a writer that
gave up must never let go of a lock that the next writer of its process holds.

flock belongs to an open file description, so a second flock on the same descriptor succeeds at once
while the first holds it, and one unlock ends both. Two `ProcessWriteLock`s on one path have a
descriptor each, which is what two server processes have: `other` plays the other process."""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalyst_adapters.sql.write_lock import ProcessWriteLock

NO_HANG = 5.0  # seconds: a bound on waits that take milliseconds, so a bug fails instead of hanging


@pytest.fixture
def locks(tmp_path: Path) -> Iterator[tuple[ProcessWriteLock, ProcessWriteLock]]:
    path = tmp_path / "x.db.write-lock"
    ours, other = ProcessWriteLock(path, timeout=0.05), ProcessWriteLock(path, timeout=5)
    yield ours, other
    ours.close()
    other.close()


def held_by_someone(path: Path) -> bool:
    """Whether any descriptor holds the lock, asked through a descriptor of our own."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing also lets go of the lock if it was taken just now
    return False


async def until_free(path: Path) -> None:
    """Polls: the lock file offers nothing to wait on from this side."""
    for _ in range(10**6):
        await asyncio.sleep(0.01)
        if not held_by_someone(path):
            return


async def test_a_late_wake_up_of_a_writer_that_gave_up_does_not_release_the_next_writers_lock(
        locks: tuple[ProcessWriteLock, ProcessWriteLock]) -> None:
    ours, other = locks
    await other.acquire()
    with pytest.raises(TimeoutError):
        await ours.acquire()  # gives up; its thread still waits in flock
    other.release()
    # The waiting thread takes the lock now, but the loop has not yet heard of it (the loop is
    # held here, as under load): the next writer arrives in exactly that window.
    time.sleep(0.05)  # noqa: ASYNC251 (the point: the loop does not run meanwhile)
    async with asyncio.timeout(NO_HANG):
        await ours.acquire()
    for _ in range(5):  # every callback the thread's wake-up scheduled has run
        await asyncio.sleep(0.01)
    assert held_by_someone(ours.path), "the lock the writer holds was let go behind its back"
    with pytest.raises(TimeoutError):
        await other.acquire(0.05)  # the other process still has to wait for our writer
    ours.release()
    async with asyncio.timeout(NO_HANG):
        await other.acquire()
    other.release()


async def test_the_next_writer_after_the_abandoned_thread_woke_up_holds_the_lock(
        locks: tuple[ProcessWriteLock, ProcessWriteLock]) -> None:
    """The same, when the loop heard of the wake-up before the next writer came."""
    ours, other = locks
    await other.acquire()
    with pytest.raises(TimeoutError):
        await ours.acquire()
    other.release()
    async with asyncio.timeout(NO_HANG):  # the abandoned wait got the lock and let it go
        await until_free(ours.path)
        await ours.acquire()
    await asyncio.sleep(0.05)
    assert held_by_someone(ours.path)
    ours.release()
    assert not held_by_someone(ours.path)


async def test_a_writer_cancelled_while_waiting_leaves_the_lock_free(
        locks: tuple[ProcessWriteLock, ProcessWriteLock]) -> None:
    ours, other = locks
    await other.acquire()
    waiting = asyncio.create_task(ours.acquire())
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    other.release()
    async with asyncio.timeout(NO_HANG):  # nobody of ours wants it: let go as soon as taken
        await until_free(ours.path)
    async with asyncio.timeout(NO_HANG):
        await other.acquire()
    other.release()
