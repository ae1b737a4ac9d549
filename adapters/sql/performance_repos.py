"""SQL repository of performance data: the row list and the sums the reports read (ADR 0004).

Ingestion (performance_ingest.py) keeps two rollups exact in the same transaction as the rows: per
client and day, and per month and ad. Reports then read a few thousand rollup rows instead of a
million raw ones: the growth report reads one row per day; the performance report reads whole
months from the monthly rollup and only the partial months at the ends of its range from the raw
rows. Alerts' totals per campaign, ad set or ad (`level_totals`) read the same way, grouped by the
level at once; the whole account's read the daily rollup."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import (
    Integer,
    String,
    bindparam,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from catalyst_adapters.sql import performance_ingest
from catalyst_adapters.sql.inline import hot
from catalyst_adapters.sql.performance_levels import (
    _ACCOUNT_TOTALS,
    _LEVEL_CONVERTERS,
    _filter_params,
    _filter_shape,
    _level_statement,
)
from catalyst_adapters.sql.performance_statements import (
    _ENTITY,
    _LEVELS,
    _MONEY,
    _NAMES,
    _ROW_FIELDS,
    _ROWS,
    _SUMMED,
    _SUMS,
    _ZERO_LINE,
    _named,
    _per_ad,
    _split_range,
    _totals,
)
from catalyst_adapters.sql.queries import fetch_page
from catalyst_adapters.sql.tables import (
    performance_days,
    performance_rows,
)
from catalyst_core.cooperative import map_sliced
from catalyst_core.ids import ClientId
from catalyst_core.metrics.breakdown import Breakdown, CampaignTotals, PlatformTotals
from catalyst_core.metrics.levels import LevelFilter, LevelTotals
from catalyst_core.metrics.model import (
    DayTotals,
    EntityTotals,
    IngestResult,
    Level,
    PerformanceQuery,
    PerformanceRow,
)
from catalyst_core.metrics.registry import (
    Totals,
    money_from_micros,
)
from catalyst_core.paging import Order, Page, PageRequest

T = TypeVar("T")


def _entity_totals(row: Sequence[Any]) -> EntityTotals:
    # The columns of _entity_statement: _ENTITY, the names of _LEVELS, then the sums.
    platform, campaign_id, adset_id, ad_id, campaign_name, adset_name, ad_name = row[:7]
    return EntityTotals(platform=platform, campaign_id=campaign_id, adset_id=adset_id, ad_id=ad_id,
                        campaign_name=campaign_name, adset_name=adset_name, ad_name=ad_name,
                        totals=_totals(row[7:]))


def _performance_row(client_id: ClientId, row: Sequence[Any]) -> PerformanceRow:
    values = [money_from_micros(v) if i in _MONEY else v for i, v in enumerate(row)]
    return PerformanceRow(client_id=client_id, **dict(zip(_ROW_FIELDS, values, strict=True)))


_ZERO_TOTALS = _totals(_ZERO_LINE)


def _breakdown_line(row: Sequence[Any]) -> tuple[int, Any]:
    """(kind, what it holds) of one row of `_breakdown_statement`: 0 the range's totals and the
    counts of lines per level, 1 a platform, 2 a campaign, 3 an ad."""
    kind, p, c, s, a, campaign_name, adset_name, ad_name, *sums, n_p, n_c, n_a = row
    if kind == 0:
        return 0, (_totals(sums), (n_p, n_c, n_a))
    if kind == 1:
        return 1, PlatformTotals(platform=p, totals=_totals(sums))
    if kind == 2:
        return 2, CampaignTotals(platform=p, campaign_id=c, campaign_name=campaign_name,
                                 totals=_totals(sums))
    return 3, EntityTotals(platform=p, campaign_id=c, adset_id=s, ad_id=a,
                           campaign_name=campaign_name, adset_name=adset_name, ad_name=ad_name,
                           totals=_totals(sums))


# -- statements, built once per dialect --------------------------------------------------------

_DAILY = hot(select(performance_days.c.date, *(performance_days.c[n] for n in _SUMMED))
             .where(performance_days.c.client_id == bindparam("client_id"),
                    performance_days.c.date.between(bindparam("start"), bindparam("end")))
             .order_by(performance_days.c.date))
_CLIENT_TOTALS = select(*_SUMS).where(performance_days.c.client_id == bindparam("client_id"))


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


# -- the repository ---------------------------------------------------------------------------------

class SqlPerformanceRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn
        self._dialect = conn.dialect.name

    async def _aggregate(self, statement: Any, params: dict[str, Any],
                         convert: Callable[[Any], T]) -> list[T]:
        """A statement whose cost grows with the data, off the event loop (SQLite's inline readers
        send it to a read process or thread; other connections are asynchronous already), and the
        objects made from its rows, on the loop a slice at a time (catalyst_core.cooperative)."""
        offloaded = getattr(self._c, "execute_offloaded", None)
        if offloaded is not None:
            return await offloaded(statement, params, convert=convert)  # type: ignore[no-any-return]
        return await map_sliced(convert, (await self._c.execute(statement, params)).all())

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
                                     lambda row: DayTotals(date=row[0], totals=_totals(row[1:])))

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
        lines = await self._aggregate(statement, {**params, "limit": limit}, _breakdown_line)
        totals, counts = _ZERO_TOTALS, (0, 0, 0)
        platforms, campaigns, ads = [], [], []
        by_kind = (None, platforms.append, campaigns.append, ads.append)
        for kind, line in lines:
            if kind == 0:
                totals, counts = line
            else:
                by_kind[kind](line)
        return Breakdown(totals=totals, platforms=platforms, campaigns=campaigns, ads=ads,
                         counts=dict(zip(("platforms", "campaigns", "ads"), counts, strict=True)))

    async def level_totals(self, client_id: ClientId, start: date, end: date,
                           level: Level | None, *, where: LevelFilter | None = None
                           ) -> list[LevelTotals]:
        if level is None:  # one line from the daily rollup: the filter would save nothing
            return await self._aggregate(_ACCOUNT_TOTALS, {"client_id": client_id, "start": start,
                                                           "end": end}, _LEVEL_CONVERTERS[None])
        shape = _filter_shape(where)
        statement, params = self._ranged(lambda m, e, _p, _c: _level_statement(m, e, level, shape),
                                         client_id, start, end, None, None)
        return await self._aggregate(statement, {**params, **_filter_params(where)},
                                     _LEVEL_CONVERTERS[level])

    async def client_totals(self, client_id: ClientId) -> Totals:
        found = await self._c.execute(_CLIENT_TOTALS, {"client_id": client_id})
        return _totals(found.one())
