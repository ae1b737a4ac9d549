"""Helpers every SQL repository shares: error translation, ordering and paging."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from catalyst_core.errors import Conflict, DomainError, NotFound
from catalyst_core.paging import Order, Page, PageRequest, SortSpec


def integrity_error(error: IntegrityError, duplicate: str) -> DomainError:
    """Tell a duplicate from a missing referenced row, on both SQLite and PostgreSQL."""
    message = str(error.orig).lower()
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if sqlstate == "23503" or "foreign key" in message:
        return NotFound("a referenced record does not exist")
    return Conflict(duplicate)


# PostgreSQL's SQLSTATE classes of errors that retrying later may cure: 08 connection exception,
# 53 insufficient resources (too many connections), 57 operator intervention (shutting down,
# starting up, a cancelled statement), and lock_not_available (lock_timeout ran out).
_RETRYABLE_SQLSTATE_CLASSES = ("08", "53", "57")
_LOCK_NOT_AVAILABLE = "55P03"


def retryable_sqlstate(state: Any) -> bool:
    """Whether a PostgreSQL error's SQLSTATE says the database may serve the same request later
    (the request is answered 503 rather than 500)."""
    return isinstance(state, str) and (state[:2] in _RETRYABLE_SQLSTATE_CLASSES
                                       or state == _LOCK_NOT_AVAILABLE)


def off_loop(conn: Any) -> Any:
    """`conn.execute`, except on SQLite's inline readers (which read on the event loop), where the
    statement runs on a worker: for lists whose cost grows with the data (a sort across clients, a
    deep offset, a count)."""
    return getattr(conn, "execute_offloaded", conn.execute)


def ordered(column: Any, sort: SortSpec, tiebreak: Any, *, nulls_last: bool = False) -> list[Any]:
    desc = sort.order is Order.DESC
    first = column.desc() if desc else column.asc()
    return [first.nulls_last() if nulls_last else first, tiebreak.desc() if desc else tiebreak.asc()]


async def fetch_page(conn: Any, rows_query: Any, count_query: Any, page: PageRequest, mapper: Any, *,
                params: dict[str, Any] | None = None, heavy: bool = False) -> Page[Any]:
    """One page: the rows, then the count unless the first page already holds everything.

    With `params`, the queries carry bound parameters (`limit` and `offset` too); without, the
    page is applied to `rows_query` here. `heavy` statements (their cost grows with the data)
    leave the event loop on inline readers."""
    execute = off_loop(conn) if heavy else conn.execute
    if params is None:
        rows = (await execute(rows_query.limit(page.limit).offset(page.offset))).all()
    else:
        rows = (await execute(rows_query, {**params, "limit": page.limit, "offset": page.offset})).all()
    if page.offset == 0 and len(rows) < page.limit:
        total = len(rows)
    else:
        total = (await execute(count_query, params)).scalar_one()
    return Page(items=[mapper(r) for r in rows], total_items=total, request=page)
