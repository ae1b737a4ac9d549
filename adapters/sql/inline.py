"""SQLite reads on the event loop (docs/adr/0001), and the fast lane for the statements every request runs.

A page of 20 tasks costs SQLite about 0.1 ms; run through SQLAlchemy's execution context and
per-row result processors it cost another 0.4 ms (docs/benchmarks.md). Statements marked with
`hot()` are compiled once per dialect and run straight on the sqlite3 cursor, with one converter
per column. Everything else, and every write, goes through SQLAlchemy as before.

The converters read exactly what SQLAlchemy's SQLite types write (tests/contract/test_sqlite_paths.py
compares both lanes on every column type the hot statements return)."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Any, TypeVar

import attrs
import orjson
from sqlalchemy import JSON, Boolean, Uuid
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError, NoResultFound, OperationalError
from sqlalchemy.sql import Select

from catalyst_adapters.sql.types import UtcDateTime
from catalyst_adapters.sqlite_processes import ReadProcesses
from catalyst_core.cooperative import map_sliced

UUIDS_KEPT = 16_384  # ~2 MB of recently read UUIDs, shared rather than parsed again

_HOT: dict[int, Select[Any]] = {}
T = TypeVar("T")


def hot(statement: Select[Any]) -> Select[Any]:
    """Mark a prebuilt SELECT (a module constant or a cached one) for the fast lane of inline reads.

    Only statements that live as long as the process may be marked: they are looked up by identity.
    Their rows reach the repository as plain tuples (SQLAlchemy's lane gives Row objects), so
    consumers unpack them by position, which both lanes support."""
    _HOT[id(statement)] = statement
    return statement


# -- converters from SQLite's stored values --------------------------------------------------------

_new_uuid = object.__new__
_set = object.__setattr__
_SAFE_UNKNOWN = uuid.SafeUUID.unknown


def _parse_uuid_hex(value: str) -> uuid.UUID:
    """uuid.UUID(value), to the same result for every input: UUID.__init__ itself ends in
    int(hex, 16) once braces and dashes are gone and 32 digits remain."""
    if len(value) != 32 or "-" in value:
        return uuid.UUID(value)
    u = _new_uuid(uuid.UUID)
    _set(u, "int", int(value, 16))
    _set(u, "is_safe", _SAFE_UNKNOWN)
    return u


# uuid.UUID(value) for the 32 hex digits SQLAlchemy's Uuid stores on SQLite. A page of tasks holds
# ~90 UUIDs, most of them the same few clients and users again; UUIDs are immutable, so recent ones
# are shared instead of parsed again, and the rest skip UUID.__init__'s general parsing.
uuid_from_hex = functools.lru_cache(maxsize=UUIDS_KEPT)(_parse_uuid_hex)


@functools.lru_cache(maxsize=UUIDS_KEPT)
def uuid_from_text(value: str) -> uuid.UUID:
    """uuid.UUID(value) for the hyphenated form (assignee lists in JSON), shared the same way."""
    return _parse_uuid_hex(value.replace("-", ""))


def _conversion(type_: Any, dialect: Dialect) -> tuple[Callable[[Any], Any], str] | None:
    """How a stored value becomes the column's Python value: a function, and the expression that
    applies it to the value ({f} the function, {v} the value). None: the value is used as stored."""
    if isinstance(type_, Uuid) and type_.as_uuid:
        return uuid_from_hex, "{f}({v})"
    if isinstance(type_, UtcDateTime):
        # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff", naive UTC (types.UtcDateTime). Parsing it
        # with the offset appended is five times faster than .replace(tzinfo=UTC) afterwards.
        return datetime.fromisoformat, '{f}({v} + "+00:00")'
    if isinstance(type_, JSON):
        return orjson.loads, "{f}({v})"
    if isinstance(type_, Boolean):
        return bool, "{f}({v})"
    process = type_.dialect_impl(dialect).result_processor(dialect, None)
    return (process, "{f}({v})") if process is not None else None


def _row_converter(columns: Sequence[Any], dialect: Dialect) -> Callable[[Any], tuple[Any, ...]] | None:
    """One function turning a raw sqlite3 row into converted values, written out column by column
    (as attrs and namedtuple write their methods) so a row costs one call, not one per column.
    None when no column needs converting."""
    namespace: dict[str, Any] = {}
    values = []
    for i, column in enumerate(columns):
        conversion = _conversion(column.type, dialect)
        if conversion is None:
            values.append(f"c{i}")
            continue
        function, expression = conversion
        namespace[f"f{i}"] = function
        converted = expression.format(f=f"f{i}", v=f"c{i}")
        nullable = getattr(column, "nullable", True)  # expressions (count, labels) may be NULL
        values.append(f"(None if c{i} is None else {converted})" if nullable else converted)
    if not namespace:
        return None
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    exec(f"def convert(row):\n    {names}, = row\n    return ({', '.join(values)},)", namespace)
    return namespace["convert"]  # type: ignore[no-any-return]


def entity_builder(cls: type[T], columns: Sequence[str],
                   convert: Mapping[str, Callable[[Any], Any]] | None = None) -> Callable[[Any], T]:
    """One function building an attrs `cls` from a row holding its fields, named by `columns` in
    the row's order, each passed through `convert[name]` if given. The fields are matched by name,
    once, here; the generated call passes them in `cls`'s own order, positionally (keyword calls
    cost ~0.5 µs more per entity, 20 a page: docs/adr/0006), so reordering the fields of `cls`
    changes nothing (tests/contract/test_fast_lane_switch.py)."""
    convert = convert or {}
    fields = [f for f in attrs.fields(cls) if f.init]
    if sorted(columns) != sorted(f.name for f in fields) or not set(convert) <= set(columns):
        raise TypeError(f"{cls.__name__}: the row's columns {sorted(columns)} are not its fields")
    namespace: dict[str, Any] = {"cls": cls}
    arguments = []
    for f in fields:
        value = f"c{columns.index(f.name)}"
        if f.name in convert:
            namespace[f"f_{f.name}"] = convert[f.name]
            value = f"f_{f.name}({value})"
        arguments.append(f"{f.alias}={value}" if f.kw_only else value)
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    exec(f"def build(row):\n    {names}, = row\n    return cls({', '.join(arguments)})", namespace)
    return namespace["build"]  # type: ignore[no-any-return]


def _parameter_list(compiled: Any, dialect: Dialect) -> Callable[[dict[str, Any] | None], list[Any]]:
    """One function turning the caller's values into the statement's positional parameters, in
    order, with literal defaults filled in and each type's bind processor applied (a UUID becomes
    the hex SQLAlchemy stores), written out like the row converter."""
    namespace: dict[str, Any] = {"_NONE": {}}
    items = []
    for i, name in enumerate(compiled.positiontup or ()):
        bind = compiled.binds[name]
        namespace[f"n{i}"] = name
        value = f"v[n{i}]" if bind.required else f"v.get(n{i}, d{i})"
        if not bind.required:
            namespace[f"d{i}"] = bind.effective_value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            namespace[f"b{i}"] = process
            value = f"(None if (x{i} := {value}) is None else b{i}(x{i}))"
        items.append(value)
    exec(f"def parameters(v):\n    v = _NONE if v is None else v\n    return [{', '.join(items)}]", namespace)
    return namespace["parameters"]  # type: ignore[no-any-return]


class _Prepared:
    """One hot statement compiled for one dialect: SQL text, parameter order and row converter.
    Rows come back as plain tuples, in the statement's column order."""

    __slots__ = ("_convert", "parameters", "sql")

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.parameters = _parameter_list(compiled, dialect)
        self._convert = _row_converter(list(statement.selected_columns), dialect)

    def fetch(self, conn: sqlite3.Connection, values: dict[str, Any] | None) -> list[Any]:
        return conn.execute(self.sql, self.parameters(values)).fetchall()

    def run(self, conn: sqlite3.Connection, values: dict[str, Any] | None) -> _Rows:
        return self.converted(self.fetch(conn, values))

    def converted(self, raw: list[Any]) -> _Rows:
        return _Rows(raw if self._convert is None else list(map(self._convert, raw)))

    async def converted_sliced(self, raw: list[Any]) -> list[Any]:
        """The rows converted on the event loop a slice at a time: for results of any size."""
        return raw if self._convert is None else await map_sliced(self._convert, raw)


class _Rows:
    """The part of SQLAlchemy's Result the repositories use, over rows already fetched."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def all(self) -> list[Any]:
        return self._rows

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise NoResultFound("expected exactly one row")
        return self._rows[0][0]

    def scalars(self) -> Iterator[Any]:
        return (row[0] for row in self._rows)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class _Done:
    """What a write statement tells back: the rows it changed."""

    __slots__ = ("rowcount",)

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount


# Per dialect (each reader engine has its own), forgotten with it: hot statements by identity.
_prepared: weakref.WeakKeyDictionary[Dialect, dict[int, _Prepared]] = weakref.WeakKeyDictionary()


def _prepared_for(dialect: Dialect) -> dict[int, _Prepared]:
    compiled = _prepared.get(dialect)
    if compiled is None:
        compiled = _prepared[dialect] = {}
    return compiled


def _prepare(compiled: dict[int, _Prepared], statement: Any, dialect: Dialect) -> _Prepared | None:
    prepared = compiled.get(id(statement))
    if prepared is None and _HOT.get(id(statement)) is statement:
        prepared = compiled[id(statement)] = _Prepared(statement, dialect)
    return prepared


class InlineConnection:
    """The part of AsyncConnection the repositories use, over a synchronous SQLite connection that
    runs on the event loop. `execute_offloaded` is for statements whose cost grows with the data
    (reports, text search): they run in a worker process when the storage has them (`processes`,
    reading the file at `path`), else on a worker thread."""

    def __init__(self, conn: Connection, path: str | None = None,
                 processes: ReadProcesses | None = None) -> None:
        self._c = conn
        self._raw: sqlite3.Connection = conn.connection.dbapi_connection  # type: ignore[assignment]
        self.dialect = conn.dialect
        self._compiled = _prepared_for(conn.dialect)
        self._path, self._processes = path, processes

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        prepared = _prepare(self._compiled, statement, self.dialect)
        if prepared is None:
            return self._c.execute(statement, parameters)
        return _raw_errors(prepared.run, self._raw, parameters)

    @property
    def raw(self) -> sqlite3.Connection:
        return self._raw

    async def exec_driver_sql(self, sql: str, parameters: Sequence[Any]) -> _Done:
        """A prepared statement (bulk.py): one row of positional parameters (a tuple), or many (a
        list of them, one executemany), with sqlite3's errors raised as SQLAlchemy's, as the
        repositories expect."""
        try:
            if isinstance(parameters, tuple):
                cursor = self._raw.execute(sql, parameters)
            else:
                cursor = self._raw.executemany(sql, parameters)
        except sqlite3.IntegrityError as e:
            raise IntegrityError(sql, None, e) from e
        except sqlite3.OperationalError as e:
            raise OperationalError(sql, None, e) from e
        return _Done(cursor.rowcount)

    async def execute_offloaded(self, statement: Any, parameters: Any = None, *,
                                convert: Callable[[Any], T] | None = None) -> Any:
        """The statement off the event loop (in a read process, else on a worker thread), its
        rows converted on the loop a slice at a time (catalyst_core.cooperative: converting them
        on a thread would hold the loop longer). With `convert`, the list of convert(row)."""
        prepared = _prepare(self._compiled, statement, self.dialect)
        if prepared is not None:
            if self._processes is not None and self._path is not None:
                try:
                    raw = await self._processes.run(self._path, prepared.sql,
                                                    prepared.parameters(parameters))
                except (sqlite3.OperationalError, BrokenProcessPool) as e:
                    raise OperationalError(None, None, e) from e
            else:
                raw = await asyncio.to_thread(_raw_errors, prepared.fetch, self._raw, parameters)
            rows = await prepared.converted_sliced(raw)
        else:
            rows = (await asyncio.to_thread(
                lambda: self._c.execute(statement, parameters).freeze()())).all()
        return _Rows(rows) if convert is None else await map_sliced(convert, rows)

    def reusable(self) -> bool:
        """Whether the next read may use this connection: it is open and no SQLAlchemy transaction
        (begun by a statement outside the fast lane) is left behind. Reads run in autocommit, so
        ending that transaction touches nothing in the database."""
        if self._c.closed or self._c.invalidated:
            return False
        self.end_transaction()
        return True

    def end_transaction(self) -> None:
        """Forget the transaction SQLAlchemy's statements began once the database's has ended."""
        if self._c.in_transaction():
            self._c.rollback()

    def close(self) -> None:
        self._c.close()


def _raw_errors(run: Callable[..., T], *args: Any) -> T:
    # The storage turns SQLAlchemy's OperationalError into Unavailable; raise the same here.
    try:
        return run(*args)
    except sqlite3.OperationalError as e:
        raise OperationalError(None, None, e) from e
