"""Use cases of the reports: each reads exact totals in one read transaction and composes them."""

from __future__ import annotations

from datetime import date

from catalyst_core.access import role_in
from catalyst_core.auth.model import Actor
from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId
from catalyst_core.metrics.model import canonical_platform, filter_problems, filter_text
from catalyst_core.ports import Clock, Storage
from catalyst_core.reports.model import (
    GrowthReport,
    PerformanceReport,
    growth_report,
    performance_report,
)
from catalyst_core.reports.periods import Period, preceding_range, report_range

DEFAULT_BREAKDOWN_LIMIT = 100
MAX_BREAKDOWN_LIMIT = 5_000


class ReportsService:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage, self.clock = storage, clock

    async def growth(self, actor: Actor, client_id: ClientId, start: date | None, end: date | None,
                     period: Period = Period.DAILY) -> GrowthReport:
        """Totals per period bucket, each against the one before, and the whole range against
        the range of the same length before it. Any member of the client reads."""
        start, end = report_range(start, end, today=self.clock.now().date())
        async with self.storage.transaction(write=False) as tx:
            await role_in(tx, actor, client_id)
            days = await tx.performance.daily_totals(client_id, preceding_range(start, end)[0], end)
        return await growth_report(client_id, start, end, period, days)

    async def performance(self, actor: Actor, client_id: ClientId, start: date | None,
                          end: date | None, *, platform: str | None = None,
                          campaign_id: str | None = None,
                          limit: int = DEFAULT_BREAKDOWN_LIMIT) -> PerformanceReport:
        """Totals over the range and breakdowns by platform, campaign and ad, highest spend first
        (at most `limit` lines each). Any member of the client reads."""
        problems = filter_problems(platform=platform, campaign_id=campaign_id)
        if not 1 <= limit <= MAX_BREAKDOWN_LIMIT:
            problems["limit"] = f"must be between 1 and {MAX_BREAKDOWN_LIMIT}"
        try:
            start, end = report_range(start, end, today=self.clock.now().date())
        except InvalidInput as e:
            problems.update(e.fields)
        if problems:
            raise InvalidInput(problems)
        platform = filter_text(platform)
        platform = canonical_platform(platform) if platform else None
        campaign_id = filter_text(campaign_id)
        async with self.storage.transaction(write=False) as tx:
            await role_in(tx, actor, client_id)
            breakdown = await tx.performance.breakdown(client_id, start, end, platform=platform,
                                                       campaign_id=campaign_id, limit=limit)
        return await performance_report(client_id, start, end, platform, campaign_id, breakdown)
