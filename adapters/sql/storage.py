"""SqlStorage: the Storage port over SQLAlchemy Core, on SQLite and PostgreSQL alike.

Every repository (account_repos.py, task_repos.py) works on the one connection of its transaction.
Statements are dialect-neutral; the few differences (write locks, collations, where SQLite reads
run) live here, in engine.py and in types.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from catalyst_adapters.sql.account_repos import SqlClientRepo, SqlMemberRepo, SqlUserRepo
from catalyst_adapters.sql.alert_repos import SqlAlertInstanceRepo, SqlAlertRepo
from catalyst_adapters.sql.creative_repos import SqlCreativeRepo
from catalyst_adapters.sql.engine import (
    LOCK_TIMEOUT_SECONDS,
    SQLITE_WRITE_OPTION,
    create_sqlite_reader,
    sqlite_file,
)
from catalyst_adapters.sql.inline import InlineConnection
from catalyst_adapters.sql.lead_repos import SqlLeadRepo
from catalyst_adapters.sql.loop_writes import LoopWriter
from catalyst_adapters.sql.outbox_repo import SqlOutboxRepo
from catalyst_adapters.sql.performance_repos import SqlPerformanceRepo
from catalyst_adapters.sql.pg_fast import DEFAULT_STATEMENT_CACHE_SIZE, PgReads, fast_reads_apply
from catalyst_adapters.sql.queries import retryable_sqlstate
from catalyst_adapters.sql.tables import (
    alert_instances,
    alerts,
    clients,
    comments,
    creative_submissions,
    lead_history,
    lead_results,
    lead_settings,
    memberships,
    outbox,
    performance_days,
    performance_months,
    performance_names,
    performance_rows,
    task_assignees,
    task_counts,
    tasks,
    users,
)
from catalyst_adapters.sql.task_repos import SqlCommentRepo, SqlTaskRepo
from catalyst_adapters.sql.write_lock import ProcessWriteLock
from catalyst_adapters.sqlite_processes import READER_MMAP_BYTES, ReadProcesses
from catalyst_core.errors import Unavailable


class SqlTransaction:
    def __init__(self, conn: AsyncConnection | InlineConnection) -> None:
        self.connection = conn
        self.users = SqlUserRepo(conn)
        self.clients = SqlClientRepo(conn)
        self.members = SqlMemberRepo(conn)
        self.tasks = SqlTaskRepo(conn)
        self.comments = SqlCommentRepo(conn)
        self.performance = SqlPerformanceRepo(conn)
        self.alerts = SqlAlertRepo(conn)
        self.alert_instances = SqlAlertInstanceRepo(conn)
        self.outbox = SqlOutboxRepo(conn)
        self.leads = SqlLeadRepo(conn)
        self.creatives = SqlCreativeRepo(conn)


READS_WAIT_FOR_WRITER = 0.05
IDLE_READERS_KEPT = 8


class SqlStorage:
    """The Storage port on an AsyncEngine (`close` disposes it). On a SQLite file, heavy reads run
    in `read_processes` when given (their lifetime is the caller's), else on worker threads.

    A database that cannot be reached, or a write that waited `lock_timeout` seconds for its turn
    (other writers of this process, then of other processes), raises Unavailable; the engine bounds
    the waits inside the database itself (engine.create_engine).

    On a SQLite file, `brief` write transactions run on the event loop (loop_writes.py, ADR 0007);
    the others, and every write elsewhere, through the engine.

    Without `fast_lane` (CATALYST_FAST_LANE=0) reads and brief writes on SQLite go through the
    engine like other writes: SQLAlchemy on the async connection, no inline readers, no hot
    statements (docs/adr/0006)."""

    def __init__(self, engine: AsyncEngine, read_processes: ReadProcesses | None = None, *,
                 lock_timeout: float = LOCK_TIMEOUT_SECONDS, fast_lane: bool = True,
                 statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE) -> None:
        self.engine = engine
        self._lock_timeout = lock_timeout
        self._sqlite = engine.dialect.name == "sqlite"
        self._reader = create_sqlite_reader(engine.url) if self._sqlite and fast_lane else None
        file = sqlite_file(engine.url) if self._reader is not None else None
        self._heavy_reads = (str(file.resolve()), read_processes) if file and read_processes else None
        self._idle_readers: list[SqlTransaction] = []
        self._loop_writer = None if self._reader is None else LoopWriter(
            engine.url, mmap_bytes=READER_MMAP_BYTES)
        self._loop_tx: SqlTransaction | None = None
        # PostgreSQL through asyncpg: reads on kept autocommit connections, hot statements
        # prepared on asyncpg itself (pg_fast.py).
        self._pg_reads = PgReads(engine, SqlTransaction, _unavailable, timeout=lock_timeout,
                                 statement_cache_size=statement_cache_size) \
            if fast_lane and fast_reads_apply(engine) else None
        # SQLite has one writer at a time. Queueing this process's writers here is fair and costs
        # nothing; between processes, writers queue on a lock file beside the database.
        self._write_turn = asyncio.Lock()
        database = sqlite_file(engine.url) if self._sqlite else None
        self._process_lock = None if database is None else ProcessWriteLock.beside(
            database, timeout=lock_timeout)
        # Set while no write transaction is open. Reads run on the loop without pausing, so under
        # a flood of reads every step of a writer (a callback from its aiosqlite thread) would wait
        # for a whole turn of the loop full of reads; reads wait for the open writer instead, up to
        # READS_WAIT_FOR_WRITER seconds (docs/adr/0001).
        self._no_writer = asyncio.Event()
        self._no_writer.set()

    def transaction(self, *, write: bool = True, brief: bool = False
                    ) -> AbstractAsyncContextManager[SqlTransaction]:
        if not write and self._reader is not None:
            return _InlineRead(self)
        if not write and self._pg_reads is not None:
            return self._pg_reads.transaction()
        if brief and self._loop_writer is not None:
            return _BriefWrite(self)
        return self._transaction(write=write)

    @asynccontextmanager
    async def _transaction(self, *, write: bool) -> AsyncIterator[SqlTransaction]:
        if write and self._sqlite:
            await self._take_write_turn()
            try:
                async with self._connected(write=True) as tx:
                    yield tx
            finally:
                self._end_write_turn()
        else:
            async with self._connected(write=write) as tx:
                yield tx

    async def _take_write_turn(self) -> None:
        """This process's turn to write on SQLite, then other processes' (the lock file, ADR 0003),
        both within the lock timeout counted from the write's arrival."""
        turn = self._write_turn
        queued_at = None
        if turn.locked():
            queued_at = asyncio.get_running_loop().time()
            await self._wait_for_turn()
        else:
            await turn.acquire()
        # From here this process's reads give way to the writer, also while it waits for other
        # processes: once its turn comes, each of its steps needs the loop at once, and the whole
        # database waits for it (measured in docs/benchmarks.md, mixed load).
        self._no_writer.clear()
        try:
            await self._other_processes_turn(queued_at)
        except BaseException:
            self._no_writer.set()
            turn.release()
            raise

    def _end_write_turn(self) -> None:
        try:
            if self._process_lock is not None:
                self._process_lock.release()
        finally:
            self._no_writer.set()
            self._write_turn.release()

    async def _wait_for_turn(self) -> None:
        """Queue behind this process's other writers, up to the lock timeout (only a writer that
        finds the turn taken pays for the timer)."""
        try:
            async with asyncio.timeout(self._lock_timeout):
                await self._write_turn.acquire()
        except TimeoutError:
            raise _unavailable("the database has been busy with other writes for too long") from None

    async def _other_processes_turn(self, queued_at: float | None) -> None:
        """Wait for other processes' writers on the lock file, for what is left of the lock timeout
        after queueing in this process since `queued_at`."""
        if self._process_lock is None:
            return
        timeout = None if queued_at is None else max(
            0.0, self._lock_timeout - (asyncio.get_running_loop().time() - queued_at))
        try:
            await self._process_lock.acquire(timeout)
        except TimeoutError:
            raise _unavailable("another process has been writing to the database for too long") \
                from None

    @asynccontextmanager
    async def _connected(self, *, write: bool) -> AsyncIterator[SqlTransaction]:
        connected = False
        try:
            async with self.engine.connect() as conn:
                connected = True
                if write and self._sqlite:
                    conn = await conn.execution_options(**{SQLITE_WRITE_OPTION: True})
                async with conn.begin():
                    yield SqlTransaction(conn)
        except OperationalError as e:
            raise _unavailable_from(e) from e
        except DBAPIError as e:
            if e.connection_invalidated or not connected or _transient(e):
                raise _unavailable("the database is unavailable or was lost", e) from e
            raise
        except PoolTimeout as e:  # every pooled connection stayed busy for the lock timeout
            raise _unavailable("the database has been busy for too long", e) from e
        except OSError as e:
            # Connecting failed before any DBAPI was involved: refused, unreachable, timed out
            # (TimeoutError is an OSError). Inside the transaction an OSError is not ours to map.
            if connected:
                raise
            raise _unavailable(f"the database is unreachable: {type(e).__name__}", e) from e

    async def _wait_for_writer(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(READS_WAIT_FOR_WRITER):
                await self._no_writer.wait()

    def _checkout_reader(self) -> SqlTransaction:
        if self._idle_readers:
            return self._idle_readers.pop()
        assert self._reader is not None
        return SqlTransaction(InlineConnection(self._reader.connect(), *(self._heavy_reads or ())))

    def _return_reader(self, tx: SqlTransaction) -> None:
        # Reader connections (with their repositories) stay checked out and are kept here: a pool
        # checkout and check-in per read cost more than the indexed lookups of a request.
        conn = tx.connection
        assert isinstance(conn, InlineConnection)
        if conn.reusable() and len(self._idle_readers) < IDLE_READERS_KEPT:
            self._idle_readers.append(tx)
        else:
            conn.close()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        if self._pg_reads is not None:
            await self._pg_reads.close()
        if self._loop_writer is not None:
            await self._loop_writer.close()
        if self._process_lock is not None:
            self._process_lock.close()
        if self._reader is not None:
            while self._idle_readers:
                self._idle_readers.pop().connection.close()  # type: ignore[union-attr]
            self._reader.dispose()
        await self.engine.dispose()

    async def reset(self) -> None:
        """Delete every row (tests reuse one database across hypothesis examples)."""
        async with self.transaction() as tx:
            for table in (creative_submissions, lead_history, lead_results, lead_settings, outbox,
                          alert_instances, alerts,
                          performance_names, performance_months, performance_days, performance_rows,
                          comments, task_assignees, tasks, task_counts, memberships, clients, users):
                await tx.connection.execute(delete(table))


class _InlineRead:
    """A read transaction on the event loop (SQLite, docs/adr/0001). A class rather than a generator
    context manager: every request opens one or two, and this is the cheaper of the two."""

    __slots__ = ("_storage", "_tx")

    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage

    async def __aenter__(self) -> SqlTransaction:
        storage = self._storage
        if not storage._no_writer.is_set():
            await storage._wait_for_writer()
        try:
            self._tx = storage._checkout_reader()
        except OperationalError as e:
            raise _unavailable_from(e) from e
        return self._tx

    async def __aexit__(self, _type: Any, error: BaseException | None, _tb: Any) -> None:
        self._storage._return_reader(self._tx)
        if isinstance(error, OperationalError):
            raise _unavailable_from(error) from error


class _BriefWrite:
    """A brief write transaction on the event loop (loop_writes.py, ADR 0007): the writer turns
    first, then BEGIN IMMEDIATE on the loop writer's connection, which cannot wait. If a writer
    outside Catalyst holds SQLite's lock, the transaction goes through aiosqlite instead (its
    thread waits). A class for the same reason as _InlineRead: it runs on every task write."""

    __slots__ = ("_fallback", "_inline", "_storage")

    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage
        self._fallback: AbstractAsyncContextManager[SqlTransaction] | None = None

    async def __aenter__(self) -> SqlTransaction:
        storage = self._storage
        writer = storage._loop_writer
        assert writer is not None
        await storage._take_write_turn()
        try:
            inline = writer.begin()
            if inline is None:
                self._fallback = storage._connected(write=True)
                return await self._fallback.__aenter__()
        except BaseException as e:
            storage._end_write_turn()
            if isinstance(e, OperationalError):
                raise _unavailable_from(e) from e
            raise
        self._inline = inline
        tx = storage._loop_tx
        if tx is None or tx.connection is not inline:
            tx = storage._loop_tx = SqlTransaction(inline)
        return tx

    async def __aexit__(self, kind: Any, error: BaseException | None, tb: Any) -> bool | None:
        storage = self._storage
        try:
            if self._fallback is not None:
                return await self._fallback.__aexit__(kind, error, tb)
            assert storage._loop_writer is not None
            try:
                storage._loop_writer.end(self._inline, commit=error is None)
            except OperationalError as e:
                raise _unavailable_from(e) from e
            if isinstance(error, OperationalError):
                raise _unavailable_from(error) from error
            return None
        finally:
            storage._end_write_turn()


def _transient(error: DBAPIError) -> bool:
    return retryable_sqlstate(getattr(error.orig, "sqlstate", None))


log = logging.getLogger("catalyst.storage")
REPORT_EVERY_SECONDS = 30.0  # an outage answers every request 503: one log line per this, not each
_last_report = -REPORT_EVERY_SECONDS


def _unavailable(message: str, cause: BaseException | None = None) -> Unavailable:
    global _last_report
    now = time.monotonic()
    if now - _last_report >= REPORT_EVERY_SECONDS:
        _last_report = now
        log.warning("the database is failing requests (answered 503): %s; cause: %r", message, cause)
    return Unavailable(message)


def _unavailable_from(error: OperationalError) -> Unavailable:
    return _unavailable(f"the database is unavailable: {type(error.orig).__name__}", error.orig)


__all__ = ["InlineConnection", "SqlStorage", "SqlTransaction"]
