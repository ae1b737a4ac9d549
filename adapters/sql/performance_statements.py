"""The statements shared by the performance repositories (ADR 0004): the per-ad sums over whole
months of the monthly rollup plus the raw rows of the partial months at the ends of a range, the
join to the newest names, and how a range splits into those parts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, and_, bindparam, func, literal, select, union_all

from catalyst_adapters.sql.tables import (
    performance_days,
    performance_months,
    performance_names,
    performance_rows,
)
from catalyst_core.metrics.model import Level
from catalyst_core.metrics.registry import BASE_NAMES, MONEY_METRICS, Totals

_ROWS = performance_rows.c
_ENTITY = ("platform", "campaign_id", "adset_id", "ad_id")
_SUMMED = ("row_count", *BASE_NAMES)
_NAMES = ("campaign_name", "adset_name", "ad_name")
_ZERO_LINE = (0,) * len(_SUMMED)
_ROW_FIELDS = ("date", "platform", "campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id",
               "ad_name", *BASE_NAMES)
assert _ROW_FIELDS == tuple(c.name for c in (_ROWS[n] for n in _ROW_FIELDS))
_MONEY = frozenset(i for i, name in enumerate(_ROW_FIELDS) if name in MONEY_METRICS)


def _month(day: date) -> date:
    return day.replace(day=1)


def _totals(sums: Sequence[Any]) -> Totals:
    """Totals from (row_count, metric sums...), NULL sums (no rows) as zero. PostgreSQL sums
    bigints into numeric (Decimal), SQLite into int. Runs for every line of a report: kept lean."""
    ints = [0 if v is None else int(v) for v in sums]
    return Totals(values=tuple(ints[1:]), rows=ints[0])

_SUMS = tuple(func.sum(performance_days.c[n]) for n in ("row_count", *BASE_NAMES))


Summed = Callable[[str], Any]  # a base metric's name -> its SUM over a group


def _per_ad(months: bool, edges: int, platform: bool, campaign: bool,
            keys: tuple[str, ...] = _ENTITY, having: Callable[[Summed], Any] | None = None) -> Any:
    """Sums per (platform, campaign_id, adset_id, ad_id) over whole months of the monthly rollup
    (`:month_start`..`:month_end`) and `edges` ranges of raw rows (`:edge<i>_start`..`_end`).
    With coarser `keys` (a prefix of those four), the same rows summed per entity of that level
    straight away: a group of a level holds a row exactly when one of its ads does, so it equals
    the per-ad lines summed, without grouping twice."""
    parts = []

    def narrowed(table: Any, *where: Any) -> list[Any]:
        conds = [table.c.client_id == bindparam("client_id"), *where]
        if platform:
            conds.append(table.c.platform == bindparam("platform"))
        if campaign:
            conds.append(table.c.campaign_id == bindparam("campaign_id"))
        return conds

    entity = lambda table: [table.c[name] for name in _ENTITY]  # noqa: E731
    if months:
        m = performance_months
        parts.append(select(*entity(m), m.c.row_count, *(m.c[n] for n in BASE_NAMES)).where(
            *narrowed(m, m.c.month.between(bindparam("month_start"), bindparam("month_end")))))
    for i in range(edges):
        parts.append(select(*entity(performance_rows), literal(1, BigInteger).label("row_count"),
                            *(_ROWS[n] for n in BASE_NAMES)).where(
            *narrowed(performance_rows,
                      _ROWS.date.between(bindparam(f"edge{i}_start"), bindparam(f"edge{i}_end")))))
    both = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("parts")
    statement = (select(*(both.c[name] for name in keys),
                        *(func.sum(both.c[n]).label(n) for n in _SUMMED))
                 .group_by(*(both.c[name] for name in keys))
                 # A rollup row emptied by replacements (an ad moved to another campaign) is no group.
                 .having(func.sum(both.c.row_count) > 0))
    if having is not None:
        statement = statement.having(having(lambda name: func.sum(both.c[name])))
    return statement


def _named(lines: Any, levels: Sequence[tuple[Level, str]]) -> tuple[Any, list[Any]]:
    """`lines` joined to the newest name of each level (None where no row carried one)."""
    joins, names = lines, []
    for level, id_column in levels:
        n = performance_names.alias(f"{level.value}_names")
        joins = joins.outerjoin(n, and_(
            n.c.client_id == bindparam("client_id"), n.c.platform == lines.c.platform,
            n.c.level == level.value, n.c.entity_id == lines.c[id_column]))
        names.append(n.c.name)
    return joins, names


_LEVELS = ((Level.CAMPAIGN, "campaign_id"), (Level.ADSET, "adset_id"), (Level.AD, "ad_id"))


def _split_range(start: date, end: date) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """The whole months inside [start, end] (first days of the first and last), and the ranges of
    days outside them, which are read from raw rows."""
    first_full = start if start.day == 1 else (_month(start) + timedelta(days=32)).replace(day=1)
    after_end = end + timedelta(days=1)
    last_full_end = end if after_end.day == 1 else _month(end) - timedelta(days=1)
    if first_full > last_full_end:
        return None, [(start, end)]
    edges = []
    if start < first_full:
        edges.append((start, first_full - timedelta(days=1)))
    if last_full_end < end:
        edges.append((last_full_end + timedelta(days=1), end))
    return (first_full, _month(last_full_end)), edges
