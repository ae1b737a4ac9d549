"""The totals per entity of a level (PerformanceRepo.level_totals), which alerts evaluate: grouped
by the level's key straight from the rollup and the raw edges, optionally filtered inside the
grouping statement (LevelFilter), so only the lines an alert could fire on leave the database and
get their names joined."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Float, and_, bindparam, cast, func, literal, or_, select, true

from catalyst_adapters.sql.inline import hot
from catalyst_adapters.sql.performance_statements import (
    _LEVELS,
    _SUMMED,
    _SUMS,
    Summed,
    _named,
    _per_ad,
    _totals,
)
from catalyst_adapters.sql.tables import performance_days
from catalyst_core.metrics.levels import LEVEL_KEYS, LevelFilter, LevelTotals
from catalyst_core.metrics.model import Level
from catalyst_core.metrics.registry import ratio_plan

# The whole account over a range, from the daily rollup (a row per day, not per ad and day): one
# line when the range has rows, none otherwise.
_ACCOUNT_TOTALS = hot(select(*_SUMS)
                      .where(performance_days.c.client_id == bindparam("client_id"),
                             performance_days.c.date.between(bindparam("start"), bindparam("end")))
                      .having(func.sum(performance_days.c.row_count) > 0))


# The shape of a LevelFilter: which of its parts are set (their values are bound parameters).
FilterShape = tuple[bool, str | None, bool, bool]


_MAX_BIGINT = 2**63 - 1


def _filter_shape(where: LevelFilter | None) -> FilterShape | None:
    if where is None:
        return None
    return (where.min_spend > 0, where.metric, where.at_least is not None, where.at_most is not None)


def _filter_params(where: LevelFilter | None) -> dict[str, Any]:
    if where is None:
        return {}
    # A floor past the largest 64-bit integer (alerts take min_spend up to 10^15, 10^21 micros)
    # cannot bind as an INTEGER/BIGINT; no stored sum reaches it, so the largest one means the same.
    floor = min(where.min_spend, _MAX_BIGINT)
    params: dict[str, Any] = {"min_spend": floor} if where.min_spend > 0 else {}
    if where.at_least is not None:
        params["at_least"] = where.at_least
    if where.at_most is not None:
        params["at_most"] = where.at_most
    return params


def _having(shape: FilterShape) -> Callable[[Summed], Any]:
    """LevelFilter in SQL, over a group's sums: the spend floor exactly, the metric's bounds in
    floating point (multiplied out, so no division; a zero denominator is x/0 or 0/0)."""
    min_spend, metric, at_least, at_most = shape

    def having(summed: Summed) -> Any:
        conditions = [summed("spend") >= bindparam("min_spend")] if min_spend else []
        if metric is None:
            return and_(true(), *conditions)
        numerator, n_mult, denominator, d_mult = ratio_plan(metric)
        top = cast(summed(numerator), Float) * float(n_mult)
        bottom = (literal(float(d_mult), Float) if denominator is None
                  else cast(summed(denominator), Float) * float(d_mult))
        zero = literal(False) if denominator is None else summed(denominator) == 0
        if at_least:
            conditions.append(or_(and_(zero, summed(numerator) > 0),
                                  and_(~zero, top >= bindparam("at_least", type_=Float) * bottom)))
        if at_most:
            conditions.append(and_(~zero, top <= bindparam("at_most", type_=Float) * bottom))
        return and_(true(), *conditions)

    return having


@functools.cache
def _level_statement(months: bool, edges: int, level: Level, shape: FilterShape | None) -> Any:
    """The totals per entity of `level` over the range, with the newest names of that level and
    those above it, ordered by the level's ids. Columns: the fields of LevelTotals the level has,
    in their order, then the sums. (The whole account reads the daily rollup: _ACCOUNT_TOTALS.)"""
    keys = LEVEL_KEYS[level]
    having = None if shape is None else _having(shape)
    # Filtered inside the grouping statement: names are joined to the lines that pass only.
    lines = _per_ad(months, edges, False, False, keys, having).subquery("lines")
    named = _LEVELS[:len(keys) - 1]
    joins, names = _named(lines, named)
    columns = [lines.c.platform]
    for (_, id_column), name in zip(named, names, strict=True):
        columns += [lines.c[id_column], name]
    return hot(select(*columns, *(lines.c[n] for n in _SUMMED)).select_from(joins)
               .order_by(*(lines.c[k] for k in keys)))


# The columns of _level_statement, by the LevelTotals field each fills: each level has the first
# 0, 3, 5 or all 7 (ids, each with its name); LevelTotals is built by field name.
_LEVEL_WIDTHS: dict[Level | None, int] = {None: 0, Level.CAMPAIGN: 3, Level.ADSET: 5, Level.AD: 7}
_LEVEL_FIELDS = ("platform", "campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id",
                 "ad_name")


def _level_converter(level: Level | None) -> Callable[[Sequence[Any]], LevelTotals]:
    width = _LEVEL_WIDTHS[level]
    absent = dict.fromkeys(_LEVEL_FIELDS[width:])
    filled = _LEVEL_FIELDS[:width]
    return lambda row: LevelTotals(**dict(zip(filled, row, strict=False)), **absent,
                                   totals=_totals(row[width:]))


_LEVEL_CONVERTERS = {level: _level_converter(level) for level in _LEVEL_WIDTHS}
