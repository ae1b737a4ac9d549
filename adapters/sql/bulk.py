"""Many rows through one prepared statement, without SQLAlchemy's work per row.

SQLAlchemy's executemany builds and processes a parameter dictionary per row; for a batch of 5,000
performance rows that cost ten times what SQLite took to store them (docs/benchmarks.md). Here a
statement is compiled once per dialect, and each row becomes its positional parameters through one
generated function (the fast lane's, `inline.parameter_list`: each type's bind processor applied,
as SQLAlchemy would), handed to the driver's own executemany in one call."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from catalyst_adapters.sql.inline import parameter_list

_Compiled = tuple[str, Callable[[dict[str, Any]], list[Any]]]
_compiled: weakref.WeakKeyDictionary[Dialect, dict[int, _Compiled]] = weakref.WeakKeyDictionary()


def _compile(statement: Any, dialect: Dialect) -> _Compiled:
    """Compiled once per dialect; statements must live as long as the process (module constants or
    cached), since they are found again by identity."""
    known = _compiled.setdefault(dialect, {})
    found = known.get(id(statement))
    if found is None:
        compiled = statement.compile(dialect=dialect)
        found = known[id(statement)] = (compiled.string, parameter_list(compiled, dialect))
    return found


async def execute_many(conn: AsyncConnection, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Run `statement` once per row of `rows` (dicts naming every parameter), in one driver call."""
    if not rows:
        return
    sql, parameters = _compile(statement, conn.dialect)
    await conn.exec_driver_sql(sql, [tuple(parameters(row)) for row in rows])
