"""Lead scoring results over HTTP: the list's filters, sorts and offset paging, one result and its
history, validation naming every bad parameter, roles and tenants. A scorer of the test's own
(score = page views / 10) makes every score known. Runs over memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest
from dependency_injector import providers

from catalyst_adapters.clock import FrozenClock
from catalyst_core.leads.model import ScoringSettings
from catalyst_core.ports import ScoreResult
from tests.helpers import Caller, Cast, cast, register
from tests.http.test_alerts import UNKNOWN, fields_of, schema_errors
from tests.http.test_leads import history, results, score


class PageViewScorer:
    """score = page_views / 10 (at most 1); the components are the score, 0.5 and 0."""

    def score(self, raw_data: Mapping[str, Any], settings: ScoringSettings, *, now: datetime,
              source: str | None = None) -> ScoreResult:
        value = min(raw_data.get("page_views", 0), 10) / 10
        return ScoreResult(value, {"engagement": value, "demographic": 0.5, "behavioral": 0.0},
                           (f"{raw_data.get('page_views', 0)} page views",))


class Scene(Cast):
    other: str  # the outsider's client
    by_email: dict[str, dict[str, Any]]  # the client's current results
    far: dict[str, Any]  # the other client's one lead


@pytest.fixture
async def scene(api: Any, clock: FrozenClock) -> Scene:
    """The client's leads, an hour apart from 09:00: a 0.9 (website), b 0.5 (facebook), c 0.3
    (website), d 0.7 (no source); c scored again at 13:00 as 0.4 from email. The other client's z
    (1.0, website) at 14:00."""
    api.container.scorer.override(providers.Object(PageViewScorer()))
    s = Scene()
    await cast(api, s)
    s.other = s.elsewhere
    for email, views, source in (("a", 9, "website"), ("b", 5, "facebook"), ("c", 3, "website"),
                                 ("d", 7, None), ("c", 4, "email")):
        await score(s.member, s.client, f"{email}@example.com", {"page_views": views},
                    source=source)
        clock.advance(hours=1)
    s.far = await score(s.outsider, s.other, "z@example.com", {"page_views": 10}, source="website")
    page = await results(s.admin, f"?client_id={s.client}")
    s.by_email = {r["email"][0]: r for r in page["results"]}
    assert {k: r["score"] for k, r in s.by_email.items()} == {"a": 0.9, "b": 0.5, "c": 0.4, "d": 0.7}
    return s


async def listed(who: Caller, query: str = "") -> list[str]:
    """The list's emails' first letters, in order (checking the page's shape on the way)."""
    page = await results(who, query)
    assert set(page) == {"results", "total_items", "limit", "offset"}
    assert schema_errors("LeadResultPage", page) == []
    return [r["email"][0] for r in page["results"]]


def q(client_id: str, **params: Any) -> str:
    return "?" + "&".join(f"{k}={v}" for k, v in {"client_id": client_id, **params}.items())


async def test_a_result_as_listed_and_read(api: Any, scene: Scene) -> None:
    s = scene
    c = s.by_email["c"]
    assert c == {
        "id": c["id"], "client_id": s.client, "email": "c@example.com", "score": 0.4,
        "label": "warm", "value": {"engagement_score": 0.4, "demographic_score": 0.5,
                                   "behavioral_score": 0.0},
        "explanation": ["4 page views"], "raw_data": {"page_views": 4}, "source": "email",
        "scored_count": 2, "created_at": "2024-03-01T11:00:00Z",
        "updated_at": "2024-03-01T13:00:00Z"}
    for who in (s.admin, s.member, s.viewer, s.platform):
        status, reply = await who.get(f"/leadscoring/results/{c['id']}")
        assert status == 200 and reply["data"] == c
    [earlier] = await history(s.viewer, c["id"])
    assert earlier == {"id": earlier["id"], "lead_id": c["id"], "score": 0.3, "label": "cold",
                       "value": {"engagement_score": 0.3, "demographic_score": 0.5,
                                 "behavioral_score": 0.0},
                       "explanation": ["3 page views"], "raw_data": {"page_views": 3},
                       "source": "website", "created_at": "2024-03-01T11:00:00Z"}
    assert await history(s.viewer, s.by_email["a"]["id"]) == []


async def test_highest_score_first_and_every_sort(api: Any, scene: Scene) -> None:
    s = scene
    assert await listed(s.viewer, q(s.client)) == ["a", "d", "b", "c"]
    expected = {("score", "desc"): "adbc", ("score", "asc"): "cbda",
                ("created_at", "desc"): "dcba", ("created_at", "asc"): "abcd",
                ("updated_at", "desc"): "cdba", ("updated_at", "asc"): "abdc",
                ("email", "desc"): "dcba", ("email", "asc"): "abcd"}
    for (sort, order), letters in expected.items():
        assert await listed(s.viewer, q(s.client, sort=sort, order=order)) == list(letters), sort
    # desc is the default order of every sort
    assert await listed(s.viewer, q(s.client, sort="updated_at")) == list("cdba")
    assert await listed(s.viewer, q(s.client, order="asc")) == list("cbda")


async def test_ties_are_broken_by_id(api: Any, scene: Scene) -> None:
    s = scene
    ties = [await score(s.member, s.client, f"tie{i}@example.com", {"page_views": 6})
            for i in range(4)]
    ids = sorted(t["id"] for t in ties)
    page = await results(s.member, q(s.client, min_score=0.6, max_score=0.6))
    assert [r["id"] for r in page["results"]] == ids[::-1]
    page = await results(s.member, q(s.client, min_score=0.6, max_score=0.6, order="asc"))
    assert [r["id"] for r in page["results"]] == ids
    # paging one at a time sees each once
    seen = [(await results(s.member, q(s.client, min_score=0.6, max_score=0.6, limit=1,
                                       offset=i)))["results"][0]["id"] for i in range(4)]
    assert seen == ids[::-1]


async def test_filters_combine(api: Any, scene: Scene) -> None:
    s = scene
    cases = {
        q(s.client, min_score=0.5): "adb",  # inclusive
        q(s.client, max_score=0.5): "bc",
        q(s.client, min_score=0.4, max_score=0.7): "dbc",
        q(s.client, min_score=0.95): "",
        q(s.client, min_score=0.6, max_score=0.4): "",
        q(s.client, label="hot"): "ad",  # 0.7 is hot: at or above the threshold
        q(s.client, label="warm"): "bc",  # c was cold; its current scoring counts
        q(s.client, label="cold"): "",
        q(s.client, source="website"): "a",  # c's current scoring came from email
        q(s.client, source="email"): "c",
        q(s.client, source="Website"): "",
        q(s.client, label="hot", source="website"): "a",
        q(s.client, min_score=0.5, label="warm"): "b",
    }
    for query, letters in cases.items():
        assert await listed(s.member, query) == list(letters), query
        assert (await results(s.member, query))["total_items"] == len(letters)


async def test_offset_paging(api: Any, scene: Scene) -> None:
    s = scene
    page = await results(s.viewer, q(s.client))
    assert (page["total_items"], page["limit"], page["offset"]) == (4, 100, 0)
    page = await results(s.viewer, q(s.client, limit=2))
    assert [r["email"][0] for r in page["results"]] == ["a", "d"]
    assert (page["total_items"], page["limit"], page["offset"]) == (4, 2, 0)
    page = await results(s.viewer, q(s.client, limit=2, offset=2))
    assert [r["email"][0] for r in page["results"]] == ["b", "c"] and page["offset"] == 2
    page = await results(s.viewer, q(s.client, limit=3, offset=3))
    assert [r["email"][0] for r in page["results"]] == ["c"]
    for offset in (4, 10**12):
        page = await results(s.viewer, q(s.client, offset=offset))
        assert (page["results"], page["total_items"]) == ([], 4)
    assert len((await results(s.viewer, q(s.client, limit=1)))["results"]) == 1
    assert (await results(s.viewer, q(s.client, limit=1000)))["limit"] == 1000
    for params, field in (({"limit": 0}, "limit"), ({"limit": 1001}, "limit"),
                          ({"limit": -1}, "limit"), ({"limit": "ten"}, "limit"),
                          ({"offset": -1}, "offset"), ({"offset": "x"}, "offset"),
                          ({"limit": 2.5}, "limit")):
        status, reply = await s.viewer.get("/leadscoring/results" + q(s.client, **params))
        assert status == 422 and set(fields_of(reply)) == {field}, params


async def test_a_bad_query_names_every_bad_parameter(api: Any, scene: Scene) -> None:
    s = scene
    status, reply = await s.viewer.get(
        "/leadscoring/results?client_id=nope&min_score=2&max_score=x&label=tepid&sort=name"
        "&order=up&limit=0&offset=-1")
    assert status == 422
    fields = fields_of(reply)
    assert set(fields) == {"client_id", "min_score", "max_score", "label", "sort", "order",
                           "limit", "offset"}
    assert "score, created_at, updated_at, email" in fields["sort"]
    assert "hot, warm, cold" in fields["label"]
    for params, field in (({"min_score": -0.1}, "min_score"), ({"max_score": 1.01}, "max_score"),
                          ({"min_score": "nan"}, "min_score"), ({"max_score": "inf"}, "max_score"),
                          ({"min_score": "1_0"}, "min_score"), ({"sort": "id"}, "sort"),
                          ({"source": "%00"}, "source")):
        status, reply = await s.viewer.get("/leadscoring/results" + q(s.client, **params))
        assert status == 422 and set(fields_of(reply)) == {field}, params
    # the bounds themselves are fine; unknown parameters are ignored
    assert await listed(s.viewer, q(s.client, min_score=0, max_score=1, colour="red")) == list("adbc")
    assert await listed(s.viewer, q(s.client, min_score="1e-1", max_score="+.9")) == list("adbc")


async def test_each_caller_sees_the_clients_they_belong_to(api: Any, scene: Scene) -> None:
    s = scene
    # unfiltered: every client of the caller's, and only those
    assert await listed(s.member) == list("adbc")
    assert await listed(s.viewer) == list("adbc")
    assert await listed(s.outsider) == ["z"]
    assert await listed(s.platform) == list("zadbc")
    assert await listed(s.platform, f"?client_id={s.other}") == ["z"]
    loner = await register(api, "Loner")
    assert await listed(loner) == []
    # a client the caller does not belong to, or none at all, is 404
    for who, client_id in ((s.admin, s.other), (s.viewer, s.other), (s.outsider, s.client),
                           (s.member, UNKNOWN), (s.platform, UNKNOWN), (loner, s.client)):
        status, reply = await who.get(f"/leadscoring/results?client_id={client_id}")
        assert status == 404 and reply["status_code"] == 404, (who.user["name"], client_id)
    # the lead of another client is not found, as if it did not exist
    a = s.by_email["a"]
    for who, lead_id in ((s.admin, s.far["id"]), (s.member, s.far["id"]),
                         (s.viewer, s.far["id"]), (s.outsider, a["id"]), (loner, a["id"]),
                         (s.admin, UNKNOWN)):
        for path in (f"/leadscoring/results/{lead_id}", f"/leadscoring/results/{lead_id}/history"):
            status, reply = await who.get(path)
            assert status == 404 and reply["status_code"] == 404, path
    status, reply = await s.platform.get(f"/leadscoring/results/{s.far['id']}")
    assert status == 200 and reply["data"] == s.far
    for path in ("/leadscoring/results/not-a-uuid", "/leadscoring/results/not-a-uuid/history"):
        status, reply = await s.admin.get(path)
        assert status == 422 and set(fields_of(reply)) == {"lead_id"}
