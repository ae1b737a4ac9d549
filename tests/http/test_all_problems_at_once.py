"""One 422 names every bad field of a request at once, for every write schema: a field of the wrong
type beside a field the core would refuse (too long, empty, not an email), a bad path id beside a
bad body, a missing client beside a bad name. Nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.helpers import Caller, register, team

NOPE = "not-a-uuid"


def named(body: dict[str, Any]) -> set[str]:
    return {d["field"] for d in body["detail"]}


async def refused(who: Caller, method: str, path: str, payload: Any) -> set[str]:
    status, body = await who.call(method, path, json=payload)
    assert status == 422, body
    return named(body)


@pytest.fixture
async def scene(api: TestClient) -> dict[str, Any]:
    alice, bob, client_id = await team(api)
    _status, reply = await alice.post("/tasks", json={"client_id": client_id, "name": "t"})
    task = reply["data"]
    _status, reply = await alice.post(f"/tasks/{task['id']}/comments", json={"comment": "c"})
    comment = reply["data"]
    return {"alice": alice, "bob": bob, "client": client_id, "task": task, "comment": comment}


async def test_tasks(scene: dict[str, Any]) -> None:
    alice, client_id, task = scene["alice"], scene["client"], scene["task"]
    assert await refused(alice, "POST", "/tasks", {
        "client_id": client_id, "name": "x" * 256, "due_date": "tomorrow", "priority": "Urgent",
        "description": "d" * 10_001}) == {"name", "due_date", "priority", "description"}
    assert await refused(alice, "POST", "/tasks", {"name": 5}) == {"name", "client_id"}
    assert await refused(alice, "POST", "/tasks?client_id=nope", {"name": ""}) == {"name", "client_id"}
    assert await refused(alice, "PATCH", f"/tasks/{task['id']}", {
        "name": "", "due_date": "soon", "status": "completed", "assignees": "me"}) \
        == {"name", "due_date", "status", "assignees"}
    assert await refused(alice, "PATCH", f"/tasks/{NOPE}", {"name": " "}) == {"task_id", "name"}
    assert await refused(alice, "POST", f"/tasks/{NOPE}/complete", {"completed_by": 1}) \
        == {"task_id", "completed_by"}
    _status, reply = await alice.get(f"/tasks/{task['id']}")
    assert reply["data"] == task
    _status, reply = await alice.get(f"/tasks?client_id={client_id}")
    assert reply["data"]["total_items"] == 1


async def test_comments(scene: dict[str, Any]) -> None:
    alice, task, comment = scene["alice"], scene["task"], scene["comment"]
    assert await refused(alice, "POST", f"/tasks/{task['id']}/comments",
                         {"comment": "  ", "pinned": True}) == {"comment", "pinned"}
    assert await refused(alice, "POST", f"/tasks/{NOPE}/comments", {"comment": ""}) \
        == {"task_id", "comment"}
    assert await refused(alice, "PATCH", f"/tasks/comments/{NOPE}", {"comment": "x" * 10_001}) \
        == {"comment_id", "comment"}
    _status, reply = await alice.get(f"/tasks/{task['id']}/comments")
    assert reply["data"]["comments"] == [comment]


async def test_clients(scene: dict[str, Any]) -> None:
    alice, client_id = scene["alice"], scene["client"]
    assert await refused(alice, "POST", "/clients", {"name": "", "logo": 5}) == {"name", "logo"}
    assert await refused(alice, "PUT", f"/clients/{client_id}",
                         {"name": " ", "logo": "ftp://x", "is_active": "yes"}) \
        == {"name", "logo", "is_active"}
    assert await refused(alice, "PUT", f"/clients/{NOPE}", {"name": ""}) == {"client_id", "name"}
    _status, reply = await alice.get("/clients")
    assert reply["data"]["total_items"] == 1 and reply["data"]["clients"][0]["name"] == "Acme"


async def test_members(scene: dict[str, Any]) -> None:
    alice, bob, client_id = scene["alice"], scene["bob"], scene["client"]
    assert await refused(alice, "POST", f"/clients/{client_id}/members",
                         {"email": "not an email", "role": "boss"}) == {"email", "role"}
    assert await refused(alice, "POST", f"/clients/{NOPE}/members", {"email": 5}) \
        == {"client_id", "email", "role"}
    assert await refused(alice, "PATCH", f"/clients/{client_id}/members/{NOPE}", {"role": "boss"}) \
        == {"user_id", "role"}
    assert await refused(alice, "PATCH", f"/clients/{NOPE}/members/{bob.id}", {"role": 1}) \
        == {"client_id", "role"}
    _status, reply = await alice.get(f"/clients/{client_id}/members")
    assert reply["data"]["total_items"] == 2


async def test_users_and_auth(api: TestClient) -> None:
    anyone = await register(api)
    assert await refused(anyone, "POST", "/auth/register",
                         {"email": "nope", "password": "short", "name": 5}) \
        == {"email", "password", "name"}
    assert await refused(anyone, "POST", "/auth/login", {"email": "a\x00@example.com", "password": 6}) \
        == {"email", "password"}
    assert await refused(anyone, "PUT", "/users/me", {"name": "", "email": 5, "password": "short"}) \
        == {"name", "email", "password"}
    _status, reply = await anyone.get("/users/me")
    assert reply["data"]["name"] == anyone.user["name"]


async def test_alerts(scene: dict[str, Any]) -> None:
    alice, client_id = scene["alice"], scene["client"]
    _status, reply = await alice.get(f"/alerts?client_id={client_id}")
    alerts = reply["data"]["settings"]
    config = {"name": "", "alert_type": "cplpv",
              "condition_config": {"field": "cplpv", "operator": "sideways", "value": 5}}
    # the client missing, and the configuration's own problems
    assert await refused(alice, "POST", "/alerts", config) \
        == {"client_id", "name", "condition_config.operator"}
    assert await refused(alice, "POST", f"/alerts?client_id={client_id}",
                         {**config, "client_id": "nope"}) \
        == {"client_id", "name", "condition_config.operator"}
    assert await refused(alice, "PUT", f"/alerts/{NOPE}", {"description": "d\x00"}) \
        == {"alert_id", "description"}
    assert await refused(alice, "PUT", f"/alerts/instances/{NOPE}/resolve", {"resolution_notes": 5}) \
        == {"instance_id", "resolution_notes"}
    _status, reply = await alice.get(f"/alerts?client_id={client_id}")
    assert reply["data"]["settings"] == alerts


async def test_leads(scene: dict[str, Any]) -> None:
    alice, client_id = scene["alice"], scene["client"]
    assert await refused(alice, "POST", f"/leadscoring/score?client_id={client_id}",
                         {"email": 5, "raw_data": {"note": "\x00"}, "source": "s\x00"}) \
        == {"email", "raw_data.note", "source"}
    assert await refused(alice, "POST", f"/leadscoring/score/batch?client_id={client_id}",
                         {"leads": [{"email": 5, "raw_data": {}},
                                    {"email": "a@example.com", "raw_data": {"k": "\x00"}}]}) \
        == {"leads.0.email", "leads.1.raw_data.k"}
    assert await refused(alice, "PUT", "/leadscoring/settings",
                         {"client_id": "nope", "ideal_customer": {"industries": ["\x00"]}}) \
        == {"client_id", "ideal_customer.industries.0"}
    _status, reply = await alice.get(f"/leadscoring/results?client_id={client_id}")
    assert reply["data"]["total_items"] == 0


async def test_metrics(scene: dict[str, Any]) -> None:
    alice, client_id = scene["alice"], scene["client"]
    row = {"date": "2024-02-01", "platform": "facebook", "campaign_id": "c", "adset_id": "s", "ad_id": "a",
           "campaign_name": "C\x00", "spend": -1}
    assert await refused(alice, "POST", f"/clients/{client_id}/metrics", {"rows": [row], "extra": 1}) \
        == {"extra", "rows.0.campaign_name", "rows.0.spend"}
    assert await refused(alice, "POST", f"/clients/{NOPE}/metrics", {"rows": 5}) == {"client_id", "rows"}
    _status, reply = await alice.get(f"/clients/{client_id}/metrics")
    assert reply["data"]["total_items"] == 0
