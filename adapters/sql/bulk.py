"""Many rows through one prepared statement, without SQLAlchemy's work per row.

SQLAlchemy's executemany builds and processes a parameter dictionary per row; for a batch of 5,000
performance rows that cost several times what SQLite took to store them (docs/benchmarks.md). Here
a statement is compiled once per dialect, and each row, a tuple in the order of the `columns` the
caller names, becomes the statement's positional parameters through one generated function that
applies each type's bind processor (as SQLAlchemy would: a UUID becomes the hex SQLite stores, a
date its text); the driver's own executemany takes them all in one call."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from catalyst_adapters.sql.types import UtcDateTime
from catalyst_core.cooperative import map_sliced

Row = Sequence[Any]
_Compiled = tuple[str, Callable[[Row], tuple[Any, ...]]]
_compiled: weakref.WeakKeyDictionary[Dialect, dict[tuple[int, tuple[str, ...]], _Compiled]] = \
    weakref.WeakKeyDictionary()


def _compile(statement: Any, columns: tuple[str, ...], dialect: Dialect) -> _Compiled:
    """Compiled once per dialect; statements must live as long as the process (module constants or
    cached ones), since they are found again by identity."""
    known = _compiled.setdefault(dialect, {})
    found = known.get((id(statement), columns))
    if found is None:
        compiled = statement.compile(dialect=dialect)
        found = known[(id(statement), columns)] = (compiled.string,
                                                   _parameters(compiled, columns, dialect))
    return found


def _parameters(compiled: Any, columns: tuple[str, ...], dialect: Dialect
                ) -> Callable[[Row], tuple[Any, ...]]:
    """One function from a row (in `columns` order) to the statement's positional parameters."""
    position = {name: i for i, name in enumerate(columns)}
    namespace: dict[str, Any] = {}
    items = []
    for i, name in enumerate(compiled.positiontup or ()):
        if name not in position:
            raise ValueError(f"the statement takes {name}, which the rows do not carry")
        value = f"v[{position[name]}]"
        process = _bind_processor(compiled.binds[name].type, dialect)
        if process is not None:
            namespace[f"b{i}"] = process
            value = f"(None if (x{i} := {value}) is None else b{i}(x{i}))"
        items.append(value)
    exec(f"def parameters(v):\n    return ({', '.join(items)},)", namespace)
    return namespace["parameters"]  # type: ignore[no-any-return]


def _bind_processor(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    """SQLAlchemy's bind processor for the type, except dates and UTC datetimes on SQLite:
    SQLAlchemy writes them with a %-format per value (behind UtcDateTime's own conversion);
    isoformat writes the same text several times faster (tests/contract/test_bulk.py checks that
    both give the same for any value)."""
    if dialect.name == "sqlite" and type(type_) is Date:
        return date.isoformat
    if dialect.name == "sqlite" and type(type_) is UtcDateTime:
        naive_utc = type_.process_bind_param  # the type's own check and conversion

        def utc_text(value: datetime) -> str:  # SQLite's DATETIME text: `YYYY-MM-DD HH:MM:SS.ffffff`
            return naive_utc(value, dialect).isoformat(" ", "microseconds")  # type: ignore[no-any-return]

        return utc_text
    return type_.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[no-any-return]


async def execute_one(conn: AsyncConnection, statement: Any, columns: tuple[str, ...], row: Row) -> int:
    """Run `statement` once with `row` (a tuple of the `columns` values); the rows it changed. For
    a statement run on every request: no statement is built, no dictionary made, nothing compiled."""
    sql, parameters = _compile(statement, columns, conn.dialect)
    return (await conn.exec_driver_sql(sql, parameters(row))).rowcount  # type: ignore[no-any-return]


async def execute_many(conn: AsyncConnection, statement: Any, columns: tuple[str, ...],
                       rows: Sequence[Row]) -> None:
    """Run `statement` once per row of `rows` (tuples of the `columns` values), in one driver call."""
    if not rows:
        return
    sql, parameters = _compile(statement, columns, conn.dialect)
    # A few microseconds a row: a batch of thousands a slice at a time (catalyst_core.cooperative).
    prepared = await map_sliced(parameters, rows)
    await conn.exec_driver_sql(sql, prepared)
