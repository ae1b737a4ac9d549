"""What every in-memory repository shares: the journal that rolls a failed transaction back, and
paging and sorting as SQL does them."""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs

from catalyst_core.paging import Order, Page, PageRequest, SortSpec

T = TypeVar("T")
_MISSING = object()


class _Journal:
    """Remembers the first value each touched key had, to restore it on rollback."""

    def __init__(self) -> None:
        self._entries: list[tuple[dict[Any, Any], Hashable, Any]] = []

    def put(self, table: dict[Any, Any], key: Hashable, value: Any) -> None:
        self._entries.append((table, key, table.get(key, _MISSING)))
        table[key] = _in_utc(copy.deepcopy(value))

    def put_immutable(self, table: dict[Any, Any], key: Hashable, value: Any) -> None:
        """`put` for values nobody can change (frozen rows, tuples): stored without a copy."""
        self._entries.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def pop(self, table: dict[Any, Any], key: Hashable) -> None:
        self._entries.append((table, key, table.get(key, _MISSING)))
        table.pop(key, None)

    def rollback(self) -> None:
        for table, key, old in reversed(self._entries):
            if old is _MISSING:
                table.pop(key, None)
            else:
                table[key] = old
        self._entries.clear()


def _in_utc(value: T) -> T:
    """Keep aware datetimes in UTC, as the SQL adapter hands them back (the port promises UTC)."""
    if attrs.has(type(value)):
        for f in attrs.fields(type(value)):
            item = getattr(value, f.name)
            if isinstance(item, datetime) and item.tzinfo is not None:
                setattr(value, f.name, item.astimezone(UTC))
    return value


def _page(rows: Sequence[T], page: PageRequest) -> Page[T]:
    return Page(items=[copy.deepcopy(r) for r in rows[page.offset:page.offset + page.limit]],
                total_items=len(rows), request=page)


def _sorted(rows: Iterable[T], sort: SortSpec, key: Callable[[T], Any],
            tiebreak: Callable[[T], Any]) -> list[T]:
    """Sort by key then tiebreak, both in the sort's direction; rows whose key is None go last
    either way (SQL's NULLS LAST)."""
    reverse = sort.order is Order.DESC
    rows = list(rows)
    present = [r for r in rows if key(r) is not None]
    absent = [r for r in rows if key(r) is None]
    return (sorted(present, key=lambda r: (key(r), tiebreak(r)), reverse=reverse)
            + sorted(absent, key=tiebreak, reverse=reverse))
