"""PostgreSQL read transactions without a transaction's round trips, and the hot statements run as
prepared statements on the asyncpg connection itself.

Through SQLAlchemy a read transaction on PostgreSQL cost five round trips besides its statements:
the pool's pre-ping at checkout (BEGIN, `;`, ROLLBACK: SQLAlchemy's asyncpg ping opens a
transaction for pgbouncer's sake), then BEGIN and COMMIT around the statements. A task-list page
(two read transactions, three statements) made 13 trips; each costs the server process tens of
microseconds of CPU (asyncpg's protocol, a send and a receive, a turn of the loop) and the database
a little more (docs/benchmarks.md, "PostgreSQL").

Here read transactions run on connections taken out of the engine's pool once and kept (one fewer
than the pool's size, so writers always find one: `kept_readers`; a read that finds none free waits
for the next, first come first served), in autocommit: each statement reads its own snapshot, as
each statement of a READ COMMITTED transaction does anyway and as SQLite's inline readers do (ADR
0001). They are not read-only: the Storage contract lets a read transaction `get(for_update=True)`,
which PostgreSQL refuses in a read-only one (in autocommit that lock ends with its statement).

Statements marked `hot()` (inline.py) run as prepared statements kept per connection (up to
`statement_cache_size`; 0 sends them through SQLAlchemy too): one trip each, parameters bound by
one generated function, rows converted by one generated function applying SQLAlchemy's own result
processors for the columns' types, so a row reads as it does through SQLAlchemy
(tests/contract/test_pg_fast_reads.py). Every other statement goes through SQLAlchemy on the same
connection. Writes are untouched.

A kept connection found closed (a restart, a failover, a cut proxy) is dropped at checkout with
every other idle one, and new ones come from the pool, which pre-pings them: the first read after
the database is back is served. An error inside a statement drops its connection; errors that
retrying later may cure become Unavailable, as in SqlStorage."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from catalyst_adapters.sql.engine import LOCK_TIMEOUT_SECONDS
from catalyst_adapters.sql.inline import _HOT, _parameter_list, _Rows
from catalyst_adapters.sql.queries import retryable_sqlstate

DEFAULT_STATEMENT_CACHE_SIZE = 100  # asyncpg's and SQLAlchemy's own default, per connection

Unavailable = Callable[[str, BaseException | None], Exception]
Reader = tuple["PgReadConnection", Any]  # a kept connection and its transaction object


def fast_reads_apply(engine: AsyncEngine) -> bool:
    """Whether `engine` is PostgreSQL through asyncpg, which this module serves."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg"


class _Compiled:
    """One hot statement compiled for PostgreSQL: SQL text, parameter order, and (once the first
    connection has described its columns) the row converter."""

    __slots__ = ("convert", "parameters", "sql", "statement")

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.statement = statement
        self.sql: str = compiled.string
        self.parameters = _parameter_list(compiled, dialect)
        self.convert: Callable[[Any], tuple[Any, ...]] | None = None

    def converter(self, attributes: Any, dialect: Dialect) -> Callable[[Any], tuple[Any, ...]]:
        """SQLAlchemy's result processor of each column's type, for the type the database reports
        (as SQLAlchemy's cursor result looks them up), in one generated function."""
        if self.convert is None:
            columns = list(self.statement.selected_columns)
            namespace: dict[str, Any] = {"_tuple": tuple}
            values = []
            for i, (column, attribute) in enumerate(zip(columns, attributes, strict=True)):
                process = column.type.dialect_impl(dialect).result_processor(dialect, attribute.type.oid)
                if process is None:
                    values.append(f"c{i}")
                else:
                    namespace[f"p{i}"] = process
                    values.append(f"p{i}(c{i})")
            names = ", ".join(f"c{i}" for i in range(len(columns)))
            body = (f"{names}, = row\n    return ({', '.join(values)},)" if namespace.keys() - {"_tuple"}
                    else "return _tuple(row)")
            exec(f"def convert(row):\n    {body}", namespace)
            self.convert = namespace["convert"]
        return self.convert  # type: ignore[return-value]


class PgReadConnection:
    """The part of AsyncConnection the repositories use, over a kept autocommit connection."""

    __slots__ = ("_conn", "_raw", "_reads", "_statements", "broken", "dialect")

    def __init__(self, reads: PgReads, conn: AsyncConnection, raw: Any) -> None:
        self._reads, self._conn, self._raw = reads, conn, raw
        self.dialect = conn.dialect
        self._statements: dict[int, Any] = {}  # id(hot statement) -> asyncpg PreparedStatement
        self.broken: BaseException | None = None

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        compiled = self._reads.compiled(statement)
        try:
            if compiled is None:
                return await self._conn.execute(statement, parameters)
            return await self._run(compiled, parameters)
        except BaseException as e:  # cancelled too: the connection's state is unknown
            self.broken = e
            translated = self._reads.translate(e, compiled)
            if translated is e:
                raise
            raise translated from e

    async def _run(self, compiled: _Compiled, values: Any) -> _Rows:
        for attempt in (1, 2):
            prepared = self._statements.get(id(compiled.statement))
            try:
                if prepared is None:
                    prepared = await self._raw.prepare(compiled.sql)
                    if len(self._statements) >= self._reads.statement_cache_size:
                        del self._statements[next(iter(self._statements))]  # the oldest
                    self._statements[id(compiled.statement)] = prepared
                records = await prepared.fetch(*compiled.parameters(values))
            except self._reads.stale_statement_errors:
                # A migration changed a table under a kept statement; in autocommit nothing was
                # aborted, so prepare it again, once.
                self._statements.clear()
                if attempt == 2:
                    raise
                continue
            convert = compiled.convert or compiled.converter(prepared.get_attributes(), self.dialect)
            return _Rows(list(map(convert, records)))
        raise AssertionError("unreachable")

    def alive(self) -> bool:
        return not (self.broken or self._conn.closed or self._conn.invalidated or self._raw.is_closed())

    async def close(self) -> None:
        """Back to the pool (which resets its isolation level), or dropped if it failed."""
        conn = self._conn
        with contextlib.suppress(Exception):  # a connection being dropped may fail in any way
            if self.broken is not None or self._raw.is_closed():
                await conn.invalidate()
            await conn.close()


class PgReads:
    """Read transactions for SqlStorage on PostgreSQL through asyncpg (see the module's text).

    `make_transaction(connection)` builds the transaction object (SqlTransaction); `unavailable`
    turns a message and its cause into the error SqlStorage raises for an unreachable database.

    Read connections are a pool of their own inside the engine's: at most `kept_readers(engine)`
    are taken out of it, and kept; a read that finds none free waits for one (first come, first
    served, up to `timeout` seconds), so readers never wait in the engine's pool behind kept idle
    ones, nor pay its pre-ping. The rest of the engine's connections are the writers'."""

    def __init__(self, engine: AsyncEngine, make_transaction: Callable[[Any], Any],
                 unavailable: Unavailable, *,
                 statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE,
                 timeout: float = LOCK_TIMEOUT_SECONDS) -> None:
        import asyncpg  # the `postgres` extra: imported only for a PostgreSQL engine

        self._engine, self._make, self._unavailable = engine, make_transaction, unavailable
        self.statement_cache_size = statement_cache_size
        self.stale_statement_errors = (asyncpg.InvalidCachedStatementError,
                                       asyncpg.exceptions.OutdatedSchemaCacheError)
        self._timeout = timeout
        self._limit = kept_readers(engine)
        self._open = 0  # readers out of the engine's pool: idle, in use, or being connected
        self._idle: list[Reader] = []
        self._waiters: deque[asyncio.Future[Reader | None]] = deque()
        self._compiled: dict[int, _Compiled] = {}
        self._closed = False

    def transaction(self) -> _PgRead:
        return _PgRead(self)

    def compiled(self, statement: Any) -> _Compiled | None:
        """The compiled form of a hot statement; None for others (and with caching off)."""
        found = self._compiled.get(id(statement))
        if found is None and self.statement_cache_size > 0 and _HOT.get(id(statement)) is statement:
            found = self._compiled[id(statement)] = _Compiled(statement, self._engine.dialect)
        return found

    async def checkout(self) -> Reader:
        while True:
            if self._idle:
                reader = self._idle.pop()
                if reader[0].alive():
                    return reader
                await self._discard(reader)
                await self.clear()  # lost: so are the others, most likely
                continue
            if self._limit == 0 or self._open < self._limit:
                self._open += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._open -= 1
                    self._wake(None)
                    raise
            reader = await self._wait()
            if reader is not None:
                return reader
            # None: a reader was dropped, so one may be connected in its place

    async def _wait(self) -> Reader | None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Reader | None] = loop.create_future()
        self._waiters.append(waiter)
        # A timer on the future itself: asyncio.timeout() cost ~10 µs a wait, and under load most
        # reads wait a moment for a connection.
        timer = loop.call_later(self._timeout, _expire, waiter)
        try:
            return await waiter
        except BaseException as e:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Handed over as the wait was cancelled: pass it on.
                if (reader := waiter.result()) is not None:
                    self._release(reader)
                else:
                    self._wake(None)
            if isinstance(e, _Expired):  # every read connection stayed busy that long
                raise self._unavailable("the database has been busy for too long", None) from None
            raise
        finally:
            timer.cancel()
            with contextlib.suppress(ValueError):  # still queued unless handed something
                self._waiters.remove(waiter)

    async def _connect(self) -> Reader:
        try:
            conn = await self._engine.connect()
        except OperationalError as e:
            raise self._unavailable(f"the database is unavailable: {type(e.orig).__name__}", e.orig) from e
        except DBAPIError as e:
            raise self._unavailable("the database is unavailable or was lost", e) from e
        except PoolTimeout as e:  # every pooled connection stayed busy for the lock timeout
            raise self._unavailable("the database has been busy for too long", e) from e
        except OSError as e:  # refused, unreachable, timed out
            raise self._unavailable(f"the database is unreachable: {type(e).__name__}", e) from e
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            raw = (await conn.get_raw_connection()).driver_connection
        except BaseException:
            await conn.invalidate()
            await conn.close()
            raise
        connection = PgReadConnection(self, conn, raw)
        return connection, self._make(connection)

    async def checkin(self, reader: Reader) -> None:
        connection = reader[0]
        if self._closed or self._limit == 0 or not connection.alive():
            await self._discard(reader)
            broken = connection.broken
            if broken is not None and self.translate(broken, None) is not broken:
                await self.clear()  # a lost connection: the idle ones went with it, most likely
            return
        if connection._conn.in_transaction():  # SQLAlchemy's record only: autocommit
            await connection._conn.rollback()
        self._release(reader)

    def _release(self, reader: Reader) -> None:
        """To the first reader waiting, else idle."""
        if not self._wake(reader):
            self._idle.append(reader)

    def _wake(self, reader: Reader | None) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(reader)
                return True
        return False

    async def _discard(self, reader: Reader) -> None:
        """Back to the engine's pool (which drops a lost connection); its place is free again."""
        self._open -= 1
        await reader[0].close()
        self._wake(None)

    async def clear(self) -> None:
        while self._idle:
            await self._discard(self._idle.pop())

    async def close(self) -> None:
        self._closed = True
        await self.clear()

    def translate(self, error: BaseException, compiled: _Compiled | None) -> BaseException:
        """The error a failed statement raises: Unavailable for a lost connection and what retrying
        later may cure (as SqlStorage maps SQLAlchemy's errors), else a DBAPIError for asyncpg's own
        errors, else `error` itself."""
        import asyncpg

        if isinstance(error, OperationalError):
            return self._unavailable(f"the database is unavailable: {type(error.orig).__name__}",
                                     error.orig)
        if isinstance(error, DBAPIError):
            if error.connection_invalidated or retryable_sqlstate(getattr(error.orig, "sqlstate", None)):
                return self._unavailable("the database is unavailable or was lost", error)
            return error
        if isinstance(error, OSError | asyncpg.InterfaceError | asyncpg.PostgresConnectionError) \
                or (isinstance(error, asyncpg.PostgresError) and retryable_sqlstate(error.sqlstate)):
            return self._unavailable("the database is unavailable or was lost", error)
        if isinstance(error, asyncpg.PostgresError | asyncpg.exceptions.InternalClientError):
            return DBAPIError(compiled.sql if compiled else None, None, error, hide_parameters=True)
        return error


def kept_readers(engine: AsyncEngine) -> int:
    """How many connections reads take out of the engine's pool and keep: one fewer than its size,
    so writers always find a pooled one (and the overflow beyond it). 0 (a pool of one): none are
    kept, each read takes one from the pool and gives it back."""
    return max(0, getattr(engine.pool, "size", lambda: 0)() - 1)


class _Expired(Exception):  # a wait for a read connection that ran out
    pass


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(_Expired())


class _PgRead:
    """One read transaction: a kept connection with its repositories, returned at the end."""

    __slots__ = ("_reader", "_reads")

    def __init__(self, reads: PgReads) -> None:
        self._reads = reads

    async def __aenter__(self) -> Any:
        self._reader = await self._reads.checkout()
        return self._reader[1]

    async def __aexit__(self, *_: Any) -> None:
        await self._reads.checkin(self._reader)


__all__ = ["DEFAULT_STATEMENT_CACHE_SIZE", "PgReadConnection", "PgReads", "fast_reads_apply"]
