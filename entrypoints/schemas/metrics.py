"""Shapes of performance data on the wire, and of the reports."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from attrs import frozen

from catalyst_api.wire import encoded_list
from catalyst_core.metrics.model import PerformanceRow
from catalyst_core.metrics.registry import METRIC_NAMES
from catalyst_core.reports.model import (
    AdLine,
    CampaignLine,
    GrowthReport,
    Measured,
    PerformanceReport,
    PlatformLine,
    Span,
)
from catalyst_core.reports.periods import Period
from catalyst_core.reports.service import DEFAULT_BREAKDOWN_LIMIT


@frozen
class IngestBody:
    """`{"rows": [...]}`. Each row is checked field by field by the core (parse_rows), which names
    every bad field of every row at once; here it only has to be a list."""

    rows: list[Any]


@frozen(kw_only=True)
class GrowthQuery:
    client_id: uuid.UUID
    start_date: date | None = None
    end_date: date | None = None
    period: Period = Period.DAILY


@frozen(kw_only=True)
class PerformanceReportQuery:
    client_id: uuid.UUID
    start_date: date | None = None
    end_date: date | None = None
    platform: str | None = None
    campaign_id: str | None = None
    limit: int = DEFAULT_BREAKDOWN_LIMIT


def present_row(r: PerformanceRow) -> dict[str, Any]:
    return {
        "client_id": r.client_id, "date": r.date, "platform": r.platform,
        "campaign_id": r.campaign_id, "campaign_name": r.campaign_name, "adset_id": r.adset_id,
        "adset_name": r.adset_name, "ad_id": r.ad_id, "ad_name": r.ad_name, "spend": r.spend,
        "impressions": r.impressions, "clicks": r.clicks, "landing_page_views": r.landing_page_views,
        "leads": r.leads, "conversions": r.conversions, "revenue": r.revenue,
    }


def _metrics(m: Measured, *, change: bool) -> dict[str, Any]:
    shown: dict[str, Any] = dict(m.metrics)
    if change:
        shown["change"] = dict(m.change)
    return shown


def _span(s: Span, *, change: bool = True) -> dict[str, Any]:
    return {"start_date": s.start_date, "end_date": s.end_date, **_metrics(s.measured, change=change)}


async def present_growth(r: GrowthReport) -> dict[str, Any]:
    return {
        "client_id": r.client_id, "start_date": r.start_date, "end_date": r.end_date,
        "period": r.period, "metrics": list(METRIC_NAMES),
        "buckets": await encoded_list(_span, r.buckets),
        "summary": {"current": _span(r.current, change=False),
                    "previous": _span(r.previous, change=False),
                    "change": dict(r.current.measured.change)},
    }


def _platform_line(p: PlatformLine) -> dict[str, Any]:
    return {"platform": p.platform, **_metrics(p.measured, change=False)}


def _campaign_line(c: CampaignLine) -> dict[str, Any]:
    return {"platform": c.platform, "campaign_id": c.campaign_id, "campaign_name": c.campaign_name,
            **_metrics(c.measured, change=False)}


def _ad_line(a: AdLine) -> dict[str, Any]:
    return {"platform": a.platform, "campaign_id": a.campaign_id, "campaign_name": a.campaign_name,
            "adset_id": a.adset_id, "adset_name": a.adset_name, "ad_id": a.ad_id,
            "ad_name": a.ad_name, **_metrics(a.measured, change=False)}


async def present_performance(r: PerformanceReport) -> dict[str, Any]:
    return {
        "client_id": r.client_id, "start_date": r.start_date, "end_date": r.end_date,
        "filters": {"platform": r.platform, "campaign_id": r.campaign_id},
        "metrics": list(METRIC_NAMES),
        "totals": _metrics(r.totals, change=False),
        "by_platform": await encoded_list(_platform_line, r.by_platform),
        "by_campaign": await encoded_list(_campaign_line, r.by_campaign),
        "by_ad": await encoded_list(_ad_line, r.by_ad),
        "counts": dict(r.counts),
    }
