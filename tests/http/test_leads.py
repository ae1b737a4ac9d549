"""Lead scoring over HTTP: scoring one lead and a batch, re-scoring with history, validation naming
every bad field, roles and tenants. Runs over memory, SQLite and PostgreSQL. (The result list, one
result and its history are in test_lead_results.py; settings and a swapped scorer in
test_lead_settings.py.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from tests.helpers import API, Caller, Cast, cast, new_client
from tests.http.test_alerts import UNKNOWN, fields_of, schema_errors

NOW = "2024-03-01T09:00:00Z"  # the frozen clock (tests/helpers.py START)
REFERENCE = {"page_views": 10, "time_on_site": 200, "form_submissions": 1}
RESULT_FIELDS = {"id", "client_id", "email", "score", "label", "value", "explanation", "raw_data",
                 "source", "scored_count", "created_at", "updated_at"}
DEFAULT_SETTINGS = {
    "weights": {"engagement": 0.4, "demographic": 0.3, "behavioral": 0.3},
    "ideal_customer": {"seniorities": ["owner", "c_level", "vp", "director"], "industries": [],
                       "countries": [], "company_size": {"min": 10, "max": 1000}},
    "thresholds": {"hot": 0.7, "warm": 0.4},
}


class Scene(Cast):
    @property
    def other(self) -> str:  # the outsider's client
        return self.elsewhere


@pytest.fixture
async def scene(api: Any, clock: FrozenClock) -> Scene:
    return await cast(api, Scene())  # type: ignore[return-value]


async def score(who: Caller, client_id: str, email: str, raw_data: dict[str, Any] | None = None,
                **extra: Any) -> dict[str, Any]:
    status, reply = await who.post("/leadscoring/score", json={
        "email": email, "raw_data": REFERENCE if raw_data is None else raw_data,
        "client_id": client_id, **extra})
    assert status == 200, reply
    assert (reply["status_code"], reply["message"]) == (200, "Lead scored")
    assert schema_errors("LeadResult", reply["data"]) == []
    return reply["data"]


async def batch(who: Caller, client_id: str, leads: list[dict[str, Any]]) -> dict[str, Any]:
    status, reply = await who.post("/leadscoring/score/batch",
                                   json={"client_id": client_id, "leads": leads})
    assert status == 200, reply
    assert schema_errors("LeadBatchResult", reply["data"]) == []
    return reply["data"]


async def history(who: Caller, lead_id: str) -> list[dict[str, Any]]:
    status, reply = await who.get(f"/leadscoring/results/{lead_id}/history")
    assert status == 200, reply
    assert schema_errors("LeadHistory", reply["data"]) == []
    assert reply["data"]["count"] == len(reply["data"]["history"])
    return reply["data"]["history"]


async def results(who: Caller, query: str = "") -> dict[str, Any]:
    status, reply = await who.get(f"/leadscoring/results{query}")
    assert status == 200, reply
    return reply["data"]


async def settings_of(who: Caller, client_id: str) -> dict[str, Any]:
    status, reply = await who.get(f"/leadscoring/settings?client_id={client_id}")
    assert status == 200, reply
    assert schema_errors("LeadScoringSettings", reply["data"]) == []
    return reply["data"]


def label_of(score_: float, hot: float = 0.7, warm: float = 0.4) -> str:
    return "hot" if score_ >= hot else "warm" if score_ >= warm else "cold"


# -- scoring one lead -------------------------------------------------------------------------------

async def test_score_a_lead_as_the_reference_sends_it(api: Any, scene: Scene) -> None:
    s = scene
    result = await score(s.member, s.client, "Lead@Example.com", source="website")
    uuid.UUID(result["id"])
    assert set(result) == RESULT_FIELDS
    assert (result["client_id"], result["email"], result["source"]) == (s.client, "lead@example.com",
                                                                         "website")
    assert result["raw_data"] == REFERENCE
    assert (result["created_at"], result["updated_at"], result["scored_count"]) == (NOW, NOW, 1)
    value = result["value"]
    assert set(value) == {"engagement_score", "demographic_score", "behavioral_score"}
    assert all(0 <= v <= 1 for v in value.values()) and 0 <= result["score"] <= 1
    # the default weights 0.4 / 0.3 / 0.3
    expected = (0.4 * value["engagement_score"] + 0.3 * value["demographic_score"]
                + 0.3 * value["behavioral_score"])
    assert result["score"] == pytest.approx(expected)
    assert result["label"] == label_of(result["score"])
    assert result["explanation"] and all(isinstance(e, str) and e for e in result["explanation"])
    assert "10 page views" in result["explanation"]
    # stored: the same result is read back, with no history yet; viewers read it too
    for who in (s.member, s.viewer, s.admin, s.platform):
        status, reply = await who.get(f"/leadscoring/results/{result['id']}")
        assert status == 200 and reply == {"status_code": 200, "message": "Success", "data": result}
    assert await history(s.viewer, result["id"]) == []


async def test_a_lead_with_no_signals_still_has_an_explanation(api: Any, scene: Scene) -> None:
    result = await score(scene.member, scene.client, "quiet@example.com", {"unknown_key": [1, 2]})
    assert result["explanation"] == ["no engagement or fit signals"]
    assert result["raw_data"] == {"unknown_key": [1, 2]} and result["source"] is None
    assert result["label"] == label_of(result["score"])


async def test_the_client_may_be_named_in_the_query_or_the_body(api: Any, scene: Scene) -> None:
    s = scene
    lead = {"email": "q@example.com", "raw_data": {}}
    status, reply = await s.member.post(f"/leadscoring/score?client_id={s.client}", json=lead)
    assert status == 200 and reply["data"]["client_id"] == s.client
    status, reply = await s.member.post(f"/leadscoring/score?client_id={s.client}",
                                        json={**lead, "client_id": s.client})
    assert status == 200 and reply["data"]["scored_count"] == 2
    status, reply = await s.member.post(f"/leadscoring/score/batch?client_id={s.client}",
                                        json={"leads": [lead]})
    assert status == 200 and reply["data"]["results"][0]["scored_count"] == 3
    # both, and different; neither; not a UUID
    own = await new_client(s.member, "Member's own")
    for path, body in ((f"/leadscoring/score?client_id={own}", {**lead, "client_id": s.client}),
                       ("/leadscoring/score", lead),
                       ("/leadscoring/score", {**lead, "client_id": "nope"}),
                       ("/leadscoring/score?client_id=nope", lead),
                       (f"/leadscoring/score/batch?client_id={own}",
                        {"leads": [lead], "client_id": s.client}),
                       ("/leadscoring/score/batch", {"leads": [lead]})):
        status, reply = await s.member.post(path, json=body)
        assert status == 422 and set(fields_of(reply)) == {"client_id"}, (path, reply)
    assert (await results(s.member, f"?client_id={own}"))["total_items"] == 0


# -- re-scoring and history -------------------------------------------------------------------------

async def test_scoring_an_email_again_updates_its_result_and_keeps_history(
        api: Any, scene: Scene, clock: FrozenClock) -> None:
    s = scene
    first = await score(s.member, s.client, "again@example.com", {"page_views": 1}, source="ads")
    assert await history(s.member, first["id"]) == []
    clock.advance(hours=1)
    second = await score(s.admin, s.client, " AGAIN@example.COM ",
                         {"page_views": 40, "demo_requested": True}, source="email")
    assert second["id"] == first["id"] and second["email"] == "again@example.com"
    assert (second["created_at"], second["updated_at"]) == (NOW, "2024-03-01T10:00:00Z")
    assert second["scored_count"] == 2 and second["score"] > first["score"]
    assert (second["source"], second["raw_data"]) == ("email", {"page_views": 40,
                                                                "demo_requested": True})
    [earlier] = await history(s.viewer, first["id"])
    assert earlier == {"id": earlier["id"], "lead_id": first["id"], "score": first["score"],
                       "label": first["label"], "value": first["value"],
                       "explanation": first["explanation"], "raw_data": {"page_views": 1},
                       "source": "ads", "created_at": NOW}
    clock.advance(hours=1)
    third = await score(s.member, s.client, "again@example.com", {"page_views": 3})
    assert third["scored_count"] == 3 and third["updated_at"] == "2024-03-01T11:00:00Z"
    entries = await history(s.member, first["id"])
    # newest first
    assert [e["created_at"] for e in entries] == ["2024-03-01T10:00:00Z", NOW]
    assert [e["score"] for e in entries] == [second["score"], first["score"]]
    assert entries[0]["value"] == second["value"] and entries[1] == earlier
    assert len({e["id"] for e in entries}) == 2
    # one lead, not three
    page = await results(s.member, f"?client_id={s.client}")
    assert page["total_items"] == 1 and page["results"] == [third]


# -- batches ----------------------------------------------------------------------------------------

async def test_score_a_batch_in_the_order_sent(api: Any, scene: Scene) -> None:
    s = scene
    before = await score(s.member, s.client, "known@example.com", {"page_views": 1})
    reply = await batch(s.member, s.client, [
        {"email": "one@example.com", "raw_data": {"page_views": 5}, "source": "website"},
        {"email": "KNOWN@example.com", "raw_data": {"page_views": 2}},
        {"email": "two@example.com", "raw_data": {}, "source": None},
        {"email": "one@example.com", "raw_data": {"page_views": 50}, "source": "crm"},
    ])
    assert reply["count"] == 4
    one, known, two, one_again = reply["results"]
    assert [r["email"] for r in reply["results"]] == ["one@example.com", "known@example.com",
                                                      "two@example.com", "one@example.com"]
    assert all(set(r) == RESULT_FIELDS and r["client_id"] == s.client for r in reply["results"])
    assert (known["id"], known["scored_count"], known["created_at"]) == (before["id"], 2, NOW)
    # the repeated email: scored in order, the later one current, the earlier one its history
    assert one_again["id"] == one["id"] and (one["scored_count"], one_again["scored_count"]) == (1, 2)
    assert one_again["score"] > one["score"] and one_again["source"] == "crm"
    [earlier] = await history(s.member, one["id"])
    assert (earlier["score"], earlier["source"], earlier["raw_data"]) == (
        one["score"], "website", {"page_views": 5})
    assert two["source"] is None
    status, reply = await s.viewer.get(f"/leadscoring/results/{one['id']}")
    assert status == 200 and reply["data"] == one_again
    assert (await results(s.member, f"?client_id={s.client}"))["total_items"] == 3


async def test_a_batch_of_a_thousand_leads(api: Any, scene: Scene) -> None:
    s = scene
    leads = [{"email": f"lead{i}@example.com", "raw_data": {"page_views": i % 20, "note": "x" * 40},
              "source": "import"} for i in range(1000)]
    reply = await batch(s.member, s.client, leads)
    assert reply["count"] == 1000 and len(reply["results"]) == 1000
    assert [r["email"] for r in reply["results"]] == [lead["email"] for lead in leads]
    assert len({r["id"] for r in reply["results"]}) == 1000
    page = await results(s.viewer, f"?client_id={s.client}&limit=1000")
    assert page["total_items"] == 1000 and len(page["results"]) == 1000
    # one more is too many, and nothing of it is stored
    status, reply = await s.member.post("/leadscoring/score/batch", json={
        "client_id": s.client,
        "leads": [{"email": f"extra{i}@example.com", "raw_data": {}} for i in range(1001)]})
    assert status == 422 and set(fields_of(reply)) == {"leads"}
    assert "1000" in fields_of(reply)["leads"]
    assert (await results(s.viewer, f"?client_id={s.client}&limit=1"))["total_items"] == 1000


# -- validation -------------------------------------------------------------------------------------

async def test_a_bad_lead_names_every_bad_field_and_stores_nothing(api: Any, scene: Scene) -> None:
    s = scene
    path = f"/leadscoring/score?client_id={s.client}"
    # wrong JSON types, a missing field and an unknown one
    status, reply = await s.member.post("/leadscoring/score?client_id=nope", json={
        "email": 5, "raw_data": [], "source": 7, "colour": "red"})
    assert status == 422
    assert set(fields_of(reply)) == {"client_id", "email", "raw_data", "source", "colour"}
    assert fields_of(reply)["raw_data"] == "must be a JSON object"
    status, reply = await s.member.post(path, json={"source": "x"})
    assert status == 422 and set(fields_of(reply)) == {"email", "raw_data"}
    status, reply = await s.member.post(path, json={"email": "a@example.com", "raw_data": None})
    assert status == 422 and set(fields_of(reply)) == {"raw_data"}
    # well-typed but wrong: the email, the scorer's known keys, the source
    status, reply = await s.member.post(path, json={
        "email": "not an email", "source": "s" * 101,
        "raw_data": {"page_views": "many", "demo_requested": "yes", "company_size": -3,
                     "country": "Narnia", "other": "ignored"}})
    assert status == 422
    fields = fields_of(reply)
    assert set(fields) == {"email", "source", "raw_data.page_views", "raw_data.demo_requested",
                           "raw_data.company_size", "raw_data.country"}
    assert "whole number" in fields["raw_data.page_views"]
    for bad, field in (({"email": "a@example.com", "raw_data": {}, "source": "bad\x00source"},
                        "source"),
                       ({"email": "a@example.com", "raw_data": {"note": "x" * (17 * 1024)}},
                        "raw_data")):
        status, reply = await s.member.post(path, json=bad)
        assert status == 422 and set(fields_of(reply)) == {field}, bad
    # malformed JSON
    response = await s.member.client.post(f"{API}{path}", data=b"{nope", headers={
        **s.member.headers, "Content-Type": "application/json"})
    assert response.status == 400 and (await response.json())["status_code"] == 400
    assert (await results(s.admin))["total_items"] == 0


async def test_text_with_u0000_is_refused(api: Any, scene: Scene) -> None:
    # PostgreSQL cannot store U+0000: an email holding it was once a 500 there
    s = scene
    path = f"/leadscoring/score?client_id={scene.client}"
    for bad, field in (({"email": "a\x00@example.com", "raw_data": {}}, "email"),
                       ({"email": "a@example.com", "raw_data": {"note": "x\x00y"}},
                        "raw_data.note"),
                       ({"email": "a@example.com", "raw_data": {"no\x00te": 1}}, "raw_data")):
        status, reply = await s.member.post(path, json=bad)
        assert status == 422 and set(fields_of(reply)) == {field}, (bad, reply)
    assert (await results(s.admin))["total_items"] == 0


async def test_a_bad_batch_names_every_bad_field_of_every_lead_and_stores_nothing(
        api: Any, scene: Scene) -> None:
    s = scene
    good = {"email": "good@example.com", "raw_data": {"page_views": 3}}
    leads = [good, {"email": "fine@example.com", "raw_data": {"page_views": "lots"}}, good,
             {"email": "nope", "raw_data": {}},
             {"email": "ok@example.com", "raw_data": {"time_on_site": -1, "seniority": "king"}}]
    status, reply = await s.member.post("/leadscoring/score/batch",
                                        json={"client_id": s.client, "leads": leads})
    assert status == 422
    assert set(fields_of(reply)) == {"leads.1.raw_data.page_views", "leads.3.email",
                                     "leads.4.raw_data.time_on_site", "leads.4.raw_data.seniority"}
    # the shape: a missing email, an unknown field, raw data that is not an object, a bad client
    status, reply = await s.member.post("/leadscoring/score/batch?client_id=nope", json={
        "leads": [good, {"raw_data": {}}, {**good, "score": 1}, {"email": 3, "raw_data": "x"}],
        "extra": True})
    assert status == 422
    assert set(fields_of(reply)) == {"client_id", "leads.1.email", "leads.2.score",
                                     "leads.3.email", "leads.3.raw_data", "extra"}
    for body in ({"client_id": s.client, "leads": []}, {"client_id": s.client, "leads": good},
                 {"client_id": s.client}, {"client_id": s.client, "leads": "x"}):
        status, reply = await s.member.post("/leadscoring/score/batch", json=body)
        assert status == 422 and set(fields_of(reply)) == {"leads"}, body
    assert (await results(s.admin))["total_items"] == 0


# -- roles and tenants ------------------------------------------------------------------------------

async def test_members_score_viewers_read_outsiders_see_nothing(api: Any, scene: Scene) -> None:
    s = scene
    lead = {"email": "role@example.com", "raw_data": REFERENCE, "client_id": s.client}
    for who, expected in ((s.viewer, 403), (s.outsider, 404), (s.member, 200), (s.admin, 200),
                          (s.platform, 200)):
        status, reply = await who.post("/leadscoring/score", json=lead)
        assert status == expected and reply["status_code"] == expected, (who.user["name"], reply)
        status, reply = await who.post("/leadscoring/score/batch",
                                       json={"client_id": s.client, "leads": [
                                           {k: v for k, v in lead.items() if k != "client_id"}]})
        assert status == expected, (who.user["name"], reply)
    # an unknown client is the same 404 as one the caller does not belong to
    status, reply = await s.member.post("/leadscoring/score", json={**lead, "client_id": UNKNOWN})
    assert status == 404
    status, reply = await s.platform.post("/leadscoring/score", json={**lead, "client_id": UNKNOWN})
    assert status == 404
    result = (await results(s.member, f"?client_id={s.client}"))["results"][0]
    assert result["scored_count"] == 6  # three callers, one and a batch each
    # the outsider's own client is theirs to score; the lead is not visible across clients
    theirs = await score(s.outsider, s.other, "role@example.com")
    assert theirs["id"] != result["id"] and theirs["scored_count"] == 1
    for who in (s.admin, s.member, s.viewer):
        for path in (f"/leadscoring/results/{theirs['id']}",
                     f"/leadscoring/results/{theirs['id']}/history"):
            status, reply = await who.get(path)
            assert status == 404 and reply["status_code"] == 404, path
    status, reply = await s.outsider.get(f"/leadscoring/results/{result['id']}")
    assert status == 404


async def test_every_endpoint_needs_a_token(api: Any, scene: Scene) -> None:
    lead_id = (await score(scene.member, scene.client, "t@example.com"))["id"]
    for method, path, body in (
            ("GET", f"/leadscoring/settings?client_id={scene.client}", None),
            ("PUT", f"/leadscoring/settings?client_id={scene.client}", {}),
            ("POST", "/leadscoring/score", {"email": "t@example.com", "raw_data": {}}),
            ("POST", "/leadscoring/score/batch", {"leads": []}),
            ("GET", "/leadscoring/results", None),
            ("GET", f"/leadscoring/results/{lead_id}", None),
            ("GET", f"/leadscoring/results/{lead_id}/history", None)):
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            response = await api.request(method, API + path, json=body, headers=headers)
            assert response.status == 401, (method, path)
            reply = await response.json()
            assert reply["status_code"] == 401 and "detail" in reply
