"""Heavy SQLite reads in worker processes, so that they never slow the server's own event loop.

Measured (docs/benchmarks.md): a performance report's aggregate run on a thread of the server
process doubled the task list's p99 under load, while the same report served by another process
left it unchanged; the cause is inside the process (the GIL and SQLite's process-wide state), so the
cure is another process. Statements whose cost grows with the data (reports, text search, counts of
large lists) are sent here as SQL text with positional parameters, already compiled by SQLAlchemy
(the fast lane's `_Prepared`), and their raw rows come back to be converted by the caller.

This module imports only the standard library: a worker process starts in a few milliseconds of
imports, whatever the server has loaded."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

READER_BUSY_TIMEOUT_MS = 250
READER_MMAP_BYTES = 256 * 1024 * 1024
CONNECTIONS_KEPT = 8  # per worker process: one per database file it reads, most recent kept
PARENT_CHECK_SECONDS = 0.5


def configure_reader(connection: sqlite3.Connection) -> None:
    """What every read-only connection of Catalyst's needs, in the server or in a worker process."""
    connection.isolation_level = None  # autocommit: each read sees the newest commit
    cursor = connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    # Pages are read straight from the OS cache instead of copied into each connection's own cache.
    cursor.execute(f"PRAGMA mmap_size={READER_MMAP_BYTES}")
    # WAL readers wait only in rare moments (recovery after a crash); never long.
    cursor.execute(f"PRAGMA busy_timeout={READER_BUSY_TIMEOUT_MS}")
    cursor.close()


# -- in the worker processes ----------------------------------------------------------------------

_connections: OrderedDict[str, sqlite3.Connection] = OrderedDict()


def _connection(path: str) -> sqlite3.Connection:
    connection = _connections.pop(path, None)
    if connection is None:
        connection = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True,
                                     timeout=READER_BUSY_TIMEOUT_MS / 1000)
        configure_reader(connection)
    _connections[path] = connection
    while len(_connections) > CONNECTIONS_KEPT:
        _connections.popitem(last=False)[1].close()
    return connection


def run(path: str, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
    """One statement on the database file at `path` (absolute): its rows as SQLite returns them."""
    return _connection(path).execute(sql, parameters).fetchall()


def _exit_with_parent(parent: int) -> None:
    """Runs first in each worker process: it exits once the server process that started it is
    gone, however it went (a SIGKILL, a gunicorn worker killed at its graceful timeout). A worker
    holds both ends of its own call queue, so it would otherwise wait for work forever, an orphan
    keeping the server's output pipe open."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _started() -> None:
    """A no-op: submitting it makes the pool spawn its process."""


# -- in the server --------------------------------------------------------------------------------

class ReadProcesses:
    """A pool of worker processes for heavy reads (spawned: nothing of the server's state is copied
    into them). The first read spawns them, on a worker thread: on the event loop spawning held
    the loop ~3.5 ms (measured, one process); at every server's start-up it was dropped
    (docs/adr/0008). A pool whose process died is replaced on the next read; the read that met
    the death raises BrokenProcessPool, as does a read after `close`."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._starting: asyncio.Future[ProcessPoolExecutor] | None = None
        self._closed = False

    def _begin(self) -> asyncio.Future[ProcessPoolExecutor]:
        starting = asyncio.get_running_loop().run_in_executor(None, self._spawned)
        starting.add_done_callback(self._spawn_done)
        self._starting = starting
        return starting

    def _spawn_done(self, starting: asyncio.Future[ProcessPoolExecutor]) -> None:
        if self._starting is starting:
            self._starting = None
        if starting.cancelled() or starting.exception() is not None:
            return  # the next read tries again, and meets the error itself
        pool = starting.result()
        if self._closed or (self._pool is not None and self._pool is not pool):
            pool.shutdown(wait=False, cancel_futures=True)
        else:
            self._pool = pool

    async def _ready(self) -> ProcessPoolExecutor:
        if self._closed:
            raise BrokenProcessPool("the read processes are closed")
        if self._pool is not None:
            return self._pool
        starting = self._starting or self._begin()  # concurrent first reads share one start
        await asyncio.shield(starting)
        if self._pool is None:  # closed meanwhile
            raise BrokenProcessPool("the read processes are closed")
        return self._pool

    def _spawned(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_exit_with_parent, initargs=(os.getpid(),))
        for _ in range(self._workers):
            pool.submit(_started)  # spawns a process, here on this thread, and does not wait for it
        return pool

    async def run(self, path: str, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
        pool = await self._ready()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, run, path, sql, parameters)
        except BrokenProcessPool:
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise

    def close(self) -> None:
        """Stop the worker processes (a start still under way stops them once they are spawned)."""
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
