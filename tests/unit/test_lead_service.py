"""LeadScoringService over the in-memory storage with a scorer of the test's own: results, history,
batches checked whole before anything is stored, roles, and labels from the client's settings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.memory import MemoryStorage
from catalyst_contracts.storage.helpers import put
from catalyst_contracts.strategies import BASE_TIME, make_client, make_membership, make_user
from catalyst_core.auth.model import Actor
from catalyst_core.clients.model import ClientRole
from catalyst_core.errors import Forbidden, InvalidInput, NotFound
from catalyst_core.ids import sequential_ids
from catalyst_core.leads.model import Label, NewLead, ScoringSettings
from catalyst_core.leads.service import LeadFilters, LeadScoringService
from catalyst_core.paging import OffsetRequest, Order, SortSpec
from catalyst_core.ports import ScoreResult


class PageViewScorer:
    """score = page_views / 10 (at most 1); a non-integer page_views is refused by name."""

    def score(self, raw_data: Mapping[str, Any], settings: ScoringSettings, *, now: datetime,
              source: str | None = None) -> ScoreResult:
        views = raw_data.get("page_views", 0)
        if not isinstance(views, int) or isinstance(views, bool):
            raise InvalidInput({"raw_data.page_views": "must be a whole number"})
        score = min(views / 10, 1.0)
        return ScoreResult(score, {"engagement": score, "demographic": 0.5, "behavioral": 0.0},
                           (f"{views} page views",))


@pytest.fixture
async def world() -> Any:
    storage, clock = MemoryStorage(), FrozenClock(BASE_TIME)
    admin, member, viewer, outsider = make_user(), make_user(), make_user(), make_user()
    client, other = make_client(), make_client()
    await put(storage, admin, member, viewer, outsider, client, other,
              make_membership(client, admin, ClientRole.ADMIN),
              make_membership(client, member, ClientRole.MEMBER),
              make_membership(client, viewer, ClientRole.VIEWER),
              make_membership(other, outsider, ClientRole.ADMIN))
    service = LeadScoringService(storage, clock, PageViewScorer(), sequential_ids())

    class World:
        pass

    w = World()
    w.service, w.clock, w.client, w.other = service, clock, client.id, other.id  # type: ignore[attr-defined]
    w.admin, w.member = Actor(admin.id), Actor(member.id)  # type: ignore[attr-defined]
    w.viewer, w.outsider = Actor(viewer.id), Actor(outsider.id)  # type: ignore[attr-defined]
    return w


async def test_scoring_again_updates_the_result_and_keeps_the_earlier_scoring(world: Any) -> None:
    w = world
    first = await w.service.score(w.member, w.client, NewLead("Ann@Example.com", {"page_views": 3}, "web"))
    assert (first.email, first.current.score, first.current.label) == ("ann@example.com", 0.3, Label.COLD)
    assert await w.service.history(w.viewer, first.id) == []
    w.clock.advance(minutes=5)
    second = await w.service.score(w.member, w.client, NewLead("ann@example.com", {"page_views": 8}))
    assert second.id == first.id and second.current.score == 0.8 and second.current.label is Label.HOT
    assert (second.created_at, second.current.scored_at, second.scored_count) == (
        first.created_at, w.clock.now(), 2)
    [earlier] = await w.service.history(w.viewer, first.id)
    assert earlier.scoring == first.current


async def test_a_batch_is_checked_whole_before_anything_is_stored(world: Any) -> None:
    w = world
    leads = [NewLead(f"lead{i}@example.com", {"page_views": i}) for i in range(5)]
    leads[1] = NewLead("not an email", {"page_views": 1})
    leads[3] = NewLead("x@example.com", {"page_views": "many"}, source="a\x00b")
    with pytest.raises(InvalidInput) as caught:
        await w.service.score_batch(w.member, w.client, leads)
    assert set(caught.value.fields) == {"leads.1.email", "leads.3.raw_data.page_views",
                                        "leads.3.source"}
    listed = await w.service.list(w.admin, LeadFilters(client_id=w.client), OffsetRequest(),
                                  SortSpec("score"))
    assert listed.total_items == 0
    with pytest.raises(InvalidInput):
        await w.service.score_batch(w.member, w.client, [])


async def test_an_email_repeated_in_a_batch_is_scored_in_order(world: Any) -> None:
    w = world
    results = await w.service.score_batch(w.member, w.client, [
        NewLead("a@example.com", {"page_views": 1}), NewLead("b@example.com", {"page_views": 9}),
        NewLead("A@example.com", {"page_views": 5})])
    assert [r.current.score for r in results] == [0.1, 0.9, 0.5]
    assert results[0].id == results[2].id
    listed = await w.service.list(w.admin, LeadFilters(client_id=w.client), OffsetRequest(),
                                  SortSpec("score", Order.DESC))
    assert [(r.email, r.current.score) for r in listed.items] == [("b@example.com", 0.9),
                                                                  ("a@example.com", 0.5)]
    assert [h.scoring.score for h in await w.service.history(w.admin, results[0].id)] == [0.1]


async def test_roles_and_tenants(world: Any) -> None:
    w = world
    lead = await w.service.score(w.member, w.client, NewLead("c@example.com", {"page_views": 2}))
    with pytest.raises(Forbidden):
        await w.service.score(w.viewer, w.client, NewLead("d@example.com", {}))
    with pytest.raises(NotFound):
        await w.service.score(w.outsider, w.client, NewLead("d@example.com", {}))
    with pytest.raises(NotFound):
        await w.service.get(w.outsider, lead.id)
    with pytest.raises(NotFound):
        await w.service.history(w.outsider, lead.id)
    with pytest.raises(Forbidden):
        await w.service.update_settings(w.member, w.client, {"thresholds": {"hot": 0.9}})
    assert (await w.service.settings(w.viewer, w.client)).thresholds.hot == 0.7
    outsiders = await w.service.list(w.outsider, LeadFilters(), OffsetRequest(), SortSpec("score"))
    assert outsiders.total_items == 0


async def test_the_clients_thresholds_set_the_label(world: Any) -> None:
    w = world
    await w.service.update_settings(w.admin, w.client, {"thresholds": {"hot": 0.25, "warm": 0.1}})
    lead = await w.service.score(w.member, w.client, NewLead("e@example.com", {"page_views": 3}))
    assert lead.current.label is Label.HOT
    hot = await w.service.list(w.admin, LeadFilters(client_id=w.client, label=Label.HOT),
                               OffsetRequest(), SortSpec("score"))
    assert [r.id for r in hot.items] == [lead.id]
    with pytest.raises(InvalidInput) as caught:
        await w.service.list(w.admin, LeadFilters(min_score=-0.1, max_score=2), OffsetRequest(),
                             SortSpec("colour"))
    assert set(caught.value.fields) == {"sort", "min_score", "max_score"}
