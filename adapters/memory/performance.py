"""The performance repository of MemoryStorage: rows in a dictionary per client, sums by scanning.

It answers exactly what the SQL adapter answers (the contract suite and the hypothesis report test
hold both to it); it scans instead of keeping rollups, which suits the data sizes of tests."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from catalyst_core.errors import NotFound
from catalyst_core.ids import ClientId
from catalyst_core.metrics.breakdown import Breakdown, breakdown_of
from catalyst_core.metrics.levels import LevelFilter, LevelTotals, level_totals_of
from catalyst_core.metrics.model import (
    DayTotals,
    EntityTotals,
    IngestResult,
    Level,
    PerformanceQuery,
    PerformanceRow,
)
from catalyst_core.metrics.registry import ZERO, Totals, total
from catalyst_core.paging import Order, Page, PageRequest

if TYPE_CHECKING:
    from catalyst_adapters.memory.storage import _Journal, _Tables

NameKey = tuple[ClientId, str, Level, str]


class MemoryPerformanceRepo:
    def __init__(self, t: _Tables, j: _Journal) -> None:
        self._t, self._j = t, j

    def _rows(self, client_id: ClientId) -> dict[tuple[date, str, str], PerformanceRow]:
        return self._t.performance.setdefault(client_id, {})

    async def upsert(self, client_id: ClientId, rows: Sequence[PerformanceRow]) -> IngestResult:
        if client_id not in self._t.clients:  # as the SQL schema's foreign key does
            raise NotFound("a referenced record does not exist")
        stored = self._rows(client_id)
        updated = 0
        for row in rows:
            updated += row.key in stored
            self._j.put_immutable(stored, row.key, row)  # rows are frozen: no copy needed
            for level in Level:
                name = row.entity_name(level)
                key = (client_id, row.platform, level, row.entity_id(level))
                known = self._t.performance_names.get(key)
                if name is not None and (known is None or row.date >= known[0]):
                    self._j.put_immutable(self._t.performance_names, key, (row.date, name))
        return IngestResult(inserted=len(rows) - updated, updated=updated)

    def _in_range(self, client_id: ClientId, start: date | None, end: date | None
                  ) -> Iterable[PerformanceRow]:
        return (r for r in self._t.performance.get(client_id, {}).values()
                if (start is None or r.date >= start) and (end is None or r.date <= end))

    async def list(self, query: PerformanceQuery, page: PageRequest, order: Order
                   ) -> Page[PerformanceRow]:
        rows = sorted(
            (r for r in self._in_range(query.client_id, query.start_date, query.end_date)
             if (query.platform is None or r.platform == query.platform)
             and (query.campaign_id is None or r.campaign_id == query.campaign_id)
             and (query.ad_id is None or r.ad_id == query.ad_id)),
            key=lambda r: r.key, reverse=order is Order.DESC)
        return Page(items=copy.copy(rows[page.offset:page.offset + page.limit]), total_items=len(rows),
                    request=page)

    async def daily_totals(self, client_id: ClientId, start: date, end: date) -> list[DayTotals]:
        days: dict[date, Totals] = {}
        for row in self._in_range(client_id, start, end):
            days[row.date] = days.get(row.date, ZERO) + row.totals()
        return [DayTotals(d, days[d]) for d in sorted(days)]

    async def entity_totals(self, client_id: ClientId, start: date, end: date, *,
                            platform: str | None = None, campaign_id: str | None = None
                            ) -> list[EntityTotals]:
        groups: dict[tuple[str, str, str, str], Totals] = {}
        for row in self._in_range(client_id, start, end):
            if (platform is None or row.platform == platform) and \
                    (campaign_id is None or row.campaign_id == campaign_id):
                key = (row.platform, row.campaign_id, row.adset_id, row.ad_id)
                groups[key] = groups.get(key, ZERO) + row.totals()
        return [EntityTotals(p, c, s, a, self._name(client_id, p, Level.CAMPAIGN, c),
                             self._name(client_id, p, Level.ADSET, s),
                             self._name(client_id, p, Level.AD, a), totals)
                for (p, c, s, a), totals in groups.items()]

    def _name(self, client_id: ClientId, platform: str, level: Level, entity_id: str) -> str | None:
        known = self._t.performance_names.get((client_id, platform, level, entity_id))
        return None if known is None else known[1]

    async def breakdown(self, client_id: ClientId, start: date, end: date, *,
                        platform: str | None = None, campaign_id: str | None = None,
                        limit: int) -> Breakdown:
        return breakdown_of(await self.entity_totals(client_id, start, end, platform=platform,
                                                     campaign_id=campaign_id), limit)

    async def level_totals(self, client_id: ClientId, start: date, end: date,
                           level: Level | None, *, where: LevelFilter | None = None
                           ) -> list[LevelTotals]:
        lines = level_totals_of(await self.entity_totals(client_id, start, end), level)
        return lines if where is None else [line for line in lines if where.keeps(line.totals)]

    async def client_totals(self, client_id: ClientId) -> Totals:
        return total(r.totals() for r in self._in_range(client_id, None, None))
