"""The growth and performance reports."""

from __future__ import annotations

from aiohttp import web

from catalyst_api.keys import services
from catalyst_api.middleware import actor
from catalyst_api.schemas.metrics import (
    GrowthQuery,
    PerformanceReportQuery,
    present_growth,
    present_performance,
)
from catalyst_api.wire import large_envelope, query
from catalyst_core.ids import ClientId

routes = web.RouteTableDef()


@routes.get("/reports/growth", name="get_growth_report")
async def get_growth_report(request: web.Request) -> web.Response:
    q = query(request, GrowthQuery)
    report = await services(request).reports().growth(
        actor(request), ClientId(q.client_id), q.start_date, q.end_date, q.period)
    return await large_envelope(lambda: present_growth(report))


@routes.get("/reports/performance", name="get_performance_report")
async def get_performance_report(request: web.Request) -> web.Response:
    q = query(request, PerformanceReportQuery)
    report = await services(request).reports().performance(
        actor(request), ClientId(q.client_id), q.start_date, q.end_date, platform=q.platform,
        campaign_id=q.campaign_id, limit=q.limit)
    return await large_envelope(lambda: present_performance(report))
