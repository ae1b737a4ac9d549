"""The growth and performance reports, composed from exact totals.

Every line of a report carries every metric of the registry; changes are percents computed from
the exact fractions (catalyst_core.metrics.registry)."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from attrs import frozen

from catalyst_core.cooperative import map_sliced
from catalyst_core.ids import ClientId
from catalyst_core.metrics.breakdown import Breakdown
from catalyst_core.metrics.model import DayTotals
from catalyst_core.metrics.registry import Totals, changes, total, values
from catalyst_core.reports.periods import Period, buckets, preceding_range

MetricValues = Mapping[str, int | Decimal | float | None]


@frozen
class Measured:
    """Totals, and their `previous` to compare with. Every metric (`metrics`) and its `change`
    are worked out when asked for, so composing a report stays cheap and the arithmetic of its
    thousands of lines happens where it is presented (a slice at a time, in the HTTP API)."""

    totals: Totals
    previous: Totals | None = None

    @property
    def metrics(self) -> MetricValues:
        return values(self.totals)

    @property
    def change(self) -> Mapping[str, float | None]:
        return changes(self.totals, self.previous)


@frozen
class Span:
    """Totals over an inclusive range of days."""

    start_date: date
    end_date: date
    measured: Measured


@frozen
class GrowthReport:
    client_id: ClientId
    start_date: date
    end_date: date
    period: Period
    buckets: Sequence[Span]  # each against the bucket before it
    current: Span  # the whole range, against `previous`
    previous: Span  # the range of the same length just before


async def _sum_over(days: Sequence[DayTotals], starts: Sequence[date],
                    ranges: Sequence[tuple[date, date]]) -> list[Totals]:
    """The totals of each range (sorted, adjacent ranges) from days in any order."""
    def bucket(day: DayTotals) -> int:
        i = bisect.bisect_right(starts, day.date) - 1
        return i if i >= 0 and day.date <= ranges[i][1] else -1

    parts: list[list[Totals]] = [[] for _ in ranges]
    for i, day in zip(await map_sliced(bucket, days), days, strict=True):
        if i >= 0:
            parts[i].append(day.totals)
    return await map_sliced(total, parts)


async def growth_report(client_id: ClientId, start: date, end: date, period: Period,
                        days: Sequence[DayTotals]) -> GrowthReport:
    """`days` must cover the preceding range too (preceding_range(start, end) through end).
    Up to ~2,200 days and ~1,100 buckets: composed on the event loop a slice at a time."""
    prev_start, prev_end = preceding_range(start, end)
    ranges = buckets(start, end, period)
    sums = await _sum_over(days, [s for s, _ in ranges], ranges)
    spans = await map_sliced(lambda i: Span(*ranges[i], Measured(sums[i], sums[i - 1] if i else None)),
                             range(len(ranges)))
    previous_total, current_total = await _sum_over(days, [prev_start, start],
                                                    [(prev_start, prev_end), (start, end)])
    return GrowthReport(
        client_id=client_id, start_date=start, end_date=end, period=period, buckets=spans,
        current=Span(start, end, Measured(current_total, previous_total)),
        previous=Span(prev_start, prev_end, Measured(previous_total)),
    )


# -- the performance report ---------------------------------------------------------------------

@frozen
class PlatformLine:
    platform: str
    measured: Measured


@frozen
class CampaignLine:
    platform: str
    campaign_id: str
    campaign_name: str | None
    measured: Measured


@frozen
class AdLine:
    platform: str
    campaign_id: str
    campaign_name: str | None
    adset_id: str
    adset_name: str | None
    ad_id: str
    ad_name: str | None
    measured: Measured


@frozen
class PerformanceReport:
    client_id: ClientId
    start_date: date
    end_date: date
    platform: str | None
    campaign_id: str | None
    totals: Measured
    by_platform: Sequence[PlatformLine]
    by_campaign: Sequence[CampaignLine]
    by_ad: Sequence[AdLine]
    counts: Mapping[str, int]  # lines in each breakdown before `limit` cut them


async def performance_report(client_id: ClientId, start: date, end: date, platform: str | None,
                             campaign_id: str | None, breakdown: Breakdown) -> PerformanceReport:
    """Up to 3 x 5,000 lines: composed on the event loop a slice at a time."""
    return PerformanceReport(
        client_id=client_id, start_date=start, end_date=end, platform=platform,
        campaign_id=campaign_id, totals=Measured(breakdown.totals),
        by_platform=await map_sliced(lambda p: PlatformLine(p.platform, Measured(p.totals)),
                                     breakdown.platforms),
        by_campaign=await map_sliced(lambda c: CampaignLine(c.platform, c.campaign_id,
                                                            c.campaign_name, Measured(c.totals)),
                                     breakdown.campaigns),
        by_ad=await map_sliced(lambda e: AdLine(e.platform, e.campaign_id, e.campaign_name,
                                                e.adset_id, e.adset_name, e.ad_id, e.ad_name,
                                                Measured(e.totals)), breakdown.ads),
        counts=dict(breakdown.counts),
    )
