"""Malformed input to the alert and lead scoring endpoints: every answer is a 2xx or a clear 4xx in
the envelope, never a 500, whatever JSON a caller sends in place of each field (hypothesis mutates
valid bodies field by field, nested fields included, and sends odd query strings)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import API, team
from tests.http.test_alerts import alert_body

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.differing_executors])
ANSWERS = {200, 201, 400, 404, 409, 413, 415, 422}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=4),
    max_leaves=12)


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """`valid` with some fields (at any depth) replaced by arbitrary JSON, dropped, or joined by
    unknown ones."""
    body: dict[str, Any] = {}
    for key, value in valid.items():
        action = draw(st.sampled_from(["keep", "keep", "replace", "drop", "recurse"]))
        if action == "keep":
            body[key] = value
        elif action == "replace":
            body[key] = draw(json_values)
        elif action == "recurse" and isinstance(value, dict):
            body[key] = draw(mutated(value))
        elif action == "recurse":
            body[key] = value
    if draw(st.booleans()):
        body[draw(st.text(max_size=10))] = draw(json_values)
    return body


async def _call(api: Any, method: str, path: str, token: str, **kwargs: Any) -> int:
    response = await api.request(method, API + path, headers={"Authorization": f"Bearer {token}"},
                                 **kwargs)
    body = await response.json()
    assert response.status in ANSWERS, (response.status, body)
    assert body["status_code"] == response.status
    return response.status


@pytest.fixture(params=["sqlite", "postgres"])
async def world(request: pytest.FixtureRequest, api_factory: Any) -> Any:
    """PostgreSQL refuses what SQLite stores (U+0000), so both are fuzzed."""
    api = await api_factory(request.param)
    alice, _, client_id = await team(api)
    status, reply = await alice.post(f"/alerts?client_id={client_id}", json=alert_body())
    assert status == 201
    return api, alice.token, client_id, reply["data"]["alert_id"]


@FUZZ
@given(body=mutated(alert_body(action_config={"create_task": True, "assignees": []},
                               frequency={"type": "weekly", "day": "monday", "time": "05:00",
                                          "timezone": "Europe/Paris"},
                               custom_config={"thresholds": {"cplpv": 5}})))
async def test_alert_bodies_never_break_the_server(world: Any, body: dict[str, Any]) -> None:
    api, token, client_id, alert_id = world
    await _call(api, "POST", f"/alerts?client_id={client_id}", token, json=body)
    await _call(api, "PUT", f"/alerts/{alert_id}?client_id={client_id}", token, json=body)


LEAD = {"email": "lead@example.com", "source": "web",
        "raw_data": {"page_views": 3, "time_on_site": 40.5, "form_submissions": 1, "email_opens": 2,
                     "email_clicks": 1, "job_title": "VP Sales", "seniority": "vp",
                     "company_size": 200, "industry": "retail", "country": "DE",
                     "last_activity_at": "2024-02-28T10:00:00Z", "days_since_last_activity": 2,
                     "pricing_page_views": 1, "demo_requested": True}}
SETTINGS = {"weights": {"engagement": 1, "demographic": 1, "behavioral": 1},
            "ideal_customer": {"seniorities": ["vp"], "company_size": {"min": 1, "max": 10},
                               "industries": ["retail"], "countries": ["DE"]},
            "thresholds": {"hot": 0.8, "warm": 0.3}}


@FUZZ
@given(lead=mutated(LEAD), settings_body=mutated(SETTINGS))
async def test_lead_bodies_never_break_the_server(world: Any, lead: dict[str, Any],
                                                  settings_body: dict[str, Any]) -> None:
    api, token, client_id, _ = world
    await _call(api, "POST", f"/leadscoring/score?client_id={client_id}", token, json=lead)
    await _call(api, "POST", "/leadscoring/score/batch", token,
                json={"client_id": client_id, "leads": [lead, LEAD]})
    await _call(api, "PUT", f"/leadscoring/settings?client_id={client_id}", token,
                json=settings_body)


queries = st.dictionaries(
    st.sampled_from(["client_id", "alert_id", "status", "limit", "offset", "min_score", "max_score",
                     "label", "source", "sort", "order"]),
    st.text(max_size=12) | st.integers(-5, 2000).map(str), max_size=5)


@FUZZ
@given(query=queries)
async def test_list_queries_never_break_the_server(world: Any, query: dict[str, str]) -> None:
    api, token, _, _ = world
    for path in ("/alerts/instances", "/leadscoring/results", "/alerts"):
        await _call(api, "GET", f"{path}?{urlencode(query)}", token)
