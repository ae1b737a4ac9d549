"""aiosqlite for SQLAlchemy with one trip to the connection's thread per statement.

aiosqlite runs each sqlite3 connection on a worker thread and every call is a round trip to it.
SQLAlchemy's stock adapter makes four per SELECT (cursor, execute, fetchall, close) plus one for every
COMMIT/ROLLBACK, even when no transaction is open; on a 2-core machine those hand-offs, not SQLite,
were almost all of a request's cost (docs/benchmarks.md). This adapter runs execute + fetch as one
job on the worker thread, sends a BEGIN along with the transaction's first statement, and skips
COMMIT/ROLLBACK when sqlite3 says no transaction is open. It plugs in through
create_async_engine(module=...), so the dialect, the SQL and the results are SQLAlchemy's own.

It relies on private parts of both libraries (docs/adr/0006-private-apis.md): aiosqlite's
`Connection._execute(fn, *args)` (stable since 0.17), and the internals of SQLAlchemy 2.1's aiosqlite
adapter (`_cursor_cls`, `_execute_mutex`, the cursor's `_execute_async`). SQLAlchemy 2.0's adapter
builds its cursors itself, so this one would be bypassed there without a word: `available()` checks
both hooks, and the stock adapter is used when either is missing (CATALYST_FAST_LANE=0 uses it too)."""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT


def available() -> bool:
    return (callable(getattr(aiosqlite.Connection, "_execute", None))
            and getattr(AsyncAdapt_aiosqlite_connection, "_cursor_cls", None) is not None)


def _run_statement(raw: sqlite3.Connection, begin: str | None, operation: str, parameters: Any,
                   many: bool) -> tuple[Any, ...]:
    """Runs on the connection's worker thread: a deferred BEGIN if any, the statement, and everything
    SQLAlchemy reads back."""
    if begin is not None:
        raw.execute(begin)
    cursor = raw.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


_BEGINS = frozenset({"BEGIN", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE", "BEGIN DEFERRED"})


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A DBAPI cursor whose results arrive with the execute call, in one trip."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any) -> None:  # no aiosqlite cursor: nothing to open
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: Any = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _run(self, operation: Any, parameters: Any, many: bool) -> None:
        connection = self._adapt_connection
        if not many and parameters in (None, ()) and operation in _BEGINS:
            # Nothing to read back: open the transaction in the same trip as its first statement.
            connection.pending_begin = operation
            self._description, self._rowcount, self._rows = None, -1, collections.deque()
            return
        begin, connection.pending_begin = connection.pending_begin, None
        async with connection._execute_mutex:
            description, rows, rowcount, lastrowid = await self._connection._execute(
                _run_statement, self._connection._conn, begin, operation, parameters, many)
        self._description, self._rowcount, self._lastrowid = description, rowcount, lastrowid
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._run(operation, parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._run(operation, seq_of_parameters, True)

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("pending_begin",)
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.pending_begin: str | None = None

    def _in_transaction(self) -> bool:
        # A plain attribute of the sqlite3 connection, safe to read between statements.
        return bool(self._connection._connection and self._connection._conn.in_transaction)

    def commit(self) -> None:
        self.pending_begin = None  # a transaction that never ran a statement never began
        if self._in_transaction():
            super().commit()

    def rollback(self) -> None:
        self.pending_begin = None
        if self._in_transaction():
            super().rollback()


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        stock = super().connect(*arg, **kw)
        return OneTripConnection(self, stock._connection)


def dbapi() -> OneTripDbapi:
    """The module to hand to create_async_engine(module=...) for sqlite+aiosqlite URLs."""
    return OneTripDbapi(aiosqlite, sqlite3)
