"""Regression (found by schemathesis): an alert whose `min_spend` is the largest the contract
allows (10^15, 10^21 micros) is evaluated, not answered 500 because the floor overflowed a
64-bit SQL parameter."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.helpers import make_admin, new_client


async def test_the_largest_min_spend_evaluates_on_every_storage(api: TestClient) -> None:
    admin = await make_admin(api)
    client_id = await new_client(admin)
    status, body = await admin.post("/alerts", json={
        "client_id": client_id, "name": "Huge floor", "alert_type": "cpa",
        "condition_config": {"operator": "greater_than", "value": 1, "min_spend": 10**15},
    })
    assert status == 201, body
    alert_id = body["data"]["alert_id"]
    rows = [{"date": "2024-02-28", "platform": "facebook", "campaign_id": "c", "adset_id": "s",
             "ad_id": "a", "spend": 10**9, "conversions": 1}]
    status, body = await admin.post(f"/clients/{client_id}/metrics", json={"rows": rows})
    assert status == 200, body

    status, body = await admin.post(f"/alerts/{alert_id}/test")
    assert status == 200, body
    assert body["data"]["would_fire"] is False  # nothing spent anywhere near the floor
    status, body = await admin.post(f"/alerts/{alert_id}/trigger")
    assert status == 200, body
    assert body["data"]["instances_created"] == 0
