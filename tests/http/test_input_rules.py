"""Input every endpoint refuses, the same on memory, SQLite and PostgreSQL: a body of another
media type than JSON is 415, JSON that is not an object is 422 naming `body`, text holding U+0000
anywhere (body at any depth, query, path) is 422 naming the field, a body that is not JSON (lone
surrogates, bad UTF-8) is 400; never a 500. The routes come from the application's router, and the
fields from the OpenAPI document, so endpoints added later are held to the same rules."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from aiohttp.test_utils import TestClient

from catalyst_api.app import openapi_document
from tests.helpers import API, Caller, register

WRITE_METHODS = ("POST", "PUT", "PATCH")
_PARAM = re.compile(r"\{([^}]+)\}")


def write_routes(api: TestClient) -> list[tuple[str, str, str]]:
    """(method, path template, route name) of every API route that takes a body."""
    found = []
    for route in api.server.app.router.routes():  # type: ignore[union-attr]
        canonical = route.resource.canonical if route.resource is not None else ""
        if route.method in WRITE_METHODS and canonical.startswith(API):
            found.append((route.method, canonical, route.name or ""))
    assert len(found) >= 20  # the route table was read, not an empty router
    return sorted(found)


def concrete(template: str, value: str | None = None) -> str:
    """The path with each parameter filled in (a fresh UUID by default)."""
    return _PARAM.sub(lambda _: value if value is not None else str(uuid.uuid4()), template)


def operation(name: str) -> dict[str, Any]:
    for item in openapi_document()["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == name:
                return op
    return {}


def _resolve(node: Any) -> dict[str, Any]:
    """A schema or parameter with its local `$ref`s followed."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = openapi_document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
    return node if isinstance(node, dict) else {}


def query_parameters(name: str) -> list[str]:
    """The query parameters the contract documents for an operation (its path's included)."""
    for item in openapi_document()["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == name:
                params = [_resolve(p) for p in [*item.get("parameters", []), *op.get("parameters", [])]]
                return [p["name"] for p in params if p.get("in") == "query" and "name" in p]
    return []


def body_properties(name: str) -> dict[str, dict[str, Any]]:
    """The JSON body's top-level properties as the contract documents them ({} when it has none)."""
    media = operation(name).get("requestBody", {}).get("content", {}).get("application/json", {})
    return {k: _resolve(v) for k, v in _resolve(media.get("schema")).get("properties", {}).items()}


def plain_text(schema: dict[str, Any]) -> bool:
    """A free-text property (no enum, format or pattern that would refuse the value first)."""
    return schema.get("type") == "string" and not ({"enum", "format", "pattern"} & set(schema))


async def send(who: Caller, method: str, path: str, raw: bytes | None,
               content_type: str | None) -> tuple[int, dict[str, Any]]:
    headers = dict(who.headers)
    skip = []
    if content_type is None:
        skip.append("Content-Type")
    else:
        headers["Content-Type"] = content_type
    response = await who.client.request(method, path, data=raw, headers=headers,
                                        skip_auto_headers=skip)
    body = await response.json()
    assert set(body) == {"status_code", "message", "detail"} or response.status < 400, body
    assert body["status_code"] == response.status
    return response.status, body


def fields(body: dict[str, Any]) -> dict[str, str]:
    return {d["field"]: d["message"] for d in body["detail"]} if isinstance(body["detail"], list) else {}


@pytest.fixture
async def caller(api: TestClient) -> Caller:
    return await register(api)


# -- media type ------------------------------------------------------------------------------------

OTHER_MEDIA = ["text/plain", "application/x-www-form-urlencoded", "application/xml",
               "application/octet-stream", "text/json", "application/json; charset=latin-1", None]


async def test_a_body_of_another_media_type_is_415_on_every_write_route(api: TestClient,
                                                                        caller: Caller) -> None:
    wrong = []
    for method, template, name in write_routes(api):
        for media in OTHER_MEDIA:
            status, body = await send(caller, method, concrete(template), b'{"name": "x"}', media)
            if status != 415 or not body["detail"]:
                wrong.append((name, media, status, body))
    assert wrong == []


async def test_json_media_types_with_a_non_object_body_are_422_naming_the_body(
        api: TestClient, caller: Caller) -> None:
    media_types = ["application/json", "application/json; charset=utf-8", "Application/JSON",
                   "application/merge-patch+json"]
    bodies = [b"[]", b"[1, 2]", b'"text"', b"42", b"null", b"true"]
    wrong = []
    for method, template, name in write_routes(api):
        for i, raw in enumerate(bodies):
            media = media_types[i % len(media_types)]
            status, body = await send(caller, method, concrete(template), raw, media)
            if status != 422 or "body" not in fields(body):
                wrong.append((name, media, raw, status, body))
    assert wrong == []


async def test_an_empty_body_without_content_type_is_never_415(api: TestClient,
                                                               caller: Caller) -> None:
    # A body-less POST (complete, dismiss, trigger...) sent with nothing at all must keep working.
    wrong = []
    for method, template, name in write_routes(api):
        status, body = await send(caller, method, concrete(template), None, None)
        if (status in (415, 422) and "body" in str(body["detail"])) or status >= 500:
            wrong.append((name, status, body))
    assert wrong == []


async def test_body_less_actions_work_with_nothing_sent(api: TestClient, caller: Caller) -> None:
    status, reply = await caller.post("/clients", json={"name": "Acme"})
    client_id = reply["data"]["id"]
    status, reply = await caller.post("/tasks", json={"client_id": client_id, "name": "t"})
    for action in ("complete", "cancel"):
        status, reply = await caller.post("/tasks", json={"client_id": client_id, "name": action})
        status, body = await send(caller, "POST", f"{API}/tasks/{reply['data']['id']}/{action}",
                                  None, None)
        assert status == 200, body
    status, reply = await caller.get(f"/alerts?client_id={client_id}")
    alert_id = reply["data"]["settings"][0]["alert_id"]
    for action in ("trigger", "test"):
        status, body = await send(caller, "POST", f"{API}/alerts/{alert_id}/{action}", None, None)
        assert status == 200, body
        # an empty JSON object is no body too; a field is one the action does not take
        status, body = await send(caller, "POST", f"{API}/alerts/{alert_id}/{action}", b"{}",
                                  "application/json")
        assert status == 200, body
        status, body = await send(caller, "POST", f"{API}/alerts/{alert_id}/{action}",
                                  b'{"now": true}', "application/json")
        assert status == 422 and set(fields(body)) == {"now"}, body


# -- not JSON --------------------------------------------------------------------------------------

async def test_lone_surrogates_and_bad_utf8_are_400_never_500(api: TestClient, caller: Caller) -> None:
    bodies = [b'{"name": "\\ud800"}', b'{"name": "\\udc00x"}', b'{"name": "\xff\xfe"}',
              b'{"name": "a\x00b"}']  # a raw NUL byte is no JSON either (it must be escaped)
    wrong = []
    for method, template, name in write_routes(api):
        for raw in bodies:
            status, body = await send(caller, method, concrete(template), raw, "application/json")
            if status != 400:
                wrong.append((name, raw, status, body))
    assert wrong == []


# -- U+0000 ----------------------------------------------------------------------------------------

async def test_u0000_in_any_body_field_is_422_naming_it(api: TestClient, caller: Caller) -> None:
    wrong, checked = [], 0
    for method, template, name in write_routes(api):
        # Undocumented (yet): an unknown field, which must be named too, whatever the reason.
        properties = body_properties(name) or {"note": {}}
        for prop, schema in properties.items():
            for value in ("a\x00b", ["a\x00"], {"k": "\x00"}):
                status, body = await send(caller, method, concrete(template),
                                          orjson.dumps({prop: value}), "application/json")
                named = {f: m for f, m in fields(body).items() if f == prop or f.startswith(prop + ".")}
                if status != 422 or not named:
                    wrong.append((name, prop, value, status, body))
                elif isinstance(value, str) and plain_text(schema) \
                        and not any("U+0000" in m for m in named.values()):
                    wrong.append((name, prop, "says why", body))
                checked += 1
    assert wrong == []
    assert checked > 100


async def test_u0000_in_a_key_or_deep_inside_is_422(api: TestClient, caller: Caller) -> None:
    status, reply = await caller.post("/clients", json={"name": "Acme"})
    client_id = reply["data"]["id"]
    cases = [
        ("POST", f"/leadscoring/score?client_id={client_id}",
         {"email": "a@example.com", "raw_data": {"notes": [{"deep": "x\x00"}]}},
         "raw_data.notes.0.deep"),
        ("POST", f"/leadscoring/score?client_id={client_id}",
         {"email": "a@example.com", "raw_data": {"k\x00": 1}}, "raw_data"),
        ("POST", f"/leadscoring/score/batch?client_id={client_id}",
         {"leads": [{"email": "a@example.com", "raw_data": {"n": "\x00"}}]}, "leads.0.raw_data.n"),
        ("POST", f"/alerts?client_id={client_id}",
         {"name": "n", "alert_type": "cplpv",
          "condition_config": {"field": "cplpv", "operator": "greater_than", "value": 5},
          "frequency": {"type": "daily", "time": "05:00", "timezone": "Europe/Paris\x00"}},
         "frequency.timezone"),
        ("PUT", f"/leadscoring/settings?client_id={client_id}",
         {"ideal_customer": {"industries": ["saas\x00"]}}, "ideal_customer.industries.0"),
        ("POST", f"/clients/{client_id}/metrics",
         {"rows": [{"date": "2024-02-01", "platform": "facebook", "campaign_id": "c",
                    "campaign_name": "C\x00", "ad_id": "a", "spend": 1}]}, "rows.0.campaign_name"),
        ("POST", "/clients", {"name": "Acme", "x\x00": 1}, "body"),
    ]
    for method, path, payload, field in cases:
        status, body = await caller.call(method, path, json=payload)
        assert status == 422 and field in fields(body), (path, payload, body)
        assert "U+0000" in fields(body)[field]
    status, reply = await caller.get("/clients")
    assert reply["data"]["total_items"] == 1  # nothing was written
    status, reply = await caller.get(f"/leadscoring/results?client_id={client_id}")
    assert reply["data"]["total_items"] == 0


async def test_u0000_in_a_query_or_path_parameter_is_422_naming_it(api: TestClient,
                                                                   caller: Caller) -> None:
    wrong, checked = [], 0
    for route in api.server.app.router.routes():  # type: ignore[union-attr]
        canonical = route.resource.canonical if route.resource is not None else ""
        if route.method not in ("GET", *WRITE_METHODS, "DELETE") or not canonical.startswith(API):
            continue
        names = _PARAM.findall(canonical)
        raw, media = (b"{}", "application/json") if route.method in WRITE_METHODS else (None, None)
        if names:
            status, body = await send(caller, route.method, concrete(canonical, quote("a\x00b")),
                                      raw, media)
            if status != 422 or not set(names) <= set(fields(body)):
                wrong.append((route.name, "path", status, body))
        for param in query_parameters(route.name or ""):
            path = concrete(canonical) + "?" + param + "=" + quote("a\x00b")
            status, body = await send(caller, route.method, path, raw, media)
            if status != 422 or param not in fields(body):
                wrong.append((route.name, param, status, body))
            checked += 1
    assert wrong == []
    assert checked > 20


# -- what is stored comes back intact --------------------------------------------------------------

AWKWARD = [
    "O'Brien \"quoted\" `back`", "Robert'); DROP TABLE clients;--", "1 OR 1=1; SELECT * FROM users",
    "%s %d {0} ${x} \\u0000 \\x00 \\", "emoji 👩‍👩‍👧 😀 🏳️‍🌈", "שלום עולם \u202eabc\u202c مرحبا",
    "ctl \x01\x07\x08\x1b[31m\x7f\x9f", "zw \u200b\u200d\ufeff\u2028\u2029", "e\u0301 \u00e9 Å Å",
    "max \U0010ffff \uffff \ufffd", "İstanbul ß ẞ ﬁ",
]


@pytest.mark.parametrize("text", AWKWARD, ids=range(len(AWKWARD)))
async def test_awkward_text_is_stored_and_returned_intact(api: TestClient, caller: Caller,
                                                          text: str) -> None:
    framed = f"a{text}z"  # names are trimmed at the ends, never inside
    status, reply = await caller.post("/clients", json={"name": framed})
    assert status == 201 and reply["data"]["name"] == framed, reply
    client_id = reply["data"]["id"]
    assert (await caller.get(f"/clients/{client_id}"))[1]["data"]["name"] == framed
    status, reply = await caller.post("/tasks", json={"client_id": client_id, "name": framed,
                                                      "description": text})
    assert status == 201, reply
    task = reply["data"]
    status, reply = await caller.get(f"/tasks/{task['id']}")
    assert (reply["data"]["name"], reply["data"]["description"]) == (framed, text)
    status, reply = await caller.post(f"/tasks/{task['id']}/comments", json={"comment": framed})
    assert status == 201, reply
    status, reply = await caller.get(f"/tasks/{task['id']}/comments")
    assert [c["comment"] for c in reply["data"]["comments"]] == [framed]
    status, reply = await caller.post(f"/leadscoring/score?client_id={client_id}",
                                      json={"email": "x@example.com", "raw_data": {text: text},
                                            "source": framed})
    assert status == 200, reply
    status, reply = await caller.get(f"/leadscoring/results?client_id={client_id}")
    [result] = reply["data"]["results"]
    assert result["raw_data"] == {text: text} and result["source"] == framed
    status, reply = await caller.put("/users/me", json={"name": framed})
    assert status == 200 and (await caller.get("/users/me"))[1]["data"]["name"] == framed
