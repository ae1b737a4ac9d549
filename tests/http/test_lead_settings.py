"""Lead scoring settings over HTTP (defaults, key-by-key changes by admins, every bad field named,
what they change in later scorings) and a scorer swapped in the container. Runs over memory, SQLite
and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from dependency_injector import providers

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.scoring_fixed import FixedScorer
from tests.helpers import new_client, register
from tests.http.test_alerts import UNKNOWN, fields_of, schema_errors
from tests.http.test_leads import (
    DEFAULT_SETTINGS,
    REFERENCE,
    Scene,
    batch,
    history,
    label_of,
    scene,
    score,
    settings_of,
)

__all__ = ["scene"]  # the fixture, shared with test_leads.py


# -- settings ---------------------------------------------------------------------------------------

async def test_every_member_reads_the_default_settings(api: Any, scene: Scene) -> None:
    s = scene
    for who in (s.admin, s.member, s.viewer, s.platform):
        assert await settings_of(who, s.client) == {
            "client_id": s.client, **DEFAULT_SETTINGS, "updated_at": None, "updated_by": None}
    status, reply = await s.outsider.get(f"/leadscoring/settings?client_id={s.client}")
    assert status == 404
    status, reply = await s.admin.get(f"/leadscoring/settings?client_id={UNKNOWN}")
    assert status == 404
    for query in ("", "?client_id=nope"):
        status, reply = await s.admin.get(f"/leadscoring/settings{query}")
        assert status == 422 and set(fields_of(reply)) == {"client_id"}


async def test_admins_change_settings_key_by_key(api: Any, scene: Scene, clock: FrozenClock) -> None:
    s = scene
    path = f"/leadscoring/settings?client_id={s.client}"
    clock.advance(minutes=5)
    status, reply = await s.admin.put(path, json={
        "weights": {"engagement": 2}, "thresholds": {"hot": 0.8},
        "ideal_customer": {"industries": ["  Software  as a Service "], "countries": ["us", "DE"],
                           "company_size": {"max": 500}}})
    assert status == 200, reply
    assert reply["message"] == "Lead scoring settings updated"
    changed = {
        "client_id": s.client,
        "weights": {"engagement": 2, "demographic": 0.3, "behavioral": 0.3},
        "ideal_customer": {"seniorities": ["owner", "c_level", "vp", "director"],
                           "industries": ["software as a service"], "countries": ["US", "DE"],
                           "company_size": {"min": 10, "max": 500}},
        "thresholds": {"hot": 0.8, "warm": 0.4},
        "updated_at": "2024-03-01T09:05:00Z", "updated_by": s.admin.id}
    assert reply["data"] == changed
    assert schema_errors("LeadScoringSettings", reply["data"]) == []
    assert await settings_of(s.viewer, s.client) == changed
    # the client in the body; a platform admin acts as the client's admin
    status, reply = await s.platform.put("/leadscoring/settings", json={
        "client_id": s.client, "ideal_customer": {"seniorities": ["manager"]}})
    assert status == 200 and reply["data"]["updated_by"] == s.platform.id
    assert reply["data"]["ideal_customer"]["seniorities"] == ["manager"]
    assert reply["data"]["thresholds"] == {"hot": 0.8, "warm": 0.4}
    # members and viewers read but do not change; outsiders see nothing
    for who, expected in ((s.member, 403), (s.viewer, 403), (s.outsider, 404)):
        status, reply = await who.put(path, json={"thresholds": {"hot": 0.9}})
        assert status == expected and reply["status_code"] == expected
    status, reply = await s.admin.put(f"/leadscoring/settings?client_id={s.other}",
                                      json={"thresholds": {"hot": 0.9}})
    assert status == 404
    assert (await settings_of(s.member, s.client))["thresholds"]["hot"] == 0.8
    # each client has its own
    assert (await settings_of(s.outsider, s.other))["thresholds"]["hot"] == 0.7


async def test_bad_settings_name_every_bad_field_and_change_nothing(api: Any, scene: Scene) -> None:
    s = scene
    path = f"/leadscoring/settings?client_id={s.client}"
    for body, expected in (
            ({"weights": {"engagement": 0, "demographic": 0, "behavioral": 0}}, {"weights"}),
            ({"thresholds": {"hot": 0.3}}, {"thresholds"}),  # below the default warm 0.4
            ({"thresholds": {"hot": 0.5, "warm": 0.5}}, {"thresholds"}),
            ({"ideal_customer": {"company_size": {"min": 2000}}}, {"ideal_customer.company_size"}),
            ({"weights": {"engagement": -1, "demographic": "x", "reach": 1},
              "thresholds": {"hot": 2, "warm": True},
              "ideal_customer": {"seniorities": ["emperor"], "countries": ["USA"],
                                 "company_size": {"min": -1}},
              "colour": "red"},
             {"weights.engagement", "weights.demographic", "weights.reach", "thresholds.hot",
              "thresholds.warm", "ideal_customer.seniorities", "ideal_customer.countries",
              "ideal_customer.company_size.min", "colour"})):
        status, reply = await s.admin.put(path, json=body)
        assert status == 422, (body, reply)
        assert set(fields_of(reply)) == expected, body
    # a bad query and a bad body field in one answer
    status, reply = await s.admin.put(f"/leadscoring/settings?client_id={s.client}",
                                      json={"client_id": s.other})
    assert status == 422 and set(fields_of(reply)) == {"client_id"}
    status, reply = await s.admin.put("/leadscoring/settings", json={})
    assert status == 422 and set(fields_of(reply)) == {"client_id"}
    assert await settings_of(s.admin, s.client) == {
        "client_id": s.client, **DEFAULT_SETTINGS, "updated_at": None, "updated_by": None}


async def test_settings_change_the_label_and_the_score_of_later_scorings(
        api: Any, scene: Scene) -> None:
    s = scene
    raw = {"page_views": 3, "time_on_site": 60}
    before = await score(s.member, s.client, "label@example.com", raw)
    assert before["label"] == label_of(before["score"]) != "hot"
    # hot from just below this lead's score: the same data now scores hot
    hot = round(before["score"] - 0.01, 4)
    status, reply = await s.admin.put(f"/leadscoring/settings?client_id={s.client}",
                                      json={"thresholds": {"hot": hot, "warm": hot / 2}})
    assert status == 200, reply
    after = await score(s.member, s.client, "label@example.com", raw)
    assert after["score"] == before["score"] and after["label"] == "hot"
    # the earlier scoring keeps the label it had
    [earlier] = await history(s.member, before["id"])
    assert earlier["label"] == before["label"]
    # only engagement counts: the score is the engagement component
    status, reply = await s.admin.put(f"/leadscoring/settings?client_id={s.client}",
                                      json={"weights": {"engagement": 1, "demographic": 0,
                                                        "behavioral": 0}})
    assert status == 200, reply
    engaged = await score(s.member, s.client, "label@example.com", raw)
    assert engaged["value"] == before["value"]
    assert engaged["score"] == pytest.approx(before["value"]["engagement_score"])
    assert engaged["score"] != pytest.approx(before["score"])
    # the other client's leads are scored with its own settings
    theirs = await score(s.outsider, s.other, "label@example.com", raw)
    assert theirs["score"] == before["score"] and theirs["label"] == before["label"]


# -- another scorer -------------------------------------------------------------------------------

async def test_a_scorer_swapped_in_the_container_scores_every_lead(api: Any) -> None:
    # the only change: before the first request, as an embedder would
    api.container.scorer.override(providers.Object(FixedScorer(
        0.55, {"engagement": 0.1, "demographic": 0.2, "behavioral": 0.9}, ("fixed by test",))))
    admin = await register(api, "Admin")
    client_id = await new_client(admin)
    result = await score(admin, client_id, "fixed@example.com", REFERENCE)
    assert (result["score"], result["label"], result["explanation"]) == (
        0.55, "warm", ["fixed by test"])
    assert result["value"] == {"engagement_score": 0.1, "demographic_score": 0.2,
                               "behavioral_score": 0.9}
    # what the default scorer would refuse, this one takes
    result = await score(admin, client_id, "other@example.com", {"page_views": "many"})
    assert result["score"] == 0.55
    reply = await batch(admin, client_id, [{"email": f"b{i}@example.com", "raw_data": {}}
                                           for i in range(3)])
    assert {r["score"] for r in reply["results"]} == {0.55}
    status, reply = await admin.put(f"/leadscoring/settings?client_id={client_id}",
                                    json={"thresholds": {"hot": 0.5}})
    assert status == 200
    assert (await score(admin, client_id, "fixed@example.com", {}))["label"] == "hot"
