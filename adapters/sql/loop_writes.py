"""Brief SQLite write transactions on the event loop (docs/adr/0007).

A task create through aiosqlite made five trips to the connection's worker thread (BEGIN with the
first read, a read, two inserts, COMMIT), each a hand-off of the GIL between the loop and that thread,
and cost 1.4 ms of CPU against the ~0.1 ms SQLite spends on it (docs/benchmarks.md). A transaction
the core marks `brief` (its work is bounded by the request, not by the data: a task create, update,
completion or comment) runs here instead, synchronously on one plain sqlite3 connection, like the
reads of ADR 0001: no trips, and the transaction holds the loop for a few tenths of a millisecond.

What keeps that from ever stalling the loop:

- the write lock is free before BEGIN: SqlStorage has already taken this process's writer turn and
  the lock file shared with other processes (ADR 0003), so `BEGIN IMMEDIATE` does not wait. The
  connection's busy timeout is zero; if a writer outside Catalyst holds SQLite's lock (the sqlite3
  shell), `begin` says so and the transaction goes through aiosqlite, whose thread may wait;
- checkpoints, which copy the WAL into the database and sync it, never run at this connection's
  commits (`wal_autocheckpoint=0`): every CHECKPOINT_EVERY_COMMITS commits a PASSIVE checkpoint runs
  on a worker thread, on a connection of its own, while writers go on;
- a commit writes its pages to the WAL without syncing (`synchronous=NORMAL`, the same as the
  aiosqlite connections): a committed write survives the process dying, not the machine losing power
  (docs/operations.md, "Durability").

Statements whose cost grows with the data must not run in a brief transaction; a repository that
has one sends it to a worker thread with `execute_offloaded`, on the same connection."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from catalyst_adapters.sql.engine import json_dumps, json_loads, sqlite_file
from catalyst_adapters.sql.inline import InlineConnection

CHECKPOINT_EVERY_COMMITS = 100  # a create writes ~10 pages: about SQLite's own 1,000-page default


class LoopWriter:
    """One synchronous write connection to a SQLite file, used on the event loop by one brief
    transaction at a time (SqlStorage's writer turn guarantees it)."""

    def __init__(self, url: URL, *, mmap_bytes: int) -> None:
        path = sqlite_file(url)
        assert path is not None, "brief writes on the loop need a SQLite file"
        self._path = path
        self._engine = _writer_engine(url, mmap_bytes)
        self._connection: Connection | None = None
        self._inline: InlineConnection | None = None
        self._commits = 0
        self._checkpoint: asyncio.Future[None] | None = None
        self._checkpointer: sqlite3.Connection | None = None  # used by one worker thread at a time

    def begin(self) -> InlineConnection | None:
        """BEGIN IMMEDIATE on the loop; None when a writer outside Catalyst holds SQLite's write lock,
        or the file is not yet in WAL mode (the caller then takes the aiosqlite path, which may wait,
        and whose connections switch the file to WAL)."""
        inline = self._open()
        if inline is None:
            return None
        try:
            inline.raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return None
            self._discard()
            raise OperationalError("BEGIN IMMEDIATE", None, e) from e
        return inline

    def end(self, inline: InlineConnection, *, commit: bool) -> None:
        """COMMIT (or ROLLBACK) what `begin` opened; a failed COMMIT rolls back and raises."""
        raw = inline.raw
        try:
            if commit:
                try:
                    raw.commit()
                except sqlite3.Error as e:
                    raise OperationalError("COMMIT", None, e) from e
                self._committed()
        finally:
            if raw.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    raw.rollback()
            # SQLAlchemy's own record of the transaction its statements began; the database's is over.
            inline.end_transaction()

    def _open(self) -> InlineConnection | None:
        inline = self._inline
        if inline is None or not inline.reusable():
            self._discard()
            self._connection = self._engine.connect()
            inline = InlineConnection(self._connection)
            # Switching a file to WAL may have to wait for other connections: that is left to the
            # aiosqlite writers (engine._enable_wal, on their thread); this one only checks.
            if inline.raw.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                self._discard()
                self._engine.dispose()  # its one pooled connection would keep the mode it saw
                return None
            self._inline = inline
        return inline

    def _discard(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
        self._connection = self._inline = None

    # -- checkpoints, off the loop ---------------------------------------------------------------

    def _committed(self) -> None:
        self._commits += 1
        if self._commits >= CHECKPOINT_EVERY_COMMITS and self._checkpoint is None:
            self._commits = 0
            self._checkpoint = asyncio.get_running_loop().run_in_executor(None, self._run_checkpoint)
            self._checkpoint.add_done_callback(self._checkpointed)

    def _run_checkpoint(self) -> None:
        """PASSIVE: copies what no reader still needs and waits for no one (runs on a thread)."""
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(self._path, isolation_level=None,
                                                 check_same_thread=False)
        self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _checkpointed(self, done: asyncio.Future[None]) -> None:
        self._checkpoint = None
        if not done.cancelled() and done.exception() is not None:
            # A failed checkpoint loses nothing (the pages stay in the WAL); the next one retries.
            self._commits = CHECKPOINT_EVERY_COMMITS

    async def close(self) -> None:
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self._discard()
        self._engine.dispose()


def _writer_engine(url: URL, mmap_bytes: int) -> Engine:
    engine = create_sync_engine(
        url.set(drivername="sqlite+pysqlite"),
        # Used on the loop's thread; `execute_offloaded` runs a statement on a worker thread while
        # the loop waits for it, so the connection may change threads.
        connect_args={"timeout": 0, "check_same_thread": False},
        poolclass=StaticPool, pool_reset_on_return=None,
        json_serializer=json_dumps, json_deserializer=json_loads, hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun and ended by LoopWriter
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=0")  # never wait on the loop (see the module's text)
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run on a worker thread
        cursor.execute(f"PRAGMA mmap_size={mmap_bytes}")
        cursor.close()

    return engine
