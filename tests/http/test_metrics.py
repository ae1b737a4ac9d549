"""POST and GET /clients/{client_id}/metrics: ingestion all or nothing, exact money, the row list's
filters, order and paging, roles and tenants. Runs over memory, SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest

from catalyst_core.metrics.model import MAX_ROWS_PER_BATCH
from tests.helpers import API, Caller, add_member, new_client, register, team


def row(day: str = "2024-02-01", ad: str = "ad-1", **fields: Any) -> dict[str, Any]:
    return {"date": day, "platform": "facebook", "campaign_id": "c-1", "campaign_name": "Spring",
            "adset_id": "s-1", "adset_name": "Women 25-34", "ad_id": ad, "ad_name": f"Ad {ad}",
            "spend": "10.50", "impressions": 1000, "clicks": 20, "landing_page_views": 15, "leads": 3,
            "conversions": 1, "revenue": 40, **fields}


async def ingest(who: Caller, client_id: str, rows: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    return await who.post(f"/clients/{client_id}/metrics", json={"rows": rows})


async def all_rows(who: Caller, client_id: str, query: str = "") -> list[dict[str, Any]]:
    status, body = await who.get(f"/clients/{client_id}/metrics?limit=100{query}")
    assert status == 200, body
    return body["data"]["rows"]


# -- ingestion ---------------------------------------------------------------------------------------

async def test_a_member_ingests_and_sending_a_row_again_replaces_it(api: Any) -> None:
    alice, bob, client_id = await team(api)
    status, body = await ingest(bob, client_id, [row(ad="a"), row(ad="b"), row("2024-02-02", "a")])
    assert status == 200, body
    assert body["data"] == {"inserted": 3, "updated": 0}
    status, body = await ingest(alice, client_id, [row(ad="a", spend=99, clicks=7), row("2024-02-03")])
    assert status == 200, body
    assert body["data"] == {"inserted": 1, "updated": 1}
    rows = await all_rows(bob, client_id)
    assert len(rows) == 4
    replaced = next(r for r in rows if r["date"] == "2024-02-01" and r["ad_id"] == "a")
    assert (replaced["spend"], replaced["clicks"]) == (99, 7)


async def test_money_is_exact_in_and_out(api: Any) -> None:
    _, bob, client_id = await team(api)
    amounts = {"a": ("0.1", 0.1), "b": (0.3, 0.3), "c": ("999999999.999999", 999999999.999999),
               "d": ("12.345678", 12.345678), "e": (7, 7), "f": ("0", 0)}
    status, body = await ingest(bob, client_id, [row(ad=ad, spend=sent, revenue=sent)
                                                  for ad, (sent, _) in amounts.items()])
    assert status == 200, body
    response = await bob.client.get(f"{API}/clients/{client_id}/metrics?limit=100", headers=bob.headers)
    text = await response.text()
    for ad, (_, shown) in amounts.items():
        stored = next(r for r in (await response.json())["data"]["rows"] if r["ad_id"] == ad)
        assert stored["spend"] == shown and stored["revenue"] == shown
    # digit for digit in the JSON text, never a float's rounding
    assert '"spend":999999999.999999' in text and '"spend":12.345678' in text and '"spend":0.1' in text


async def test_a_bad_batch_names_each_bad_row_and_field_and_writes_nothing(api: Any) -> None:
    _, bob, client_id = await team(api)
    bad = [row(ad="ok"), row(ad="x", spend=-1, clicks="5"), row(day="2024-02-30", platform=""),
           {**row(ad="y"), "colour": "red"}, row(ad="z", spend="1.1234567"), row(ad="ok"), "not a row",
           row(ad="n\x00ul", ad_name="fine")]
    status, body = await ingest(bob, client_id, bad)
    assert status == 422, body
    fields = {issue["field"]: issue["message"] for issue in body["detail"]}
    assert set(fields) == {"rows.1.spend", "rows.1.clicks", "rows.2.date", "rows.2.platform",
                           "rows.3.colour", "rows.4.spend", "rows.5", "rows.6", "rows.7.ad_id"}
    assert "negative" in fields["rows.1.spend"] and "integer" in fields["rows.1.clicks"]
    assert "rows.0" in fields["rows.5"]  # the same key as an earlier row
    assert "U+0000" in fields["rows.7.ad_id"]
    assert await all_rows(bob, client_id) == []


@pytest.mark.parametrize("payload, field", [
    ({}, "rows"), ({"rows": "all"}, "rows"), ({"rows": []}, "rows"), ({"rows": [], "x": 1}, "x"),
])
async def test_the_batch_itself_is_checked(api: Any, payload: dict[str, Any], field: str) -> None:
    _, bob, client_id = await team(api)
    status, body = await bob.post(f"/clients/{client_id}/metrics", json=payload)
    assert status == 422, body
    assert field in {issue["field"] for issue in body["detail"]}


async def test_a_full_batch_fits_the_endpoints_own_body_limit(api: Any) -> None:
    _, bob, client_id = await team(api)
    start = date(2024, 1, 1)
    rows = [row((start + timedelta(days=i // 1000)).isoformat(), f"ad-{i % 1000}")
            for i in range(MAX_ROWS_PER_BATCH)]
    status, body = await ingest(bob, client_id, rows)
    assert status == 200, body
    assert body["data"] == {"inserted": MAX_ROWS_PER_BATCH, "updated": 0}
    status, body = await ingest(bob, client_id, [*rows, row("2023-12-31")])
    assert status == 422 and body["detail"][0]["field"] == "rows"


async def test_other_endpoints_keep_their_smaller_body_limit(api: Any) -> None:
    alice, _, client_id = await team(api)
    status, body = await alice.post(f"/tasks?client_id={client_id}",
                                    json={"name": "x", "description": "d" * 1_100_000})
    assert status == 413, body


async def test_a_body_past_the_ingest_limit_is_413(api_factory: Any) -> None:
    small = await api_factory("memory", max_ingest_bytes=2_000)
    _, bob, client_id = await team(small)
    status, body = await ingest(bob, client_id, [row(ad=f"ad-{i}") for i in range(50)])
    assert status == 413 and body["status_code"] == 413


async def test_roles_and_tenants_on_ingestion(api: Any) -> None:
    alice, bob, client_id = await team(api)
    viewer, outsider = await register(api, "Vera"), await register(api, "Otto")
    await add_member(alice, client_id, viewer, role="viewer")
    assert (await ingest(viewer, client_id, [row()]))[0] == 403
    assert (await ingest(outsider, client_id, [row()]))[0] == 404
    assert (await ingest(bob, "00000000-0000-0000-0000-000000000009", [row()]))[0] == 404
    assert (await ingest(bob, "not-a-uuid", [row()]))[0] == 422
    assert await all_rows(alice, client_id) == []


# -- the row list -----------------------------------------------------------------------------------

@pytest.fixture
async def data(api: Any) -> tuple[Caller, Caller, str, list[dict[str, Any]]]:
    """Alice (admin) and Bob (member) of a client with 3 days x 2 platforms x 3 ads of rows; another
    client's rows beside them."""
    alice, bob, client_id = await team(api)
    rows = [row(f"2024-02-0{d}", ad, platform=platform, campaign_id=f"{platform}-c{int(ad[-1]) % 2}",
                spend=d * 10 + int(ad[-1]))
            for d, platform, ad in itertools.product((1, 2, 3), ("google", "facebook"), ("a1", "a2", "a3"))]
    assert (await ingest(bob, client_id, rows))[0] == 200
    other = await new_client(alice, "Other")
    assert (await ingest(alice, other, [row("2024-02-02", "zz")]))[0] == 200
    return alice, bob, client_id, rows


def keys(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["date"], r["platform"], r["ad_id"]) for r in rows]


async def test_the_list_is_newest_first_with_ties_by_platform_and_ad(data: Any) -> None:
    _, bob, client_id, rows = data
    expected = sorted(keys(rows), reverse=True)
    status, body = await bob.get(f"/clients/{client_id}/metrics")
    assert status == 200, body
    page = body["data"]
    assert (page["total_items"], page["total_pages"], page["current_page"]) == (18, 2, 1)
    assert keys(page["rows"]) == expected[:10]
    status, body = await bob.get(f"/clients/{client_id}/metrics?page=2&order=asc&limit=5&sort=date")
    assert keys(body["data"]["rows"]) == sorted(keys(rows))[5:10]
    status, body = await bob.get(f"/clients/{client_id}/metrics?page=9")
    assert status == 200 and body["data"]["rows"] == [] and body["data"]["total_items"] == 18
    shown = body = (await bob.get(f"/clients/{client_id}/metrics?limit=1"))[1]["data"]["rows"][0]
    assert shown == {**row("2024-02-03", "a3", platform="google", campaign_id="google-c1", spend=33),
                     "client_id": client_id}


@pytest.mark.parametrize("query, keep", [
    ("start_date=2024-02-02", lambda r: r["date"] >= "2024-02-02"),
    ("end_date=2024-02-02", lambda r: r["date"] <= "2024-02-02"),
    ("start_date=2024-02-02&end_date=2024-02-02", lambda r: r["date"] == "2024-02-02"),
    ("platform=google", lambda r: r["platform"] == "google"),
    ("platform=GOOGLE", lambda r: r["platform"] == "google"),
    ("campaign_id=facebook-c1", lambda r: r["campaign_id"] == "facebook-c1"),
    ("ad_id=a2", lambda r: r["ad_id"] == "a2"),
    ("ad_id=a2&platform=facebook&end_date=2024-02-01",
     lambda r: r["ad_id"] == "a2" and r["platform"] == "facebook" and r["date"] <= "2024-02-01"),
    ("platform=tiktok", lambda r: False),
    ("platform=&ad_id=", lambda r: True),
])
async def test_each_filter(data: Any, query: str, keep: Any) -> None:
    _, bob, client_id, rows = data
    found = await all_rows(bob, client_id, "&" + query)
    assert keys(found) == sorted(keys([r for r in rows if keep(r)]), reverse=True)


@pytest.mark.parametrize("query, field", [
    ("start_date=2024-02-30", "start_date"), ("end_date=yesterday", "end_date"),
    ("start_date=2024-02-03&end_date=2024-02-01", "end_date"), ("sort=spend", "sort"),
    ("order=up", "order"), ("page=0", "page"), ("limit=101", "limit"), ("ad_id=a%00b", "ad_id"),
])
async def test_bad_list_queries_are_422(data: Any, query: str, field: str) -> None:
    _, bob, client_id, _ = data
    status, body = await bob.get(f"/clients/{client_id}/metrics?{query}")
    assert status == 422, body
    assert field in {issue["field"] for issue in body["detail"]}


async def test_viewers_read_and_outsiders_do_not_see_the_client(data: Any, api: Any) -> None:
    alice, _, client_id, rows = data
    viewer, outsider = await register(api, "Vera"), await register(api, "Otto")
    await add_member(alice, client_id, viewer, role="viewer")
    assert len(await all_rows(viewer, client_id)) == len(rows)
    status, body = await outsider.get(f"/clients/{client_id}/metrics")
    assert status == 404, body


