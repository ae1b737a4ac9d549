"""The fixture world of the tenant-isolation matrix (test_tenant_matrix.py): two clients, A and B;
A's admin, member and viewer; an outsider who is a member of B only; and one object of each kind in
A, found by the name of the path placeholder that addresses it. Everything in A carries CANARY in
its names, so a response that leaks A's data to the outsider shows it.

A new endpoint is covered by the matrix as soon as it is in the route table. When its placeholders
or its request are new, extend this module: an entry in PLACEHOLDERS (and the object in `build`),
and a RECIPES entry with the query and body of a valid request by A's admin."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.helpers import API, Caller, add_member, register

CANARY = "zzcanaryofclienta"  # in every name of A's objects; never in anything the outsider sees

# Routes that touch no client's data (each with why); every other authenticated route is scoped
# to a client and goes through the whole matrix.
UNSCOPED: Mapping[str, str] = {
    "health": "public, no data",
    "register": "public, creates a user",
    "login": "public",
    "get_me": "the caller's own profile",
    "update_me": "the caller's own profile",
    "list_clients": "lists only the caller's clients (checked by the leak test)",
    "create_client": "creates a client of the caller's own",
}


def _png() -> bytes:
    """A valid 1x1 PNG (a creative's file is judged by its bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def alert_body() -> dict[str, Any]:
    return {"name": f"Expensive views {CANARY}", "alert_type": "cplpv",
            "condition_config": {"field": "cplpv", "operator": "greater_than", "value": 5},
            "frequency": {"type": "daily", "time": "05:00", "timezone": "UTC"}}


def metric_rows(campaign: str) -> list[dict[str, Any]]:
    """Rows inside the alerts' window (the HTTP tests' frozen clock says 2024-03-01), each with a
    cost per landing-page view of 10, so an alert on cplpv > 5 fires."""
    return [{"date": f"2024-02-{day}", "platform": "facebook", "campaign_id": "c-1",
             "campaign_name": campaign, "adset_id": "s-1", "adset_name": campaign, "ad_id": "ad-1",
             "ad_name": campaign, "spend": "100", "impressions": 1000, "clicks": 20,
             "landing_page_views": 10, "leads": 3, "conversions": 1, "revenue": 40}
            for day in (25, 26)]


class Recipe:
    """What a valid request of a route needs besides its path: query and JSON body, with
    `{client_id}` (or any placeholder key) filled from the world. `body=None`: no body."""

    def __init__(self, query: Mapping[str, str] | None = None, body: Any = None) -> None:
        self.query, self.body = dict(query or {}), body


SCOPE = {"client_id": "{client_id}"}
RECIPES: Mapping[str, Recipe] = {
    "list_tasks": Recipe(SCOPE),
    "create_task": Recipe(body={"client_id": "{client_id}", "name": "new task"}),
    "update_task": Recipe(body={"name": "renamed"}),
    "add_comment": Recipe(body={"comment": "hello"}),
    "update_comment": Recipe(body={"comment": "edited"}),
    "update_client": Recipe(body={"name": "Renamed"}),
    "add_member": Recipe(body={"email": "{spare_email}", "role": "member"}),
    "update_member": Recipe(body={"role": "viewer"}),
    "ingest_metrics": Recipe(body={"rows": metric_rows("more")}),
    "get_growth_report": Recipe(SCOPE),
    "get_performance_report": Recipe(SCOPE),
    "list_alerts": Recipe(SCOPE),
    "create_alert": Recipe(SCOPE, alert_body()),
    "update_alert": Recipe(body={"name": "Renamed alert"}),
    "list_alert_instances": Recipe(SCOPE),
    "resolve_alert_instance": Recipe(body={"resolution_notes": "done"}),
    "get_lead_settings": Recipe(SCOPE),
    "update_lead_settings": Recipe(SCOPE, {"thresholds": {"hot": 0.9}}),
    "score_lead": Recipe(body={"client_id": "{client_id}", "email": "new@example.com", "raw_data": {}}),
    "score_lead_batch": Recipe(body={"client_id": "{client_id}", "leads": [
        {"email": "batch@example.com", "raw_data": {}}]}),
    "list_lead_results": Recipe(SCOPE),
    "list_creative_submissions": Recipe(SCOPE),
    "create_creative_submission": Recipe(body={"client_id": "{client_id}", "name": "new creative",
                                               "ad_type": "image",
                                               "media_url": "https://cdn.example/a.png"}),
    "reject_creative_submission": Recipe(body={"reason": "off brand"}),
}

# Who makes the positive control (a 2xx for the same request) where A's admin may not: the
# attribute of World to call as. Default: `admin`.
DONE_BY: Mapping[str, str] = {
    "update_comment": "member",  # only its author edits a comment
}

# Path placeholders by name; a bare `{id}` is named by the collection before it
# (`/creative-submissions/{id}` -> `creative-submissions:id`).
PLACEHOLDERS = ("client_id", "task_id", "comment_id", "alert_id", "instance_id", "lead_id",
                "user_id", "submission_id")


def placeholder_keys(path: str) -> list[str]:
    """The world keys a route's path needs, in order."""
    keys, parts = [], path.strip("/").split("/")
    for i, part in enumerate(parts):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1].split(":", 1)[0]
            keys.append(f"{parts[i - 1]}:{name}" if name == "id" and i else name)
    return keys


class World:
    api: TestClient
    admin: Caller
    member: Caller
    viewer: Caller
    outsider: Caller  # a member of B only
    b_admin: Caller
    a: str
    b: str
    ids: dict[str, str]  # placeholder key -> the object of A it addresses
    spare_email: str  # a registered user in no client (to add as a member)

    def fill(self, path: str) -> str:
        missing = [k for k in placeholder_keys(path) if k not in self.ids]
        if missing:
            raise LookupError(
                f"{path}: the tenant matrix cannot fill {missing}; add an object of that kind to "
                "tests/http/tenant_world.py (PLACEHOLDERS and World.ids in build()) so this "
                "endpoint is checked for tenant isolation")
        out, parts = [], path.strip("/").split("/")
        keys = iter(placeholder_keys(path))
        for part in parts:
            out.append(self.ids[next(keys)] if part.startswith("{") and part.endswith("}") else part)
        return "/" + "/".join(out)

    def values(self, template: Any) -> Any:
        """A recipe's query or body with `{key}` strings filled from the world."""
        text = json.dumps(template)
        for key, value in {**self.ids, "spare_email": self.spare_email}.items():
            text = text.replace("{" + key + "}", value)
        return json.loads(text)

    def secrets_of_a(self) -> set[str]:
        """Strings that only A's data contains: its objects' ids and the canary."""
        return {CANARY, *(v for k, v in self.ids.items() if k != "user_id")}


def api_routes(app: web.Application) -> dict[str, tuple[str, str]]:
    """name -> (method, path below /api/v1) of every API route of the app's router."""
    found: dict[str, tuple[str, str]] = {}
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method in ("HEAD", "OPTIONS"):
            continue
        if resource.canonical.startswith(API):
            assert route.name, f"{route.method} {resource.canonical} has no name"
            found[route.name] = (route.method, resource.canonical[len(API):])
    return found


async def _ok(call: Any, expected: int = 200) -> dict[str, Any]:
    status, reply = await call
    assert status == expected, reply
    return reply["data"]


async def build(api: TestClient) -> World:
    """The world, over the app's own API (so every storage builds it alike). The HTTP tests'
    frozen clock must be in place (the alert's window is worked out from it)."""
    w = World()
    w.api = api
    w.admin, w.member, w.viewer = (await register(api, f"Admin {CANARY}"),
                                   await register(api, f"Member {CANARY}"),
                                   await register(api, f"Viewer {CANARY}"))
    w.outsider, w.b_admin = await register(api, "Outsider"), await register(api, "B Admin")
    w.spare_email = (await register(api, "Spare")).email
    w.a = (await _ok(w.admin.post("/clients", json={"name": f"A {CANARY}"}), 201))["id"]
    w.b = (await _ok(w.b_admin.post("/clients", json={"name": "B"}), 201))["id"]
    await add_member(w.admin, w.a, w.member)
    await add_member(w.admin, w.a, w.viewer, role="viewer")
    await add_member(w.b_admin, w.b, w.outsider)
    ids = {"client_id": w.a, "user_id": w.member.id}

    task = await _ok(w.member.post("/tasks", json={"client_id": w.a, "name": f"Task {CANARY}",
                                                   "description": CANARY}), 201)
    ids["task_id"] = task["id"]
    ids["comment_id"] = (await _ok(w.member.post(f"/tasks/{task['id']}/comments",
                                                 json={"comment": f"Comment {CANARY}"}), 201))["id"]
    await _ok(w.member.post(f"/clients/{w.a}/metrics", json={"rows": metric_rows(CANARY)}))
    alert = await _ok(w.admin.post(f"/alerts?client_id={w.a}", json=alert_body()), 201)
    ids["alert_id"] = alert["alert_id"]
    fired = await _ok(w.member.post(f"/alerts/{alert['alert_id']}/trigger"))
    assert fired["instances_created"] >= 1, fired
    listed = await _ok(w.member.get("/alerts/instances", params={"alert_id": alert["alert_id"]}))
    ids["instance_id"] = listed["instances"][0]["id"]
    ids["lead_id"] = (await _ok(w.member.post("/leadscoring/score", json={
        "client_id": w.a, "email": f"{CANARY}@example.com", "raw_data": {"note": CANARY}})))["id"]
    await _ok(w.admin.put(f"/leadscoring/settings?client_id={w.a}", json={"thresholds": {"hot": 0.8}}))
    if "create_creative_submission" in api_routes(api.app):
        ids["submission_id"] = await _creative(w)

    # B has data of its own, so the outsider's lists are not empty by accident.
    await _ok(w.outsider.post("/tasks", json={"client_id": w.b, "name": "B's task"}), 201)
    await _ok(w.outsider.post("/leadscoring/score", json={"client_id": w.b, "email": "b@example.com",
                                                          "raw_data": {}}))
    w.ids = ids
    return w


async def _creative(w: World) -> str:
    """A creative of A with an uploaded file (so its media route has something to serve)."""
    from aiohttp import FormData

    form = FormData()
    for name, value in (("client_id", w.a), ("name", f"Creative {CANARY}"), ("ad_type", "image")):
        form.add_field(name, value)
    form.add_field("file", _png(), filename="a.png", content_type="image/png")
    r = await w.api.post(f"{API}/creative-submissions", data=form, headers=w.member.headers)
    reply = await r.json()
    assert r.status == 201, ("tenant_world could not create a creative: adapt _creative()", reply)
    return str(reply["data"]["id"])
