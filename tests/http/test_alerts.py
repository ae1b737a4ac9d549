"""Alert configuration over HTTP: the default alerts of a new client, create, read, list, partial
update, schedule, delete, validation naming every bad field, roles and tenants. Runs over memory,
SQLite and PostgreSQL. (Runs are in test_alert_runs.py, instances in test_alert_instances.py.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from tests.helpers import API, Caller, cast, new_client, register, team

# The frozen clock says 2024-03-01 09:00 UTC (a Friday; tests/helpers.py START).
NOW = "2024-03-01T09:00:00Z"
UNKNOWN = "00000000-0000-4000-8000-000000000001"


def alert_body(**changes: Any) -> dict[str, Any]:
    """A valid configuration: cost per landing-page view above 5, daily at 05:00 UTC."""
    return {"name": "Expensive views", "alert_type": "cplpv",
            "condition_config": {"field": "cplpv", "operator": "greater_than", "value": 5},
            "frequency": {"type": "daily", "time": "05:00", "timezone": "UTC"}, **changes}


async def create_alert(who: Caller, client_id: str, body: dict[str, Any] | None = None,
                       **changes: Any) -> dict[str, Any]:
    status, reply = await who.post(f"/alerts?client_id={client_id}",
                                   json=alert_body(**changes) if body is None else body)
    assert status == 201, reply
    assert (reply["status_code"], reply["message"]) == (201, "Alert created")
    return reply["data"]


async def alerts_of(who: Caller, client_id: str | None = None) -> list[dict[str, Any]]:
    status, reply = await who.get("/alerts" + (f"?client_id={client_id}" if client_id else ""))
    assert status == 200, reply
    assert set(reply["data"]) == {"settings"}
    return reply["data"]["settings"]


def fields_of(reply: dict[str, Any]) -> dict[str, str]:
    """The 422 answer's issues by field."""
    assert reply["status_code"] == 422 and "data" not in reply, reply
    return {issue["field"]: issue["message"] for issue in reply["detail"]}


def schema_errors(name: str, data: Any) -> list[str]:
    """What in `data` breaks the contract's schema `name`."""
    from jsonschema import Draft202012Validator, FormatChecker

    from catalyst_api.app import openapi_document

    root = {"components": openapi_document()["components"], "$ref": f"#/components/schemas/{name}"}
    return [e.message for e in Draft202012Validator(root, format_checker=FormatChecker())
            .iter_errors(data)]


# -- default alerts ---------------------------------------------------------------------------------

async def test_every_new_client_starts_with_the_three_default_alerts(api: Any, clock: FrozenClock
                                                                     ) -> None:
    alice = await register(api, "Alice")
    client_id = await new_client(alice)
    defaults = await alerts_of(alice, client_id)
    # (created in the same instant, they are listed in id order)
    assert sorted(a["name"] for a in defaults) == ["High CPL", "High CPLPV", "Low CTR"]
    expected = {"High CPLPV": ("cplpv", "greater_than", 5, 50),
                "High CPL": ("cpl", "greater_than", 100, 100),
                "Low CTR": ("ctr", "less_than", 0.005, 50)}
    for alert in defaults:
        metric, operator, value, min_spend = expected[alert["name"]]
        assert alert["is_default"] is True and alert["is_enabled"] is True
        assert (alert["client_id"], alert["alert_type"], alert["data_level"]) == (client_id, metric, "ad")
        assert alert["condition_config"] == {"field": metric, "operator": operator, "value": value,
                                             "window_days": 7, "min_spend": min_spend}
        assert alert["custom_config"] == {
            "frequency": {"type": "daily", "time": "05:00", "timezone": "UTC"},
            "thresholds": {metric: value}}
        assert alert["action_config"]["create_task"] is False
        # created at 09:00 UTC: the first run is the next 05:00, never at creation
        assert (alert["next_run_at"], alert["last_run_at"]) == ("2024-03-02T05:00:00Z", None)
        assert (alert["created_by"], alert["created_at"]) == (alice.id, NOW)
        assert schema_errors("Alert", alert) == []
    # each client has its own
    other = await new_client(alice, "Other")
    theirs = await alerts_of(alice, other)
    assert len(theirs) == 3 and not {a["alert_id"] for a in theirs} & {a["alert_id"] for a in defaults}
    assert len(await alerts_of(alice)) == 6


# -- create, read, list -----------------------------------------------------------------------------

async def test_create_as_the_reference_sends_it_and_read_it_back(api: Any, clock: FrozenClock) -> None:
    alice, bob, client_id = await team(api)
    body = {"name": "High CPLPV Alert", "description": "Alert when CPLPV exceeds threshold",
            "alert_type": "cplpv",
            "condition_config": {"field": "cplpv", "operator": "greater_than", "value": 50},
            "action_config": {"create_task": True, "assignees": [bob.id, alice.id],
                              "task_type": "review_report"},
            "data_source": "dm_alert.alert_cplpv",
            "frequency": {"type": "daily", "time": "05:00", "timezone": "America/Los_Angeles"}}
    alert = await create_alert(alice, client_id, body)
    uuid.UUID(alert["alert_id"])
    assert alert == {
        "alert_id": alert["alert_id"], "client_id": client_id, "name": "High CPLPV Alert",
        "description": "Alert when CPLPV exceeds threshold", "alert_type": "cplpv",
        "is_enabled": True, "is_default": False, "data_level": "ad",
        "data_source": "dm_alert.alert_cplpv",
        "condition_config": {"field": "cplpv", "operator": "greater_than", "value": 50,
                             "window_days": 7, "min_spend": 0},
        "action_config": {"create_task": True, "assignees": [bob.id, alice.id],
                          "task_type": "review_report", "priority": "High"},
        "custom_config": {"frequency": {"type": "daily", "time": "05:00",
                                        "timezone": "America/Los_Angeles"},
                          "thresholds": {"cplpv": 50}},
        # 09:00 UTC is 01:00 in Los Angeles (PST): today's 05:00 there is 13:00 UTC
        "next_run_at": "2024-03-01T13:00:00Z", "last_run_at": None,
        "created_by": alice.id, "created_at": NOW, "updated_at": NOW,
    }
    status, reply = await bob.get(f"/alerts/{alert['alert_id']}")
    assert status == 200 and reply == {"status_code": 200, "message": "Success", "data": alert}
    status, reply = await bob.get(f"/alerts/{alert['alert_id']}?client_id={client_id}")
    assert status == 200 and reply["data"] == alert
    listed = await alerts_of(bob, client_id)
    assert sorted(a["name"] for a in listed) == ["High CPL", "High CPLPV", "High CPLPV Alert", "Low CTR"]
    assert [a for a in listed if not a["is_default"]] == [alert]
    # oldest first
    clock.advance(seconds=1)
    later = await create_alert(alice, client_id, name="Later")
    assert (await alerts_of(bob, client_id))[-1] == later
    assert schema_errors("AlertList", {"settings": listed}) == []


async def test_reference_custom_config_thresholds_and_exact_values(api: Any, clock: FrozenClock) -> None:
    alice, _, client_id = await team(api)
    alert = await create_alert(alice, client_id, {
        "name": "Low CTR on ad sets", "alert_type": "ctr", "data_level": "adset",
        "condition_config": {"operator": "less_than_or_equal", "window_days": 14, "min_spend": "12.5"},
        "custom_config": {"frequency": {"type": "weekly", "day": "monday", "time": "08:30",
                                        "timezone": "Europe/Berlin"},
                          "thresholds": {"ctr": "0.0123"}}})
    assert alert["condition_config"] == {"field": "ctr", "operator": "less_than_or_equal",
                                         "value": 0.0123, "window_days": 14, "min_spend": 12.5}
    assert alert["custom_config"] == {
        "frequency": {"type": "weekly", "time": "08:30", "timezone": "Europe/Berlin", "day": "monday"},
        "thresholds": {"ctr": 0.0123}}
    assert alert["data_level"] == "adset" and alert["data_source"] == "catalyst.performance"
    # Monday 2024-03-04 08:30 in Berlin (CET, UTC+1)
    assert alert["next_run_at"] == "2024-03-04T07:30:00Z"
    # the threshold is stored exactly, digit for digit
    response = await alice.client.get(f"{API}/alerts/{alert['alert_id']}", headers=alice.headers)
    assert '"value":0.0123' in await response.text()


async def test_the_client_may_be_named_in_the_body_instead(api: Any) -> None:
    alice, _, client_id = await team(api)
    status, reply = await alice.post("/alerts", json={**alert_body(), "client_id": client_id})
    assert status == 201 and reply["data"]["client_id"] == client_id
    other = await new_client(alice, "Other")
    status, reply = await alice.post(f"/alerts?client_id={other}",
                                     json={**alert_body(), "client_id": client_id})
    assert status == 422 and set(fields_of(reply)) == {"client_id"}
    status, reply = await alice.post("/alerts", json=alert_body())
    assert status == 422 and set(fields_of(reply)) == {"client_id"}
    status, reply = await alice.post("/alerts", json={**alert_body(), "client_id": "nope"})
    assert status == 422 and set(fields_of(reply)) == {"client_id"}
    status, reply = await alice.post("/alerts?client_id=nope", json=alert_body())
    assert status == 422 and set(fields_of(reply)) == {"client_id"}
    assert len(await alerts_of(alice, client_id)) == 4 and len(await alerts_of(alice, other)) == 3


# -- validation ----------------------------------------------------------------------------------------

async def test_a_bad_configuration_names_every_bad_field_and_stores_nothing(api: Any) -> None:
    alice, bob, client_id = await team(api)
    # the issue's example: a bad operator, a bad time zone and a bad metric in one request
    status, reply = await alice.post(f"/alerts?client_id={client_id}", json=alert_body(
        condition_config={"field": "cpx", "operator": "bigger", "value": 5},
        frequency={"type": "daily", "time": "05:00", "timezone": "Mars/Olympus_Mons"}))
    assert status == 422
    fields = fields_of(reply)
    assert set(fields) == {"condition_config.field", "condition_config.operator", "frequency.timezone"}
    assert "greater_than" in fields["condition_config.operator"]
    assert "IANA" in fields["frequency.timezone"] and "cplpv" in fields["condition_config.field"]
    # everything at once
    status, reply = await alice.post(f"/alerts?client_id={client_id}", json={
        "name": "  ", "alert_type": "cpz", "data_level": "galaxy", "is_enabled": "yes", "colour": "red",
        "description": "x" * 2001,
        "condition_config": {"operator": "over", "value": -1, "window_days": 0, "min_spend": "lots",
                             "extra": 1},
        "action_config": {"task_type": "party", "priority": "Urgent", "assignees": ["not-a-uuid"],
                          "create_task": "yes"},
        "frequency": {"type": "daily", "time": "25:00", "timezone": "Nowhere"},
        "data_source": "somewhere"})
    assert status == 422
    assert set(fields_of(reply)) == {
        "name", "alert_type", "data_level", "is_enabled", "colour", "description",
        "condition_config.field", "condition_config.operator", "condition_config.value",
        "condition_config.window_days", "condition_config.min_spend", "condition_config.extra",
        "action_config.task_type", "action_config.priority", "action_config.assignees",
        "action_config.create_task", "frequency.time", "frequency.timezone", "data_source"}
    # what an empty configuration lacks
    status, reply = await alice.post(f"/alerts?client_id={client_id}", json={})
    assert status == 422
    # (a frequency left out is the default, daily at 05:00 UTC; a daily one without a time is not)
    assert set(fields_of(reply)) == {"name", "alert_type", "condition_config",
                                     "condition_config.field", "condition_config.operator",
                                     "condition_config.value"}
    # rules between fields
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"frequency": {"type": "weekly", "time": "05:00"}}, {"frequency.day"}),
        ({"frequency": {"type": "hourly", "time": "05:00"}}, {"frequency.time"}),
        ({"frequency": {"type": "daily", "time": "05:00", "day": "monday"}}, {"frequency.day"}),
        ({"data_source": "dm_alert.alert_cpl"}, {"data_source"}),
        ({"custom_config": {"thresholds": {"cpl": 5}}}, {"custom_config.thresholds"}),
        ({"condition_config": {"operator": "greater_than", "value": "1e16"}}, {"condition_config.value"}),
        ({"condition_config": {"operator": "greater_than", "value": 5, "window_days": 367}},
         {"condition_config.window_days"}),
        ({"action_config": {"assignees": [str(uuid.uuid4())]}}, {"action_config.assignees"}),
        ({"name": "bad\x00name"}, {"name"}),
    ]
    for change, expected in cases:
        status, reply = await alice.post(f"/alerts?client_id={client_id}", json=alert_body(**change))
        assert status == 422 and set(fields_of(reply)) == expected, (change, reply)
    # a body that is not JSON
    response = await alice.client.post(f"{API}/alerts?client_id={client_id}", data=b"{nope",
                                       headers={**alice.headers, "Content-Type": "application/json"})
    assert response.status == 400
    assert len(await alerts_of(bob, client_id)) == 3


# -- update ------------------------------------------------------------------------------------------

async def test_a_partial_update_keeps_what_it_does_not_name(api: Any, clock: FrozenClock) -> None:
    alice, bob, client_id = await team(api)
    alert = await create_alert(alice, client_id, description="Views cost too much",
                               condition_config={"field": "cplpv", "operator": "greater_than",
                                                 "value": 5, "window_days": 3, "min_spend": 20},
                               action_config={"create_task": True, "assignees": [bob.id]})
    path = f"/alerts/{alert['alert_id']}?client_id={client_id}"
    clock.advance(minutes=30)
    status, reply = await alice.put(path, json={"condition_config": {"value": 60}})
    assert status == 200 and reply["message"] == "Alert updated", reply
    updated = reply["data"]
    assert updated["condition_config"] == {"field": "cplpv", "operator": "greater_than", "value": 60,
                                           "window_days": 3, "min_spend": 20}
    assert updated["custom_config"]["thresholds"] == {"cplpv": 60}
    assert updated == {**alert, "condition_config": updated["condition_config"],
                       "custom_config": updated["custom_config"], "updated_at": "2024-03-01T09:30:00Z"}
    # the reference's update
    status, reply = await alice.put(path, json={"name": "Updated Alert Name", "is_enabled": False})
    assert status == 200, reply
    assert (reply["data"]["name"], reply["data"]["is_enabled"], reply["data"]["next_run_at"]) == (
        "Updated Alert Name", False, None)
    assert reply["data"]["action_config"] == alert["action_config"]
    # thresholds in the reference's form; enabling again schedules the next slot after now
    status, reply = await alice.put(path, json={"is_enabled": True,
                                                "custom_config": {"thresholds": {"cplpv": "7.25"}}})
    assert status == 200, reply
    assert reply["data"]["condition_config"]["value"] == 7.25
    assert reply["data"]["next_run_at"] == "2024-03-02T05:00:00Z"
    # a new frequency type starts from its own defaults; the time zone stays
    status, reply = await alice.put(path, json={"frequency": {"type": "hourly",
                                                              "timezone": "Asia/Kolkata"}})
    assert status == 200, reply
    assert reply["data"]["custom_config"]["frequency"] == {"type": "hourly", "timezone": "Asia/Kolkata"}
    # 09:30 UTC is 15:00 in Kolkata (UTC+5:30): the next local hour is 16:00, 10:30 UTC
    assert reply["data"]["next_run_at"] == "2024-03-01T10:30:00Z"
    status, reply = await alice.put(path, json={"frequency": {"type": "weekly", "day": "sunday",
                                                              "time": "23:00"}})
    assert status == 200, reply
    assert reply["data"]["custom_config"]["frequency"] == {"type": "weekly", "time": "23:00",
                                                           "timezone": "Asia/Kolkata", "day": "sunday"}
    assert reply["data"]["next_run_at"] == "2024-03-03T17:30:00Z"
    # the stored alert is what the last answer said
    assert (await alice.get(path))[1]["data"] == reply["data"]


async def test_an_update_in_the_reference_custom_config_form_changes_the_frequency(api: Any) -> None:
    alice, _, client_id = await team(api)
    alert = await create_alert(alice, client_id)
    status, reply = await alice.put(f"/alerts/{alert['alert_id']}", json={
        "custom_config": {"frequency": {"time": "07:00", "timezone": "Europe/Paris"}}})
    assert status == 200, reply
    assert reply["data"]["custom_config"]["frequency"] == {"type": "daily", "time": "07:00",
                                                           "timezone": "Europe/Paris"}


async def test_a_bad_update_names_every_bad_field_and_changes_nothing(api: Any) -> None:
    alice, _, client_id = await team(api)
    alert = await create_alert(alice, client_id)
    path = f"/alerts/{alert['alert_id']}"
    status, reply = await alice.put(path, json={
        "condition_config": {"operator": "around", "value": "many"}, "name": "",
        "frequency": {"timezone": "Atlantis/Capital"}, "client_id": client_id, "alert_type": "cpv"})
    assert status == 422
    assert set(fields_of(reply)) == {"condition_config.operator", "condition_config.value", "name",
                                     "frequency.timezone", "client_id", "alert_type"}
    status, reply = await alice.put(path, json={"frequency": {"type": "weekly"}})
    assert status == 422 and set(fields_of(reply)) == {"frequency.day", "frequency.time"}
    assert (await alice.get(path))[1]["data"] == alert


# -- delete ------------------------------------------------------------------------------------------

async def test_delete_removes_the_alert(api: Any) -> None:
    alice, bob, client_id = await team(api)
    alert = await create_alert(alice, client_id)
    status, reply = await alice.delete(f"/alerts/{alert['alert_id']}?client_id={client_id}")
    assert status == 200 and reply == {"status_code": 200, "message": "Alert deleted", "data": None}
    assert (await bob.get(f"/alerts/{alert['alert_id']}"))[0] == 404
    assert (await alice.delete(f"/alerts/{alert['alert_id']}"))[0] == 404
    assert len(await alerts_of(bob, client_id)) == 3
    # a default alert can be deleted too
    default = next(a for a in await alerts_of(alice, client_id) if a["name"] == "High CPLPV")
    assert (await alice.delete(f"/alerts/{default['alert_id']}"))[0] == 200
    assert sorted(a["name"] for a in await alerts_of(alice, client_id)) == ["High CPL", "Low CTR"]


# -- roles and tenants -------------------------------------------------------------------------------

async def test_only_client_admins_configure_and_everyone_in_the_client_reads(api: Any) -> None:
    c = await cast(api)
    alert = await create_alert(c.admin, c.client)
    alert_path = f"/alerts/{alert['alert_id']}"
    for who in (c.member, c.viewer):
        status, reply = await who.post(f"/alerts?client_id={c.client}", json=alert_body())
        assert status == 403 and reply["status_code"] == 403 and "data" not in reply
        assert (await who.put(alert_path, json={"name": "Mine"}))[0] == 403
        assert (await who.delete(alert_path))[0] == 403
        status, reply = await who.get(alert_path)
        assert status == 200 and reply["data"] == alert
        assert alert in await alerts_of(who, c.client)
        assert len(await alerts_of(who)) == 4
    # another client's alerts do not exist for the outsider, whatever the role asked for
    status, reply = await c.outsider.post(f"/alerts?client_id={c.client}", json=alert_body())
    assert status == 404 and reply["status_code"] == 404
    for method, body in (("get", None), ("put", {"name": "Mine"}), ("delete", None)):
        assert (await getattr(c.outsider, method)(alert_path, json=body))[0] == 404
    assert (await c.outsider.get(f"/alerts?client_id={c.client}"))[0] == 404
    assert {a["client_id"] for a in await alerts_of(c.outsider)} == {c.elsewhere}
    # nothing changed
    assert (await c.admin.get(alert_path))[1]["data"] == alert
    assert len(await alerts_of(c.admin, c.client)) == 4
    # a platform admin acts as admin in every client
    assert len(await alerts_of(c.platform)) == 7
    made = await create_alert(c.platform, c.elsewhere, name="Platform's")
    assert made["created_by"] == c.platform.id
    status, reply = await c.platform.put(alert_path, json={"name": "Renamed by platform"})
    assert status == 200 and reply["data"]["name"] == "Renamed by platform"
    assert (await c.platform.delete(f"/alerts/{made['alert_id']}"))[0] == 200
    # without a token
    for method, path in (("GET", "/alerts"), ("POST", f"/alerts?client_id={c.client}"),
                         ("GET", alert_path), ("PUT", alert_path), ("DELETE", alert_path)):
        response = await api.request(method, API + path, json=alert_body())
        assert response.status == 401, (method, path)
        assert (await response.json())["status_code"] == 401


async def test_an_alert_named_with_another_client_is_not_found(api: Any) -> None:
    alice, _, client_id = await team(api)
    other = await new_client(alice, "Other")  # Alice is admin of both
    alert = await create_alert(alice, client_id)
    path = f"/alerts/{alert['alert_id']}"
    for method, body in (("get", None), ("put", {"name": "Moved"}), ("delete", None)):
        status, reply = await getattr(alice, method)(f"{path}?client_id={other}", json=body)
        assert status == 404, (method, reply)
        status, reply = await getattr(alice, method)(f"{path}?client_id={UNKNOWN}", json=body)
        assert status == 404, (method, reply)
        status, reply = await getattr(alice, method)(f"{path}?client_id=nope", json=body)
        assert status == 422 and set(fields_of(reply)) == {"client_id"}
    assert (await alice.get(path))[1]["data"] == alert
    for method in ("get", "put", "delete"):
        assert (await getattr(alice, method)(f"/alerts/{UNKNOWN}", json={"name": "x"}))[0] == 404
        status, reply = await getattr(alice, method)("/alerts/not-a-uuid?client_id=nope",
                                                     json={"name": "x"})
        assert status == 422 and set(fields_of(reply)) == {"alert_id", "client_id"}


@pytest.mark.parametrize("storage_kind", ["memory"])
async def test_a_client_has_at_most_200_alerts(api_factory: Any, storage_kind: str) -> None:
    api = await api_factory(storage_kind)
    alice, _, client_id = await team(api)
    for n in range(197):
        await create_alert(alice, client_id, name=f"Alert {n}")
    status, reply = await alice.post(f"/alerts?client_id={client_id}", json=alert_body())
    assert status == 409 and reply["status_code"] == 409
    assert len(await alerts_of(alice, client_id)) == 200
