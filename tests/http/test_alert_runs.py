"""Running alerts over HTTP: POST /alerts/{id}/trigger records instances from ingested performance
data (a second run updates them), POST /alerts/{id}/test evaluates and stores nothing; the window
(whole days before today in the alert's time zone), min_spend, the account average, each data
level; roles and tenants. Expected values are worked out here from the rows each test ingests.
Runs over memory, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from catalyst_adapters.clock import FrozenClock
from catalyst_core.events import AlertFired
from tests.helpers import API, Caller, add_member, make_admin, new_client, register, team
from tests.http.test_alerts import UNKNOWN, alert_body, create_alert, fields_of, schema_errors
from tests.http.test_metrics import ingest, row

# The frozen clock says 2024-03-01 09:00 UTC: a 7-day window in UTC is 2024-02-23 .. 2024-02-29.
WINDOW = {"window_start": "2024-02-23", "window_end": "2024-02-29"}


def lpv_row(day: str, ad: str, spend: str | int, views: int, **fields: Any) -> dict[str, Any]:
    """A row whose cost per landing-page view is spend / views."""
    return row(day, ad, spend=spend, landing_page_views=views, **fields)


def ad_data(ad: str, cplpv: float | None, spend: float, average: float | None, threshold: float,
            window: dict[str, str] = WINDOW, **ids: Any) -> dict[str, Any]:
    """The alert_data of one ad of test_metrics.row()'s campaign and ad set."""
    return {"level": "ad", "platform": "facebook", "campaign_id": "c-1", "campaign_name": "Spring",
            "adset_id": "s-1", "adset_name": "Women 25-34", "ad_id": ad, "ad_name": f"Ad {ad}",
            **ids, "cplpv": cplpv, "spend": spend, "account_average": average, "threshold": threshold,
            **window}


async def trigger(who: Caller, alert_id: str, query: str = "") -> dict[str, Any]:
    status, reply = await who.post(f"/alerts/{alert_id}/trigger{query}")
    assert status == 200, reply
    assert (reply["status_code"], reply["message"]) == (200, "Alert triggered successfully")
    assert reply["data"]["message"] == "Alert triggered successfully"
    return reply["data"]


async def evaluate(who: Caller, alert_id: str, query: str = "") -> dict[str, Any]:
    status, reply = await who.post(f"/alerts/{alert_id}/test{query}")
    assert status == 200, reply
    assert set(reply["data"]) == {"alert_name", "would_fire", "instances"}
    assert schema_errors("AlertTestResult", reply["data"]) == []
    return reply["data"]


async def instances_of(who: Caller, alert_id: str) -> list[dict[str, Any]]:
    status, reply = await who.get(f"/alerts/instances?alert_id={alert_id}")
    assert status == 200, reply
    return reply["data"]["instances"]


async def test_trigger_records_what_the_data_breaks_and_a_second_run_updates_it(
        api: Any, clock: FrozenClock) -> None:
    alice, bob, client_id = await team(api)
    rows = [lpv_row("2024-02-25", "a1", "100", 10), lpv_row("2024-02-26", "a1", "20", 10),  # 120/20
            lpv_row("2024-02-25", "a2", "30", 10),  # 3: under the threshold
            lpv_row("2024-03-01", "a3", 1000, 1),  # today: still arriving, left out
            lpv_row("2024-02-22", "a3", 500, 1)]  # before the window
    assert (await ingest(bob, client_id, rows))[0] == 200
    other = await new_client(alice, "Elsewhere")  # another client's data never counts
    assert (await ingest(alice, other, [lpv_row("2024-02-25", "a1", 9999, 1)]))[0] == 200
    alert = await create_alert(alice, client_id)
    api.notifier.clear()

    result = await trigger(bob, alert["alert_id"], f"?client_id={client_id}")
    assert result == {"alert_name": "Expensive views", "instances_created": 1, "instances_updated": 0,
                      "instances_skipped": 0, "message": "Alert triggered successfully"}
    assert schema_errors("AlertTriggerResult", result) == []
    [instance] = await instances_of(bob, alert["alert_id"])
    # the account average is total spend over total views of the window: 150 / 30
    assert instance == {
        "id": instance["id"], "alert_id": alert["alert_id"], "alert_name": "Expensive views",
        "client_id": client_id, "triggered_at": "2024-03-01T09:00:00Z",
        "last_seen_at": "2024-03-01T09:00:00Z", "trigger_count": 1,
        "alert_data": ad_data("a1", 120 / 20, 120, 150 / 30, 5), "status": "triggered",
        "task_id": None, "resolved_at": None, "resolved_by": None, "resolution_notes": None}
    assert schema_errors("AlertInstance", instance) == []
    [fired] = api.notifier.of_type(AlertFired)
    assert (str(fired.alert_id), fired.opened, fired.updated) == (alert["alert_id"], (fired.opened[0],), ())
    assert str(fired.opened[0]) == instance["id"] and str(fired.by) == bob.id

    # two hours later, with a correction for a1: the same instance is seen again
    clock.advance(hours=2)
    assert (await ingest(bob, client_id, [lpv_row("2024-02-27", "a1", "30", 0)]))[0] == 200
    api.notifier.clear()
    result = await trigger(alice, alert["alert_id"])
    assert (result["instances_created"], result["instances_updated"]) == (0, 1)
    [again] = await instances_of(bob, alert["alert_id"])
    assert again == {**instance, "trigger_count": 2, "last_seen_at": "2024-03-01T11:00:00Z",
                     "alert_data": ad_data("a1", 150 / 20, 150, 180 / 30, 5)}
    [fired] = api.notifier.of_type(AlertFired)
    assert (fired.opened, [str(i) for i in fired.updated]) == ((), [instance["id"]])
    # a manual run leaves the schedule alone
    status, reply = await bob.get(f"/alerts/{alert['alert_id']}")
    assert status == 200
    assert (reply["data"]["next_run_at"], reply["data"]["last_run_at"]) == (alert["next_run_at"], None)


async def test_test_evaluates_now_and_stores_and_notifies_nothing(api: Any, clock: FrozenClock) -> None:
    alice, bob, client_id = await team(api)
    rows = [lpv_row("2024-02-24", "x", "80", 10), lpv_row("2024-02-24", "y", "12.5", 2),
            lpv_row("2024-02-24", "z", "1", 10)]
    assert (await ingest(bob, client_id, rows))[0] == 200
    alert = await create_alert(alice, client_id, action_config={"create_task": True,
                                                                "assignees": [bob.id]})
    api.notifier.clear()
    result = await evaluate(bob, alert["alert_id"], f"?client_id={client_id}")
    average = 93.5 / 22
    # highest spend first
    assert result == {"alert_name": "Expensive views", "would_fire": True, "instances": [
        ad_data("x", 8.0, 80, average, 5), ad_data("y", 6.25, 12.5, average, 5)]}
    assert await instances_of(bob, alert["alert_id"]) == []
    status, reply = await bob.get(f"/tasks?client_id={client_id}")
    assert status == 200 and reply["data"]["total_items"] == 0
    assert api.notifier.events == []
    status, reply = await bob.get(f"/alerts/{alert['alert_id']}")
    assert status == 200 and reply["data"] == alert
    # nothing over the threshold
    status, reply = await alice.put(f"/alerts/{alert['alert_id']}", json={"condition_config": {"value": 8}})
    assert status == 200, reply
    assert await evaluate(alice, alert["alert_id"]) == {"alert_name": "Expensive views",
                                                        "would_fire": False, "instances": []}
    result = await trigger(bob, alert["alert_id"])
    assert (result["instances_created"], result["instances_updated"]) == (0, 0)
    assert api.notifier.events == []


async def test_the_window_is_whole_days_before_today_in_the_alerts_time_zone(
        api: Any, clock: FrozenClock) -> None:
    alice, bob, client_id = await team(api)
    rows = [lpv_row("2024-02-21", "old", 100, 1), lpv_row("2024-02-22", "early", 100, 1),
            lpv_row("2024-02-29", "late", 100, 1), lpv_row("2024-03-01", "today", 100, 1),
            lpv_row("2024-02-25", "calm", 1, 100)]
    assert (await ingest(bob, client_id, rows))[0] == 200
    utc = await create_alert(alice, client_id, name="UTC")
    # 09:00 UTC is still 2024-02-29, 23:00, in Honolulu (UTC-10)
    honolulu = await create_alert(alice, client_id, name="Honolulu",
                                  frequency={"type": "daily", "time": "05:00",
                                             "timezone": "Pacific/Honolulu"})
    result = await evaluate(bob, utc["alert_id"])
    average = 101 / 101  # late and calm in UTC, early and calm in Honolulu
    assert result["instances"] == [ad_data("late", 100.0, 100, average, 5)]
    result = await evaluate(bob, honolulu["alert_id"])
    window = {"window_start": "2024-02-22", "window_end": "2024-02-28"}
    assert result["instances"] == [ad_data("early", 100.0, 100, average, 5, window)]
    # an hour later it is 2024-03-01 in Honolulu too
    clock.advance(hours=1)
    result = await evaluate(bob, honolulu["alert_id"])
    assert [d["ad_id"] for d in result["instances"]] == ["late"]
    assert result["instances"][0]["window_start"] == "2024-02-23"
    # window_days: 1 is yesterday alone; 9 reaches back to 2024-02-21
    status, reply = await alice.put(f"/alerts/{utc['alert_id']}",
                                    json={"condition_config": {"window_days": 1}})
    assert status == 200, reply
    result = await evaluate(bob, utc["alert_id"])
    assert result["instances"] == [ad_data("late", 100.0, 100, 100.0, 5, {
        "window_start": "2024-02-29", "window_end": "2024-02-29"})]
    status, reply = await alice.put(f"/alerts/{utc['alert_id']}",
                                    json={"condition_config": {"window_days": 9}})
    assert status == 200, reply
    result = await evaluate(bob, utc["alert_id"])
    assert [d["ad_id"] for d in result["instances"]] == ["early", "late", "old"]  # same spend: by key


async def test_min_spend_leaves_out_entities_that_spent_less(api: Any, clock: FrozenClock) -> None:
    alice, bob, client_id = await team(api)
    rows = [lpv_row("2024-02-26", "m1", "49.99", 1), lpv_row("2024-02-26", "m2", "50", 1),
            lpv_row("2024-02-27", "m3", "100", 50)]
    assert (await ingest(bob, client_id, rows))[0] == 200
    alert = await create_alert(alice, client_id, condition_config={
        "field": "cplpv", "operator": "greater_than", "value": 5, "min_spend": "50"})
    result = await evaluate(bob, alert["alert_id"])
    # m1 breaks the threshold but spent under 50; the average still counts every ad
    average = 199_990_000 / 52_000_000
    assert result["instances"] == [ad_data("m2", 50.0, 50, average, 5)]
    assert (await trigger(bob, alert["alert_id"]))["instances_created"] == 1
    [instance] = await instances_of(bob, alert["alert_id"])
    assert instance["alert_data"] == ad_data("m2", 50.0, 50, average, 5)


async def test_percent_operators_compare_with_the_accounts_own_ratio(api: Any, clock: FrozenClock) -> None:
    alice, bob, client_id = await team(api)
    rows = [lpv_row("2024-02-26", "b1", "60", 10),  # 6
            lpv_row("2024-02-26", "b2", "10", 20),  # 0.5
            lpv_row("2024-02-26", "b3", "32", 10)]  # 3.2
    assert (await ingest(bob, client_id, rows))[0] == 200
    # the account's ratio is 102 / 40 = 2.55; 20 % above it is 3.06. (A mean of the ads' ratios,
    # 3.23, would put the threshold at 3.88 and leave b3 out.)
    above = await create_alert(alice, client_id, condition_config={
        "field": "cplpv", "operator": "percent_above_average", "value": 20})
    result = await evaluate(bob, above["alert_id"])
    threshold = 102 * 120 / (40 * 100)
    assert result["instances"] == [ad_data("b1", 6.0, 60, 102 / 40, threshold),
                                   ad_data("b3", 3.2, 32, 102 / 40, threshold)]
    below = await create_alert(alice, client_id, condition_config={
        "field": "cplpv", "operator": "percent_below_average", "value": 50})
    result = await evaluate(bob, below["alert_id"])
    assert result["instances"] == [ad_data("b2", 0.5, 10, 102 / 40, 102 * 50 / (40 * 100))]
    result = await trigger(bob, above["alert_id"])
    assert result["instances_created"] == 2
    stored = await instances_of(bob, above["alert_id"])
    assert sorted(i["alert_data"]["ad_id"] for i in stored) == ["b1", "b3"]
    assert all(i["alert_data"]["threshold"] == threshold for i in stored)


async def test_each_data_level_sums_its_entities(api: Any, clock: FrozenClock) -> None:
    alice, bob, client_id = await team(api)
    rows = [lpv_row("2024-02-26", "a", "30", 10), lpv_row("2024-02-27", "b", "30", 2),
            lpv_row("2024-02-26", "c", "10", 10, adset_id="s-2", adset_name="Men"),
            lpv_row("2024-02-26", "d", "5", 10, campaign_id="c-2", campaign_name="Summer",
                    adset_id="s-3", adset_name="All")]
    assert (await ingest(bob, client_id, rows))[0] == 200
    average = 75 / 32
    common = {"account_average": average, "threshold": 2, **WINDOW}
    facebook = {"platform": "facebook", "campaign_id": "c-1", "campaign_name": "Spring"}
    expected = {
        "ad": [ad_data("a", 3.0, 30, average, 2), ad_data("b", 15.0, 30, average, 2)],
        "adset": [{"level": "adset", **facebook, "adset_id": "s-1", "adset_name": "Women 25-34",
                   "cplpv": 5.0, "spend": 60, **common}],
        "campaign": [{"level": "campaign", **facebook, "cplpv": 70 / 22, "spend": 70, **common}],
        "account": [{"level": "account", "cplpv": average, "spend": 75, **common}],
    }
    for level, findings in expected.items():
        alert = await create_alert(alice, client_id, name=f"By {level}", data_level=level,
                                   condition_config={"operator": "greater_than", "value": 2})
        assert alert["data_level"] == level
        result = await evaluate(bob, alert["alert_id"])
        assert result["instances"] == findings, level
        assert (await trigger(bob, alert["alert_id"]))["instances_created"] == len(findings)
        stored = await instances_of(bob, alert["alert_id"])
        assert sorted((i["alert_data"] for i in stored), key=_key) == sorted(findings, key=_key), level


def _key(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True)


async def test_ratios_over_zero_views_fire_only_as_infinitely_high(api: Any, clock: FrozenClock) -> None:
    alice, bob, client_id = await team(api)
    assert (await ingest(bob, client_id, [lpv_row("2024-02-26", "free", "0", 0),
                                          lpv_row("2024-02-26", "blind", "10", 0)]))[0] == 200
    high = await create_alert(alice, client_id)
    result = await evaluate(bob, high["alert_id"])
    # spend with no views is infinitely expensive (null on the wire); 0 / 0 never fires
    assert result["instances"] == [ad_data("blind", None, 10, None, 5)]
    low = await create_alert(alice, client_id, condition_config={"operator": "less_than", "value": 5})
    assert (await evaluate(bob, low["alert_id"]))["would_fire"] is False


async def test_members_run_alerts_viewers_and_strangers_do_not(api: Any, clock: FrozenClock) -> None:
    admin, member = await register(api, "Admin"), await register(api, "Member")
    viewer, outsider = await register(api, "Viewer"), await register(api, "Outsider")
    platform = await make_admin(api)
    client_id = await new_client(admin)
    await add_member(admin, client_id, member)
    await add_member(admin, client_id, viewer, role="viewer")
    await new_client(outsider, "Elsewhere")
    other = await new_client(admin, "Other")
    assert (await ingest(member, client_id, [lpv_row("2024-02-26", "a", 100, 1)]))[0] == 200
    alert = await create_alert(admin, client_id)
    for action in ("trigger", "test"):
        path = f"/alerts/{alert['alert_id']}/{action}"
        status, reply = await viewer.post(path)
        assert status == 403 and reply["status_code"] == 403 and "data" not in reply
        assert (await outsider.post(path))[0] == 404
        assert (await outsider.post(f"{path}?client_id={client_id}"))[0] == 404
        assert (await admin.post(f"{path}?client_id={other}"))[0] == 404
        status, reply = await admin.post(f"{path}?client_id=nope")
        assert status == 422 and set(fields_of(reply)) == {"client_id"}
        assert (await member.post(f"/alerts/{UNKNOWN}/{action}"))[0] == 404
        status, reply = await member.post(f"/alerts/not-a-uuid/{action}")
        assert status == 422 and set(fields_of(reply)) == {"alert_id"}
        assert (await api.post(API + path)).status == 401
    assert await instances_of(admin, alert["alert_id"]) == []
    assert (await evaluate(member, alert["alert_id"]))["would_fire"] is True
    assert (await evaluate(platform, alert["alert_id"]))["would_fire"] is True
    assert (await trigger(member, alert["alert_id"]))["instances_created"] == 1
    assert (await trigger(admin, alert["alert_id"]))["instances_updated"] == 1
    assert (await trigger(platform, alert["alert_id"]))["instances_updated"] == 1
    [instance] = await instances_of(viewer, alert["alert_id"])
    assert instance["trigger_count"] == 3


async def test_a_disabled_alert_can_still_be_run_by_hand(api: Any, clock: FrozenClock) -> None:
    alice, bob, client_id = await team(api)
    assert (await ingest(bob, client_id, [lpv_row("2024-02-26", "a", 100, 1)]))[0] == 200
    alert = await create_alert(alice, client_id, is_enabled=False)
    assert (alert["is_enabled"], alert["next_run_at"]) == (False, None)
    assert (await trigger(bob, alert["alert_id"]))["instances_created"] == 1


async def test_answers_match_the_contract(api: Any, clock: FrozenClock) -> None:
    alice, bob, client_id = await team(api)
    assert (await ingest(bob, client_id, [lpv_row("2024-02-26", "a", 100, 1)]))[0] == 200
    alert = await create_alert(alice, client_id, body=alert_body(data_level="campaign"))
    assert schema_errors("Alert", alert) == []
    await trigger(bob, alert["alert_id"])
    status, reply = await bob.get("/alerts/instances")
    assert status == 200 and schema_errors("AlertInstancePage", reply["data"]) == []
