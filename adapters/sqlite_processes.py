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
import sqlite3
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

READER_BUSY_TIMEOUT_MS = 250
READER_MMAP_BYTES = 256 * 1024 * 1024
CONNECTIONS_KEPT = 8  # per worker process: one per database file it reads, most recent kept


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


# -- in the server --------------------------------------------------------------------------------

def _started() -> None:
    """A no-op: submitting it makes the pool spawn its process."""


class ReadProcesses:
    """A pool of worker processes for heavy reads (spawned: nothing of the server's state is copied
    into them). `start` spawns them; else the first read does. Spawning runs on a worker thread:
    on the event loop it held the loop ~3.5 ms (measured, one process). A pool whose process died
    is replaced on the next read; the read that met the death raises BrokenProcessPool."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._starting: asyncio.Future[ProcessPoolExecutor] | None = None

    async def start(self) -> None:
        """Spawn the worker processes now (the server does at start-up), off the event loop."""
        await self._ready()

    async def _ready(self) -> ProcessPoolExecutor:
        if self._pool is not None:
            return self._pool
        if self._starting is None:  # concurrent first reads share one start
            self._starting = asyncio.get_running_loop().run_in_executor(None, self._spawned)
        starting = self._starting
        try:
            pool = await asyncio.shield(starting)
        finally:
            if self._starting is starting and starting.done():
                self._starting = None
        if self._pool is None:
            self._pool = pool
        elif self._pool is not pool:
            pool.shutdown(wait=False)
        return self._pool

    def _spawned(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"))
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
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
