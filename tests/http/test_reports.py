"""GET /reports/growth and /reports/performance: every filter, default, error and permission, over
memory, SQLite and PostgreSQL. (Exactness over generated data is the hypothesis machine's job:
tests/stateful/test_performance_machine.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from catalyst_core.metrics.registry import METRIC_NAMES
from tests.helpers import Caller, add_member, new_client, register, team
from tests.http.test_metrics import ingest, row

# The frozen clock of the HTTP tests says 2024-03-01 (tests/helpers.py START), so "the last 30
# days" (whole days, up to yesterday) are 2024-01-31 .. 2024-02-29 (2024 is a leap year).


@pytest.fixture
async def agency(api: Any, clock: FrozenClock) -> tuple[Caller, Caller, str]:
    """A client with one ad per platform on some days of January to March 2024 (2024 is a leap
    year), and another client's data that must never show."""
    alice, bob, client_id = await team(api)
    rows = [
        row("2024-01-15", "g1", platform="google", campaign_id="g-c", campaign_name="Search",
            spend="100", impressions=10_000, clicks=100, landing_page_views=80, leads=10, conversions=5,
            revenue="300"),
        row("2024-01-31", "g1", platform="google", campaign_id="g-c", campaign_name="Search",
            spend="50", impressions=5_000, clicks=50, landing_page_views=40, leads=5, conversions=0,
            revenue="0"),
        row("2024-02-05", "f1", spend="20.25", impressions=2_000, clicks=0, landing_page_views=0,
            leads=0, conversions=0, revenue=0),
        row("2024-02-29", "f2", campaign_id="c-2", campaign_name="Leap", spend="10", impressions=1_000,
            clicks=10, landing_page_views=5, leads=1, conversions=1, revenue="15.5"),
        row("2024-03-01", "t1", platform="tiktok", campaign_id="t-c", spend="5", impressions=500,
            clicks=5, landing_page_views=5, leads=0, conversions=0, revenue=0),
    ]
    status, body = await ingest(bob, client_id, rows)
    assert status == 200, body
    other = await new_client(alice, "Elsewhere")
    assert (await ingest(alice, other, [row("2024-02-10", "x", spend=1_000_000)]))[0] == 200
    return alice, bob, client_id


async def growth(who: Caller, query: str) -> dict[str, Any]:
    status, body = await who.get(f"/reports/growth?{query}")
    assert status == 200, body
    return body["data"]


async def performance(who: Caller, query: str) -> dict[str, Any]:
    status, body = await who.get(f"/reports/performance?{query}")
    assert status == 200, body
    return body["data"]


# -- growth -------------------------------------------------------------------------------------------

async def test_growth_defaults_to_the_last_30_days_daily(agency: Any) -> None:
    _, bob, client_id = agency
    report = await growth(bob, f"client_id={client_id}")
    assert (report["start_date"], report["end_date"], report["period"]) == ("2024-01-31", "2024-02-29",
                                                                            "daily")
    assert len(report["buckets"]) == 30
    assert report["metrics"] == list(METRIC_NAMES)
    first, second, last = report["buckets"][0], report["buckets"][1], report["buckets"][-1]
    assert (first["start_date"], first["end_date"], first["spend"]) == ("2024-01-31", "2024-01-31", 50)
    assert all(v is None for v in first["change"].values())
    assert set(first) == {"start_date", "end_date", "change", *METRIC_NAMES}
    assert set(first["change"]) == set(METRIC_NAMES)
    assert (second["start_date"], second["spend"], second["change"]["spend"]) == ("2024-02-01", 0,
                                                                                 -100.0)
    fifth = report["buckets"][5]
    assert (fifth["start_date"], fifth["spend"], fifth["change"]["spend"]) == ("2024-02-05", 20.25, None)
    assert (last["start_date"], last["spend"], last["change"]["spend"]) == ("2024-02-29", 10, None)


async def test_growth_weekly_buckets_are_iso_weeks_clipped_to_the_range(agency: Any) -> None:
    _, bob, client_id = agency
    report = await growth(bob, f"client_id={client_id}&start_date=2024-01-31&end_date=2024-02-14"
                               "&period=weekly")
    spans = [(b["start_date"], b["end_date"]) for b in report["buckets"]]
    # 2024-01-31 is a Wednesday: its week is clipped; weeks start on Monday
    assert spans == [("2024-01-31", "2024-02-04"), ("2024-02-05", "2024-02-11"),
                     ("2024-02-12", "2024-02-14")]
    assert [b["spend"] for b in report["buckets"]] == [50, 20.25, 0]
    assert report["buckets"][1]["change"]["spend"] == pytest.approx(-59.5)
    assert report["buckets"][2]["change"]["spend"] == -100.0


async def test_growth_monthly_with_ratios_from_totals_and_the_preceding_range(agency: Any) -> None:
    _, bob, client_id = agency
    report = await growth(bob, f"client_id={client_id}&start_date=2024-02-01&end_date=2024-03-31"
                               "&period=monthly")
    february, march = report["buckets"]
    assert (february["start_date"], february["end_date"]) == ("2024-02-01", "2024-02-29")
    assert (march["start_date"], march["end_date"]) == ("2024-03-01", "2024-03-31")
    assert february["spend"] == 30.25 and february["impressions"] == 3_000
    # CTR of the month is total clicks over total impressions (10 / 3000), not a mean of days
    assert february["ctr"] == 10 / 3_000
    assert february["cplpv"] == 30.25 / 5 and february["roas"] == 15.5 / 30.25
    assert march["cpl"] is None and march["conversion_rate"] == 0.0
    summary = report["summary"]
    assert (summary["current"]["start_date"], summary["current"]["end_date"]) == ("2024-02-01",
                                                                                  "2024-03-31")
    # the 60 days before: 2023-12-03 .. 2024-01-31
    assert (summary["previous"]["start_date"], summary["previous"]["end_date"]) == ("2023-12-03",
                                                                                    "2024-01-31")
    assert summary["previous"]["spend"] == 150 and summary["current"]["spend"] == 35.25
    assert summary["change"]["spend"] == pytest.approx((35.25 - 150) / 150 * 100)
    assert summary["change"]["conversions"] == pytest.approx((1 - 5) / 5 * 100)


async def test_growth_over_a_range_without_data_is_zeros(agency: Any) -> None:
    _, bob, client_id = agency
    report = await growth(bob, f"client_id={client_id}&start_date=2020-01-01&end_date=2020-01-02")
    assert [b["spend"] for b in report["buckets"]] == [0, 0]
    assert report["buckets"][0]["ctr"] is None
    assert report["summary"]["change"]["spend"] is None


@pytest.mark.parametrize("query, field", [
    ("", "client_id"), ("client_id=nope", "client_id"),
    ("start_date=2024-02-10&end_date=2024-02-01", "end_date"),
    ("start_date=2020-01-01&end_date=2023-01-01", "end_date"),
    ("period=yearly", "period"), ("start_date=2024-13-01", "start_date"),
    ("end_date=1900-01-01", "end_date"),
])
async def test_growth_errors(agency: Any, query: str, field: str) -> None:
    _, bob, client_id = agency
    if field != "client_id":
        query = f"client_id={client_id}&{query}"
    status, body = await bob.get(f"/reports/growth?{query}")
    assert status == 422, body
    assert field in {issue["field"] for issue in body["detail"]}


async def test_three_years_is_the_longest_range(agency: Any) -> None:
    _, bob, client_id = agency
    report = await growth(bob, f"client_id={client_id}&start_date=2021-03-02&end_date=2024-03-01"
                               "&period=monthly")
    assert len(report["buckets"]) == 37


# -- performance ----------------------------------------------------------------------------------------

async def test_performance_totals_and_breakdowns_ordered_by_spend(agency: Any) -> None:
    _, bob, client_id = agency
    report = await performance(bob, f"client_id={client_id}&start_date=2024-01-01&end_date=2024-03-31")
    assert report["filters"] == {"platform": None, "campaign_id": None}
    assert report["totals"]["spend"] == 185.25 and report["totals"]["clicks"] == 165
    assert report["totals"]["ctr"] == 165 / 18_500
    assert [p["platform"] for p in report["by_platform"]] == ["google", "facebook", "tiktok"]
    assert [(c["campaign_id"], c["spend"]) for c in report["by_campaign"]] == [
        ("g-c", 150), ("c-1", 20.25), ("c-2", 10), ("t-c", 5)]
    assert report["by_campaign"][0]["campaign_name"] == "Search"
    ad = report["by_ad"][0]
    assert {k: ad[k] for k in ("platform", "campaign_id", "adset_id", "ad_id", "ad_name")} == {
        "platform": "google", "campaign_id": "g-c", "adset_id": "s-1", "ad_id": "g1", "ad_name": "Ad g1"}
    assert ad["spend"] == 150 and ad["cpa"] == 30.0 and ad["roas"] == 2.0
    assert report["counts"] == {"platforms": 3, "campaigns": 4, "ads": 4}
    assert set(report["totals"]) == set(METRIC_NAMES)


@pytest.mark.parametrize("query, spend, ads", [
    ("platform=facebook", 30.25, ["f1", "f2"]),
    ("platform=FaceBook", 30.25, ["f1", "f2"]),
    ("campaign_id=c-2", 10, ["f2"]),
    ("platform=google&campaign_id=c-2", 0, []),
    ("start_date=2024-02-01&end_date=2024-02-29", 30.25, ["f1", "f2"]),
    ("start_date=2024-01-31&end_date=2024-01-31", 50, ["g1"]),
    ("start_date=2024-01-20&end_date=2024-03-01", 85.25, ["g1", "f1", "f2", "t1"]),
    ("campaign_id=&platform=%20", 185.25, ["g1", "f1", "f2", "t1"]),  # empty filters filter nothing
])
async def test_performance_filters(agency: Any, query: str, spend: float, ads: list[str]) -> None:
    _, bob, client_id = agency
    if "start_date" not in query:
        query += "&start_date=2024-01-01&end_date=2024-03-31"
    report = await performance(bob, f"client_id={client_id}&{query}")
    assert report["totals"]["spend"] == spend
    assert [a["ad_id"] for a in report["by_ad"]] == ads


async def test_performance_defaults_and_limit(agency: Any) -> None:
    _, bob, client_id = agency
    report = await performance(bob, f"client_id={client_id}")
    assert (report["start_date"], report["end_date"]) == ("2024-01-31", "2024-02-29")
    assert report["totals"]["spend"] == 80.25
    limited = await performance(bob, f"client_id={client_id}&limit=1")
    assert [len(limited[k]) for k in ("by_platform", "by_campaign", "by_ad")] == [1, 1, 1]
    assert limited["counts"] == {"platforms": 2, "campaigns": 3, "ads": 3}
    assert limited["totals"] == report["totals"]


@pytest.mark.parametrize("query, field", [
    ("", "client_id"), ("start_date=2024-03-01&end_date=2024-02-01", "end_date"),
    ("limit=0", "limit"), ("limit=5001", "limit"), ("limit=ten", "limit"),
    ("platform=a%00b", "platform"), ("end_date=2024-02-30", "end_date"),
])
async def test_performance_errors(agency: Any, query: str, field: str) -> None:
    _, bob, client_id = agency
    if field != "client_id":
        query = f"client_id={client_id}&{query}"
    status, body = await bob.get(f"/reports/performance?{query}")
    assert status == 422, body
    assert field in {issue["field"] for issue in body["detail"]}


@pytest.mark.parametrize("report", ["growth", "performance"])
async def test_viewers_read_reports_and_outsiders_get_404(agency: Any, api: Any, report: str) -> None:
    alice, _, client_id = agency
    viewer, outsider = await register(api, "Vera"), await register(api, "Otto")
    await add_member(alice, client_id, viewer, role="viewer")
    status, body = await viewer.get(f"/reports/{report}?client_id={client_id}")
    assert status == 200, body
    status, body = await outsider.get(f"/reports/{report}?client_id={client_id}")
    assert status == 404, body
    status, body = await viewer.get(f"/reports/{report}?client_id=00000000-0000-0000-0000-000000000001")
    assert status == 404, body


# -- the answers match the contract -------------------------------------------------------------------

def _schema_errors(name: str, data: Any) -> list[str]:
    from jsonschema import Draft202012Validator, FormatChecker

    from catalyst_api.app import openapi_document

    components = openapi_document()["components"]
    root = {"components": components, "$ref": f"#/components/schemas/{name}"}
    return [e.message for e in Draft202012Validator(root, format_checker=FormatChecker())
            .iter_errors(data)]


async def test_answers_match_their_openapi_schemas(agency: Any) -> None:
    _, bob, client_id = agency
    for period in ("daily", "weekly", "monthly"):
        report = await growth(bob, f"client_id={client_id}&start_date=2024-01-01&period={period}")
        assert _schema_errors("GrowthReport", report) == []
    report = await performance(bob, f"client_id={client_id}&start_date=2024-01-01")
    assert _schema_errors("PerformanceReport", report) == []
    status, body = await bob.get(f"/clients/{client_id}/metrics")
    assert status == 200 and _schema_errors("PerformanceRowPage", body["data"]) == []
    status, body = await ingest(bob, client_id, [row("2024-03-01", "t1", platform="tiktok")])
    assert status == 200 and _schema_errors("IngestResult", body["data"]) == []
