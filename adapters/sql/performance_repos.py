"""SQL repository of performance data: the row list and the sums the reports read (ADR 0004).

Ingestion (performance_ingest.py) keeps two rollups exact in the same transaction as the rows: per
client and day, and per month and ad. Reports then read a few thousand rollup rows instead of a
million raw ones: the growth report reads one row per day; the performance report reads whole
months from the monthly rollup and only the partial months at the ends of its range from the raw
rows. Alerts' totals per campaign, ad set or ad (`level_totals`) read the same way, grouped by the
level at once; the whole account's read the daily rollup."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

import attrs
from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    and_,
    bindparam,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from catalyst_adapters.sql import performance_ingest
from catalyst_adapters.sql.inline import hot
from catalyst_adapters.sql.queries import fetch_page
from catalyst_adapters.sql.tables import (
    performance_days,
    performance_months,
    performance_names,
    performance_rows,
)
from catalyst_core.ids import ClientId
from catalyst_core.metrics.breakdown import Breakdown, CampaignTotals, PlatformTotals
from catalyst_core.metrics.levels import LEVEL_KEYS, LevelTotals
from catalyst_core.metrics.model import (
    DayTotals,
    EntityTotals,
    IngestResult,
    Level,
    PerformanceQuery,
    PerformanceRow,
)
from catalyst_core.metrics.registry import (
    BASE_NAMES,
    MONEY_METRICS,
    Totals,
    money_from_micros,
)
from catalyst_core.paging import Order, Page, PageRequest

T = TypeVar("T")
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


def _as_int(value: Any) -> int:
    return int(value)  # PostgreSQL sums bigints into numeric (Decimal); SQLite into int


def _totals(sums: Sequence[Any]) -> Totals:
    """Totals from (row_count, metric sums...), NULL sums (no rows) as zero."""
    row_count, *metrics = (0 if v is None else _as_int(v) for v in sums)
    return Totals(tuple(metrics), row_count)


def _entity_totals(row: Sequence[Any]) -> EntityTotals:
    return EntityTotals(*row[:7], _totals(row[7:]))


def _performance_row(client_id: ClientId, row: Sequence[Any]) -> PerformanceRow:
    values = [money_from_micros(v) if i in _MONEY else v for i, v in enumerate(row)]
    return PerformanceRow(client_id, *values)


# -- statements, built once per dialect --------------------------------------------------------

_SUMS = tuple(func.sum(performance_days.c[n]) for n in ("row_count", *BASE_NAMES))
_DAILY = hot(select(performance_days.c.date, *(performance_days.c[n] for n in _SUMMED))
             .where(performance_days.c.client_id == bindparam("client_id"),
                    performance_days.c.date.between(bindparam("start"), bindparam("end")))
             .order_by(performance_days.c.date))
_CLIENT_TOTALS = select(*_SUMS).where(performance_days.c.client_id == bindparam("client_id"))
# The whole account over a range, from the daily rollup (a row per day, not per ad and day): one
# line when the range has rows, none otherwise.
_ACCOUNT_TOTALS = hot(select(*_SUMS)
                      .where(performance_days.c.client_id == bindparam("client_id"),
                             performance_days.c.date.between(bindparam("start"), bindparam("end")))
                      .having(func.sum(performance_days.c.row_count) > 0))


@functools.cache
def _list_statements(shape: tuple[str, ...], order: Order) -> tuple[Any, Any]:
    conditions = {
        "start_date": _ROWS.date >= bindparam("start_date"),
        "end_date": _ROWS.date <= bindparam("end_date"),
        "platform": _ROWS.platform == bindparam("platform"),
        "campaign_id": _ROWS.campaign_id == bindparam("campaign_id"),
        "ad_id": _ROWS.ad_id == bindparam("ad_id"),
    }
    where = [_ROWS.client_id == bindparam("client_id"), *(conditions[name] for name in shape)]
    keys = (_ROWS.date, _ROWS.platform, _ROWS.ad_id)
    rows = (select(*(_ROWS[name] for name in _ROW_FIELDS)).where(*where)
            .order_by(*(k.desc() if order is Order.DESC else k.asc() for k in keys))
            .limit(bindparam("limit")).offset(bindparam("offset")))
    return hot(rows), hot(select(func.count()).select_from(performance_rows).where(*where))


def _per_ad(months: bool, edges: int, platform: bool, campaign: bool,
            keys: tuple[str, ...] = _ENTITY) -> Any:
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
    return (select(*(both.c[name] for name in keys),
                   *(func.sum(both.c[n]).label(n) for n in _SUMMED))
            .group_by(*(both.c[name] for name in keys))
            # A rollup row emptied by replacements (an ad moved to another campaign) is no group.
            .having(func.sum(both.c.row_count) > 0))


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


@functools.cache
def _entity_statement(months: bool, edges: int, platform: bool, campaign: bool) -> Any:
    """The lines per ad with the newest names. Shapes are few: each is built once, bound after."""
    ads = _per_ad(months, edges, platform, campaign).subquery("ads")
    joins, names = _named(ads, _LEVELS)
    return hot(select(*(ads.c[name] for name in _ENTITY), *names,
                      *(ads.c[n] for n in _SUMMED)).select_from(joins))


@functools.cache
def _breakdown_statement(months: bool, edges: int, platform: bool, campaign: bool) -> Any:
    """The performance report's aggregate in one statement: the lines per ad once (a CTE), then
    the totals with the count of lines of each level, and per platform, campaign and ad the
    `:limit` lines of highest spend, names joined to those only. Each output row starts with its
    kind (0 totals, 1 platform, 2 campaign, 3 ad) and is ordered by kind, then spend."""
    ads = _per_ad(months, edges, platform, campaign).cte("ads")
    sums = [func.sum(ads.c[n]).label(n) for n in _SUMMED]
    spend = func.sum(ads.c.spend)
    null = literal(None, String)

    def count_of(*keys: Any) -> Any:
        return select(func.count()).select_from(select(*keys).group_by(*keys).subquery()
                                                ).scalar_subquery()

    def kind(n: int) -> Any:
        return literal(n, Integer).label("kind")

    # The first member names the columns of all four.
    totals = select(kind(0), *(null.label(name) for name in (*_ENTITY, *_NAMES)), *sums,
                    count_of(ads.c.platform).label("platforms"),
                    count_of(ads.c.platform, ads.c.campaign_id).label("campaigns"),
                    select(func.count()).select_from(ads).scalar_subquery().label("ads"))
    platforms = (select(ads.c.platform, *sums).group_by(ads.c.platform)
                 .order_by(spend.desc(), ads.c.platform).limit(bindparam("limit")).subquery("p"))
    campaigns = (select(ads.c.platform, ads.c.campaign_id, *sums)
                 .group_by(ads.c.platform, ads.c.campaign_id)
                 .order_by(spend.desc(), ads.c.platform, ads.c.campaign_id)
                 .limit(bindparam("limit")).subquery("c"))
    top_ads = (select(ads).order_by(ads.c.spend.desc(), *(ads.c[name] for name in _ENTITY))
               .limit(bindparam("limit")).subquery("a"))
    campaign_joins, (campaign_name,) = _named(campaigns, _LEVELS[:1])
    ad_joins, ad_names = _named(top_ads, _LEVELS)
    no_counts = [literal(None, Integer)] * 3
    lines = union_all(
        totals,
        select(kind(1), platforms.c.platform, null, null, null, null, null, null,
               *(platforms.c[n] for n in _SUMMED), *no_counts),
        select(kind(2), campaigns.c.platform, campaigns.c.campaign_id, null, null, campaign_name,
               null, null, *(campaigns.c[n] for n in _SUMMED), *no_counts
               ).select_from(campaign_joins),
        select(kind(3), *(top_ads.c[name] for name in _ENTITY), *ad_names,
               *(top_ads.c[n] for n in _SUMMED), *no_counts).select_from(ad_joins),
    ).subquery("lines")
    return hot(select(lines).order_by(lines.c.kind, lines.c.spend.desc(),
                                      *(lines.c[name] for name in _ENTITY)))


@functools.cache
def _level_statement(months: bool, edges: int, level: Level) -> Any:
    """The totals per entity of `level` over the range, with the newest names of that level and
    those above it, ordered by the level's ids. Columns: the fields of LevelTotals the level has,
    in their order, then the sums. (The whole account reads the daily rollup: _ACCOUNT_TOTALS.)"""
    keys = LEVEL_KEYS[level]
    lines = _per_ad(months, edges, False, False, keys).subquery("lines")
    named = _LEVELS[:len(keys) - 1]
    joins, names = _named(lines, named)
    columns = [lines.c.platform]
    for (_, id_column), name in zip(named, names, strict=True):
        columns += [lines.c[id_column], name]
    return hot(select(*columns, *(lines.c[n] for n in _SUMMED)).select_from(joins)
               .order_by(*(lines.c[k] for k in keys)))


# The fields of LevelTotals each level fills: the first 0, 3, 5 or all 7 (ids, each with its name).
_LEVEL_WIDTHS: dict[Level | None, int] = {None: 0, Level.CAMPAIGN: 3, Level.ADSET: 5, Level.AD: 7}
_LEVEL_FIELDS = ("platform", "campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id",
                 "ad_name")
assert _LEVEL_FIELDS == tuple(f.name for f in attrs.fields(LevelTotals))[:7]


def _level_converter(level: Level | None) -> Callable[[Sequence[Any]], LevelTotals]:
    width = _LEVEL_WIDTHS[level]
    missing = (None,) * (len(_LEVEL_FIELDS) - width)
    return lambda row: LevelTotals(*row[:width], *missing, _totals(row[width:]))


_LEVEL_CONVERTERS = {level: _level_converter(level) for level in _LEVEL_WIDTHS}


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


# -- the repository ---------------------------------------------------------------------------------

class SqlPerformanceRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn
        self._dialect = conn.dialect.name

    async def _aggregate(self, statement: Any, params: dict[str, Any],
                         convert: Callable[[Any], T]) -> list[T]:
        """A statement whose cost grows with the data, and the objects made from its rows, off the
        event loop: on SQLite's inline readers both run on a worker thread; on other connections
        the query is asynchronous already and the rows are converted on a worker thread."""
        offloaded = getattr(self._c, "execute_offloaded", None)
        if offloaded is not None:
            return await offloaded(statement, params, convert=lambda rows: list(map(convert, rows)))
        rows = (await self._c.execute(statement, params)).all()
        return await asyncio.to_thread(lambda: list(map(convert, rows)))

    async def upsert(self, client_id: ClientId, rows: Sequence[PerformanceRow]) -> IngestResult:
        return await performance_ingest.upsert(self._c, client_id, rows)

    async def list(self, query: PerformanceQuery, page: PageRequest, order: Order
                   ) -> Page[PerformanceRow]:
        values = {name: getattr(query, name) for name in
                  ("start_date", "end_date", "platform", "campaign_id", "ad_id")
                  if getattr(query, name) is not None}
        rows, count = _list_statements(tuple(values), order)
        return await fetch_page(self._c, rows, count, page,
                                lambda r: _performance_row(query.client_id, r),
                                params={"client_id": query.client_id, **values}, heavy=True)

    async def daily_totals(self, client_id: ClientId, start: date, end: date) -> list[DayTotals]:
        return await self._aggregate(_DAILY, {"client_id": client_id, "start": start, "end": end},
                                     lambda row: DayTotals(row[0], _totals(row[1:])))

    async def entity_totals(self, client_id: ClientId, start: date, end: date, *,
                            platform: str | None = None, campaign_id: str | None = None
                            ) -> list[EntityTotals]:
        statement, params = self._ranged(_entity_statement, client_id, start, end, platform,
                                         campaign_id)
        return await self._aggregate(statement, params, _entity_totals)

    @staticmethod
    def _ranged(build: Callable[..., Any], client_id: ClientId, start: date, end: date,
                platform: str | None, campaign_id: str | None) -> tuple[Any, dict[str, Any]]:
        """The statement of this range's shape (whole months, partial edges, filters) and its
        parameters."""
        months, edges = _split_range(start, end)
        params: dict[str, Any] = {"client_id": client_id}
        if months is not None:
            params["month_start"], params["month_end"] = months
        for i, (edge_start, edge_end) in enumerate(edges):
            params[f"edge{i}_start"], params[f"edge{i}_end"] = edge_start, edge_end
        if platform is not None:
            params["platform"] = platform
        if campaign_id is not None:
            params["campaign_id"] = campaign_id
        statement = build(months is not None, len(edges), platform is not None,
                          campaign_id is not None)
        return statement, params

    async def breakdown(self, client_id: ClientId, start: date, end: date, *,
                        platform: str | None = None, campaign_id: str | None = None,
                        limit: int) -> Breakdown:
        statement, params = self._ranged(_breakdown_statement, client_id, start, end, platform,
                                         campaign_id)
        lines = await self._aggregate(statement, {**params, "limit": limit}, tuple)
        totals, counts = _ZERO_LINE, (0, 0, 0)
        platforms, campaigns, ads = [], [], []
        for kind, p, c, s, a, campaign_name, adset_name, ad_name, *sums, n_p, n_c, n_a in lines:
            if kind == 0:
                totals, counts = sums, (n_p, n_c, n_a)
            elif kind == 1:
                platforms.append(PlatformTotals(p, _totals(sums)))
            elif kind == 2:
                campaigns.append(CampaignTotals(p, c, campaign_name, _totals(sums)))
            else:
                ads.append(EntityTotals(p, c, s, a, campaign_name, adset_name, ad_name,
                                        _totals(sums)))
        return Breakdown(totals=_totals(totals), platforms=platforms, campaigns=campaigns, ads=ads,
                         counts=dict(zip(("platforms", "campaigns", "ads"), counts, strict=True)))

    async def level_totals(self, client_id: ClientId, start: date, end: date,
                           level: Level | None) -> list[LevelTotals]:
        if level is None:
            return await self._aggregate(_ACCOUNT_TOTALS, {"client_id": client_id, "start": start,
                                                           "end": end}, _LEVEL_CONVERTERS[None])
        statement, params = self._ranged(lambda m, e, _p, _c: _level_statement(m, e, level),
                                         client_id, start, end, None, None)
        return await self._aggregate(statement, params, _LEVEL_CONVERTERS[level])

    async def client_totals(self, client_id: ClientId) -> Totals:
        found = await self._c.execute(_CLIENT_TOTALS, {"client_id": client_id})
        return _totals(found.one())
