"""Alert instances over HTTP: the list's filters, order and offset paging; one instance; resolving
and dismissing (only a triggered instance moves), with the instance's task completed or cancelled;
the task linked both ways; roles and tenants. Runs over memory, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from catalyst_core.events import AlertInstanceClosed, TaskCancelled, TaskCompleted
from tests.helpers import API, Caller, add_member, make_admin, new_client, register
from tests.http.test_alert_runs import ad_data, lpv_row, trigger
from tests.http.test_alerts import UNKNOWN, create_alert, fields_of, schema_errors
from tests.http.test_metrics import ingest


class Scene:
    admin: Caller
    member: Caller
    viewer: Caller
    outsider: Caller
    platform: Caller
    client: str
    other: str
    views: dict[str, Any]  # alert A: cost per landing-page view above 5, opening tasks
    leads: dict[str, Any]  # alert B: cost per lead above 50
    elsewhere: dict[str, Any]  # alert C, of the other client
    by_ad: dict[str, dict[str, Any]]  # A's instances by ad id
    lead: dict[str, Any]  # B's instance
    far: dict[str, Any]  # C's instance


async def listed(who: Caller, query: str = "") -> dict[str, Any]:
    status, reply = await who.get(f"/alerts/instances{query}")
    assert status == 200, reply
    assert set(reply["data"]) == {"instances", "total_items", "limit", "offset"}
    return reply["data"]


def ids(page: dict[str, Any]) -> list[str]:
    return [i["id"] for i in page["instances"]]


@pytest.fixture
async def scene(api: Any, clock: FrozenClock) -> Scene:
    """A's two instances at 09:00 (by the member), B's at 10:00 (by the admin), and the other
    client's C at 11:00."""
    s = Scene()
    s.admin, s.member = await register(api, "Admin"), await register(api, "Member")
    s.viewer, s.outsider = await register(api, "Viewer"), await register(api, "Outsider")
    s.platform = await make_admin(api)
    s.client, s.other = await new_client(s.admin), await new_client(s.admin, "Other")
    await add_member(s.admin, s.client, s.member)
    await add_member(s.admin, s.client, s.viewer, role="viewer")
    await new_client(s.outsider, "Outsider's")
    rows = [lpv_row("2024-02-26", "a1", "100", 10, leads=1),  # cplpv 10, cpl 100
            lpv_row("2024-02-26", "a2", "80", 10, leads=4),  # cplpv 8, cpl 20
            lpv_row("2024-02-26", "a3", "20", 10, leads=2)]  # cplpv 2, cpl 10
    assert (await ingest(s.member, s.client, rows))[0] == 200
    assert (await ingest(s.admin, s.other, [lpv_row("2024-02-26", "z", "60", 1)]))[0] == 200
    s.views = await create_alert(s.admin, s.client, name="Views", action_config={
        "create_task": True, "assignees": [s.member.id], "priority": "Medium"})
    s.leads = await create_alert(s.admin, s.client, name="Leads", alert_type="cpl",
                                 condition_config={"operator": "greater_than", "value": 50})
    s.elsewhere = await create_alert(s.admin, s.other, name="Far")
    assert (await trigger(s.member, s.views["alert_id"]))["instances_created"] == 2
    clock.advance(hours=1)
    assert (await trigger(s.admin, s.leads["alert_id"]))["instances_created"] == 1
    clock.advance(hours=1)
    assert (await trigger(s.admin, s.elsewhere["alert_id"]))["instances_created"] == 1
    page = await listed(s.admin)
    assert page["total_items"] == 4
    by_alert = {i["alert_id"]: i for i in page["instances"]}
    s.far, s.lead = by_alert[s.elsewhere["alert_id"]], by_alert[s.leads["alert_id"]]
    s.by_ad = {i["alert_data"]["ad_id"]: i for i in page["instances"]
               if i["alert_id"] == s.views["alert_id"]}
    api.notifier.clear()
    return s


# -- the list ----------------------------------------------------------------------------------------

async def test_the_list_is_newest_first_with_every_filter(scene: Scene) -> None:
    s = scene
    everything = await listed(s.admin)
    a_ids = sorted((s.by_ad["a1"]["id"], s.by_ad["a2"]["id"]), reverse=True)  # a tie: by id, descending
    assert ids(everything) == [s.far["id"], s.lead["id"], *a_ids]
    assert (everything["total_items"], everything["limit"], everything["offset"]) == (4, 50, 0)
    assert schema_errors("AlertInstancePage", everything) == []
    assert s.lead["alert_data"] == {
        "level": "ad", "platform": "facebook", "campaign_id": "c-1", "campaign_name": "Spring",
        "adset_id": "s-1", "adset_name": "Women 25-34", "ad_id": "a1", "ad_name": "Ad a1",
        "cpl": 100.0, "spend": 100, "account_average": 200 / 7, "threshold": 50,
        "window_start": "2024-02-23", "window_end": "2024-02-29"}
    assert (s.lead["triggered_at"], s.lead["alert_name"], s.lead["task_id"]) == (
        "2024-03-01T10:00:00Z", "Leads", None)
    assert s.by_ad["a2"]["alert_data"] == ad_data("a2", 8.0, 80, 200 / 30, 5)
    assert ids(await listed(s.admin, f"?client_id={s.client}")) == [s.lead["id"], *a_ids]
    assert ids(await listed(s.admin, f"?client_id={s.other}")) == [s.far["id"]]
    assert ids(await listed(s.member, f"?alert_id={s.views['alert_id']}")) == a_ids
    assert ids(await listed(s.member, "?status=triggered")) == [s.lead["id"], *a_ids]
    assert ids(await listed(s.member, "?status=resolved")) == []
    # filters combine with AND
    assert ids(await listed(s.admin, f"?client_id={s.other}&alert_id={s.views['alert_id']}")) == []
    assert ids(await listed(s.admin, f"?client_id={s.client}&alert_id={s.leads['alert_id']}"
                                     "&status=triggered")) == [s.lead["id"]]
    # one instance
    status, reply = await s.viewer.get(f"/alerts/instances/{s.lead['id']}")
    assert status == 200 and reply == {"status_code": 200, "message": "Success", "data": s.lead}


async def test_offset_paging_and_its_bounds(scene: Scene) -> None:
    s = scene
    everything = ids(await listed(s.admin))
    first = await listed(s.admin, "?limit=2")
    assert (ids(first), first["total_items"], first["limit"], first["offset"]) == (everything[:2], 4, 2, 0)
    second = await listed(s.admin, "?limit=2&offset=2")
    assert (ids(second), second["total_items"], second["offset"]) == (everything[2:], 4, 2)
    assert ids(await listed(s.admin, "?limit=1&offset=3")) == everything[3:]
    past = await listed(s.admin, "?offset=4")
    assert (past["instances"], past["total_items"]) == ([], 4)
    assert (await listed(s.admin, "?offset=9007199254740992"))["instances"] == []
    assert ids(await listed(s.admin, "?limit=1000")) == everything
    assert (await listed(s.admin, "?limit=1"))["limit"] == 1
    bad = {"limit=0": {"limit"}, "limit=1001": {"limit"}, "limit=-1": {"limit"}, "limit=ten": {"limit"},
           "offset=-1": {"offset"}, "offset=x": {"offset"}, "limit=0&offset=-1": {"limit", "offset"},
           "status=open": {"status"}, "alert_id=nope": {"alert_id"}, "client_id=nope": {"client_id"},
           "client_id=nope&alert_id=nope&status=open": {"client_id", "alert_id", "status"},
           "status=open&limit=0&offset=-1": {"status", "limit", "offset"}}
    for query, expected in bad.items():
        status, reply = await s.admin.get(f"/alerts/instances?{query}")
        assert status == 422 and set(fields_of(reply)) == expected, (query, reply)


async def test_instances_of_other_clients_do_not_exist(api: Any, scene: Scene) -> None:
    s = scene
    assert (await listed(s.outsider))["total_items"] == 0
    assert (await s.outsider.get(f"/alerts/instances?client_id={s.client}"))[0] == 404
    assert (await s.outsider.get(f"/alerts/instances?alert_id={s.views['alert_id']}"))[0] == 404
    assert (await s.member.get(f"/alerts/instances?client_id={s.other}"))[0] == 404
    assert (await s.member.get(f"/alerts/instances?alert_id={s.elsewhere['alert_id']}"))[0] == 404
    assert (await s.member.get(f"/alerts/instances?alert_id={UNKNOWN}"))[0] == 404
    assert (await s.member.get(f"/alerts/instances?client_id={UNKNOWN}"))[0] == 404
    # the member and the viewer see their client's instances only
    for who in (s.member, s.viewer):
        page = await listed(who)
        assert (page["total_items"], {i["client_id"] for i in page["instances"]}) == (3, {s.client})
    # a platform admin sees every client's
    assert ids(await listed(s.platform)) == ids(await listed(s.admin))
    instance = s.by_ad["a1"]
    assert (await s.outsider.get(f"/alerts/instances/{instance['id']}"))[0] == 404
    assert (await s.outsider.put(f"/alerts/instances/{instance['id']}/resolve"))[0] == 404
    assert (await s.outsider.put(f"/alerts/instances/{instance['id']}/dismiss"))[0] == 404
    assert (await s.member.get(f"/alerts/instances/{s.far['id']}"))[0] == 404
    for action in ("", "/resolve", "/dismiss"):
        method = "get" if not action else "put"
        assert (await getattr(s.admin, method)(f"/alerts/instances/{UNKNOWN}{action}"))[0] == 404
        status, reply = await getattr(s.admin, method)(f"/alerts/instances/not-a-uuid{action}")
        assert status == 422 and set(fields_of(reply)) == {"instance_id"}
        response = await api.request(method.upper(), f"{API}/alerts/instances/{instance['id']}{action}")
        assert response.status == 401
    assert (await api.get(f"{API}/alerts/instances")).status == 401
    # the viewer reads but may not decide
    assert (await s.viewer.get(f"/alerts/instances/{instance['id']}"))[1]["data"] == instance
    for action in ("resolve", "dismiss"):
        status, reply = await s.viewer.put(f"/alerts/instances/{instance['id']}/{action}")
        assert status == 403 and reply["status_code"] == 403 and "data" not in reply
    assert (await s.admin.get(f"/alerts/instances/{instance['id']}"))[1]["data"] == instance
    assert api.notifier.events == []


# -- resolving and dismissing --------------------------------------------------------------------------

async def test_the_task_is_linked_both_ways(scene: Scene) -> None:
    s = scene
    for ad, instance in s.by_ad.items():
        status, reply = await s.viewer.get(f"/tasks/{instance['task_id']}")
        assert status == 200, reply
        task, data = reply["data"], instance["alert_data"]
        assert (task["related_object_type"], task["related_object_id"]) == ("alert_instance",
                                                                            instance["id"])
        assert task == {
            **task, "client_id": s.client, "name": f"Views: Ad {ad}", "task_type": "review_report",
            "status": "pending", "priority": "Medium", "created_by": s.member.id,
            "assignees": [s.member.id], "due_date": None, "completed_by": None,
            "created_at": "2024-03-01T09:00:00Z",
            "description": f"cplpv was {data['cplpv']} over 2024-02-23 to 2024-02-29 (threshold "
                           f"{data['threshold']}, account average {data['account_average']})."}
    status, reply = await s.member.get(f"/tasks?client_id={s.client}")
    assert status == 200 and reply["data"]["total_items"] == 2


async def test_resolving_completes_the_task_and_happens_once(api: Any, scene: Scene,
                                                              clock: FrozenClock) -> None:
    s = scene
    instance = s.by_ad["a1"]
    clock.advance(minutes=5)
    status, reply = await s.member.put(f"/alerts/instances/{instance['id']}/resolve",
                                       json={"resolution_notes": "  Paused the ad.  "})
    assert status == 200, reply
    assert (reply["status_code"], reply["message"]) == (200, "Alert instance resolved")
    resolved = {**instance, "status": "resolved", "resolved_by": s.member.id,
                "resolved_at": "2024-03-01T11:05:00Z", "resolution_notes": "Paused the ad."}
    assert reply["data"] == resolved
    assert (await s.viewer.get(f"/alerts/instances/{instance['id']}"))[1]["data"] == resolved
    task = (await s.member.get(f"/tasks/{instance['task_id']}"))[1]["data"]
    assert (task["status"], task["completed_by"], task["completed_at"]) == (
        "completed", s.member.id, "2024-03-01T11:05:00Z")
    [closed] = api.notifier.of_type(AlertInstanceClosed)
    assert (str(closed.instance_id), closed.status, str(closed.by)) == (instance["id"], "resolved",
                                                                       s.member.id)
    assert [str(e.task_id) for e in api.notifier.of_type(TaskCompleted)] == [instance["task_id"]]
    # only a triggered instance moves
    api.notifier.clear()
    for action, body in (("resolve", {"resolution_notes": "again"}), ("dismiss", None)):
        status, reply = await s.admin.put(f"/alerts/instances/{instance['id']}/{action}", json=body)
        assert status == 409 and reply["status_code"] == 409 and "data" not in reply, reply
    assert (await s.admin.get(f"/alerts/instances/{instance['id']}"))[1]["data"] == resolved
    assert api.notifier.events == []
    assert ids(await listed(s.member, "?status=resolved")) == [instance["id"]]
    assert s.by_ad["a2"]["id"] in ids(await listed(s.member, "?status=triggered"))
    # the entity still breaks the condition: the next run opens a new instance (and task) for it,
    # and updates the one still triggered
    result = await trigger(s.member, s.views["alert_id"])
    assert (result["instances_created"], result["instances_updated"]) == (1, 1)
    fresh = [i for i in (await listed(s.member, "?status=triggered"))["instances"]
             if i["alert_data"]["ad_id"] == "a1" and i["alert_id"] == s.views["alert_id"]]
    assert len(fresh) == 1 and fresh[0]["id"] != instance["id"] and fresh[0]["trigger_count"] == 1
    assert fresh[0]["task_id"] not in (None, instance["task_id"])


async def test_dismissing_cancels_the_task(api: Any, scene: Scene, clock: FrozenClock) -> None:
    s = scene
    instance = s.by_ad["a2"]
    status, reply = await s.admin.put(f"/alerts/instances/{instance['id']}/dismiss")
    assert status == 200, reply
    assert (reply["status_code"], reply["message"]) == (200, "Alert instance dismissed")
    assert reply["data"] == {**instance, "status": "dismissed", "resolved_by": s.admin.id,
                             "resolved_at": "2024-03-01T11:00:00Z", "resolution_notes": None}
    task = (await s.member.get(f"/tasks/{instance['task_id']}"))[1]["data"]
    assert (task["status"], task["completed_by"]) == ("cancelled", s.admin.id)
    assert [e.status for e in api.notifier.of_type(AlertInstanceClosed)] == ["dismissed"]
    assert [str(e.task_id) for e in api.notifier.of_type(TaskCancelled)] == [instance["task_id"]]
    assert (await s.member.put(f"/alerts/instances/{instance['id']}/dismiss"))[0] == 409
    assert (await s.member.put(f"/alerts/instances/{instance['id']}/resolve"))[0] == 409
    assert ids(await listed(s.viewer, "?status=dismissed")) == [instance["id"]]
    # an instance without a task, resolved without notes; the platform admin may decide too
    status, reply = await s.platform.put(f"/alerts/instances/{s.lead['id']}/resolve")
    assert status == 200, reply
    assert (reply["data"]["status"], reply["data"]["resolution_notes"], reply["data"]["resolved_by"]) == (
        "resolved", None, s.platform.id)


async def test_a_task_closed_already_stays_as_it_is(api: Any, scene: Scene) -> None:
    s = scene
    instance = s.by_ad["a1"]
    status, reply = await s.member.post(f"/tasks/{instance['task_id']}/cancel")
    assert status == 200, reply
    api.notifier.clear()
    status, reply = await s.member.put(f"/alerts/instances/{instance['id']}/resolve", json={})
    assert status == 200 and reply["data"]["status"] == "resolved"
    task = (await s.member.get(f"/tasks/{instance['task_id']}"))[1]["data"]
    assert task["status"] == "cancelled"
    assert api.notifier.of_type(TaskCompleted) == [] and len(api.notifier.events) == 1


async def test_bad_resolution_notes_are_422_and_change_nothing(scene: Scene) -> None:
    s = scene
    path = f"/alerts/instances/{s.lead['id']}/resolve"
    cases = [({"resolution_notes": 5}, {"resolution_notes"}),
             ({"resolution_notes": "x" * 10_001}, {"resolution_notes"}),
             ({"resolution_notes": "nul\x00"}, {"resolution_notes"}),
             ({"notes": "done"}, {"notes"})]
    for body, expected in cases:
        status, reply = await s.member.put(path, json=body)
        assert status == 422 and set(fields_of(reply)) == expected, (body, reply)
    response = await s.member.client.put(f"{API}{path}", data=b"{oops",
                                         headers={**s.member.headers, "Content-Type": "application/json"})
    assert response.status == 400
    assert (await s.member.get(f"/alerts/instances/{s.lead['id']}"))[1]["data"] == s.lead
    # exactly the limit is fine; whitespace-only notes are none
    status, reply = await s.member.put(path, json={"resolution_notes": "x" * 10_000})
    assert status == 200 and len(reply["data"]["resolution_notes"]) == 10_000
    status, reply = await s.member.put(f"/alerts/instances/{s.by_ad['a1']['id']}/resolve",
                                       json={"resolution_notes": "   "})
    assert status == 200 and reply["data"]["resolution_notes"] is None


async def test_deleting_the_alert_deletes_its_instances_but_not_their_tasks(scene: Scene) -> None:
    s = scene
    assert (await s.admin.delete(f"/alerts/{s.views['alert_id']}"))[0] == 200
    for instance in s.by_ad.values():
        assert (await s.member.get(f"/alerts/instances/{instance['id']}"))[0] == 404
        status, reply = await s.member.get(f"/tasks/{instance['task_id']}")
        assert status == 200 and reply["data"]["related_object_id"] == instance["id"]
    assert ids(await listed(s.member)) == [s.lead["id"]]
    assert (await s.member.get(f"/alerts/instances?alert_id={s.views['alert_id']}"))[0] == 404


async def test_tasks_go_to_assignees_still_in_the_client(api: Any, clock: FrozenClock) -> None:
    admin, member, leaver = (await register(api, "Admin"), await register(api, "Member"),
                             await register(api, "Leaver"))
    client_id = await new_client(admin)
    await add_member(admin, client_id, member)
    await add_member(admin, client_id, leaver)
    assert (await ingest(member, client_id, [lpv_row("2024-02-26", "a", 100, 1)]))[0] == 200
    alert = await create_alert(admin, client_id, action_config={
        "create_task": True, "assignees": [leaver.id, member.id], "task_type": "other",
        "priority": "Low"})
    assert alert["action_config"]["assignees"] == [leaver.id, member.id]
    status, reply = await admin.delete(f"/clients/{client_id}/members/{leaver.id}")
    assert status == 200, reply
    assert (await trigger(admin, alert["alert_id"]))["instances_created"] == 1
    [instance] = (await listed(admin))["instances"]
    task = (await admin.get(f"/tasks/{instance['task_id']}"))[1]["data"]
    assert (task["assignees"], task["task_type"], task["priority"], task["created_by"]) == (
        [member.id], "other", "Low", admin.id)
