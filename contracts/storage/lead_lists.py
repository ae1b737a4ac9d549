"""The storage contract for reading lead scoring back in bulk: the result list (filters, the four
sorts with ties broken by id, offset paging with total_items), `by_emails` over batches larger than
one statement takes, and the order of a lead's history. Every expected answer is computed here from
what the test stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from catalyst_contracts.storage.alerts import EXAMPLES
from catalyst_contracts.storage.helpers import ordered, put, read
from catalyst_contracts.storage.leads import (
    EXTREME_FLOATS,
    add_leads,
    history,
    lead_emails,
    make_entry,
    make_lead,
    newest_first,
    replace,
)
from catalyst_contracts.strategies import at, make_client, make_membership, make_user, new_id, unicode_texts
from catalyst_core.clients.model import ClientRole, Membership
from catalyst_core.ids import ClientId
from catalyst_core.leads.model import LEAD_SORT_FIELDS, HistoryEntry, Label, LeadQuery, LeadResult
from catalyst_core.paging import OffsetRequest, Order, SortSpec

SORT_KEYS = {
    "score": lambda r: r.current.score,
    "created_at": lambda r: r.created_at,
    "updated_at": lambda r: r.current.scored_at,  # the current scoring's time
    "email": lambda r: r.email,  # code point by code point
}
SORTS = [SortSpec(name, order) for name in LEAD_SORT_FIELDS for order in Order]


def lead_matches(lead: LeadResult, q: LeadQuery, memberships: Sequence[Membership]) -> bool:
    """The port's filters, written out plainly (scores inclusive, source exact)."""
    if q.visible_to is not None and lead.client_id not in {
            m.client_id for m in memberships if m.user_id == q.visible_to}:
        return False
    s = lead.current
    return ((q.client_id is None or lead.client_id == q.client_id)
            and (q.min_score is None or s.score >= q.min_score)
            and (q.max_score is None or s.score <= q.max_score)
            and (q.label is None or s.label == q.label)
            and (q.source is None or s.source == q.source))


def expected(leads: Sequence[LeadResult], q: LeadQuery, sort: SortSpec,
             memberships: Sequence[Membership]) -> list[LeadResult]:
    return ordered([lead for lead in leads if lead_matches(lead, q, memberships)], SORT_KEYS[sort.field],
                   lambda r: r.id, sort.order)


async def page_of(storage: Any, q: LeadQuery, sort: SortSpec, limit: int, offset: int = 0) -> Any:
    return await read(storage, lambda tx: tx.leads.list(q, OffsetRequest(limit, offset), sort))


async def assert_lists(storage: Any, q: LeadQuery, sort: SortSpec, want: list[LeadResult],
                       limits: Sequence[int] = (1000,)) -> None:
    """Paging through with each limit gives `want`, each page with the right total_items; a page
    past the end is empty."""
    for limit in limits:
        found: list[LeadResult] = []
        offset = 0
        while True:
            page = await page_of(storage, q, sort, limit, offset)
            assert page.total_items == len(want), (q, sort, limit, offset)
            assert page.request == OffsetRequest(limit, offset)
            assert len(page.items) <= limit
            if not page.items:
                break
            found.extend(page.items)
            offset += limit
        assert found == want, (q, sort, limit)
    past = await page_of(storage, q, sort, 3, len(want) + 5)
    assert (list(past.items), past.total_items) == ([], len(want))


class LeadListsContract:
    """Listing lead results, looking them up by email, and reading history in order (LeadRepo).
    Needs an async fixture `storage`."""

    async def test_lead_list_filters_sorts_and_pages(self, storage: Any) -> None:
        alice, bob, dave = make_user(), make_user(), make_user()
        acme, globex, initech = make_client(), make_client(), make_client()
        memberships = [make_membership(acme, alice, ClientRole.ADMIN),
                       make_membership(acme, bob, ClientRole.MEMBER),
                       make_membership(globex, bob, ClientRole.VIEWER)]
        await put(storage, alice, bob, dave, acme, globex, initech, *memberships)
        # Ties in every sort key (ids break them), the same email in two clients, emails that only
        # code point order tells apart, extreme scores, and sources differing in case only.
        specs: list[tuple[Any, str, float, Label, str | None]] = [
            (acme, "ann@example.com", 0.5, Label.WARM, "google"),
            (acme, "Ann@example.com", 0.5, Label.WARM, "Google"),
            (acme, "\u00e9mile@example.com", 0.0, Label.COLD, None),
            (acme, "e\u0301mile@example.com", 5e-324, Label.COLD, "google"),
            (acme, "zoe@example.com", 1.0, Label.HOT, "\U0001f680 launch"),
            (acme, "\uff5aoe@example.com", 0.75, Label.HOT, "facebook"),
            (globex, "ann@example.com", 0.5, Label.WARM, "google"),
            (globex, "bo@example.com", 1 - 2**-53, Label.HOT, None),
            (globex, "\u05d0@example.com", 0.25, Label.COLD, "google "),
            (initech, "ann@example.com", 0.4, Label.WARM, "google"),
            (initech, "carl@example.com", 0.9, Label.HOT, "facebook"),
        ]
        leads = [make_lead(client, email=email, score=score, label=label, source=source,
                           created_at=at(i // 2), scored_at=at(100 - i // 3 * 3 + (i % 2)))
                 for i, (client, email, score, label, source) in enumerate(specs)]
        await add_leads(storage, *leads)
        queries = [
            LeadQuery(), LeadQuery(client_id=acme.id), LeadQuery(client_id=globex.id),
            LeadQuery(client_id=ClientId(new_id())), LeadQuery(visible_to=alice.id),
            LeadQuery(visible_to=bob.id), LeadQuery(visible_to=dave.id),
            LeadQuery(visible_to=bob.id, client_id=globex.id),
            LeadQuery(visible_to=alice.id, client_id=globex.id),
            LeadQuery(min_score=0.5), LeadQuery(max_score=0.5), LeadQuery(min_score=0.5, max_score=0.5),
            LeadQuery(min_score=5e-324), LeadQuery(max_score=0.0), LeadQuery(min_score=0.76, max_score=0.74),
            *(LeadQuery(label=label) for label in Label),
            LeadQuery(source="google"), LeadQuery(source="Google"), LeadQuery(source="goo"),
            LeadQuery(source="\U0001f680 launch"),
            LeadQuery(client_id=acme.id, min_score=0.25, max_score=0.9, label=Label.WARM, source="google"),
            LeadQuery(visible_to=bob.id, label=Label.HOT),
        ]
        for q in queries:
            for sort in SORTS:
                await assert_lists(storage, q, sort, expected(leads, q, sort, memberships))
        for sort in SORTS:
            for q in (LeadQuery(), LeadQuery(visible_to=bob.id, max_score=0.6)):
                await assert_lists(storage, q, sort, expected(leads, q, sort, memberships), limits=(1, 4))

    async def test_lead_list_sorts_by_the_current_scoring(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        first, second = (make_lead(client, score=0.2 + i / 10, scored_at=at(i)) for i in range(2))
        await add_leads(storage, first, second)
        rescored = evolve(first, current=evolve(first.current, score=0.95, label=Label.HOT,
                                                scored_at=at(10), source="rescored"), scored_count=2)
        await replace(storage, [rescored], [HistoryEntry(new_id(), first.id, first.current)])
        leads = [rescored, second]
        memberships: list[Membership] = []
        for q in (LeadQuery(client_id=client.id), LeadQuery(client_id=client.id, min_score=0.9),
                  LeadQuery(client_id=client.id, label=Label.COLD),
                  LeadQuery(client_id=client.id, source="rescored")):
            for sort in SORTS:
                await assert_lists(storage, q, sort, expected(leads, q, sort, memberships))

    @EXAMPLES
    @given(data=st.data())
    async def test_lead_list_answers_any_query_as_the_model_does(self, storage: Any, data: Any) -> None:
        one, both = make_user(), make_user()
        a, b = make_client(), make_client()
        memberships = [make_membership(a, one), make_membership(a, both), make_membership(b, both)]
        await put(storage, one, both, a, b, *memberships)
        score = st.sampled_from(EXTREME_FLOATS[:8]) | st.floats(0, 1)
        source = st.none() | st.sampled_from(["google", "Google", "\u00e9", "e\u0301"]) | unicode_texts(1, 4)
        specs = data.draw(st.lists(
            st.tuples(st.sampled_from([a, b]), lead_emails(), score, st.sampled_from(list(Label)), source,
                      st.integers(0, 3), st.integers(0, 3)),
            max_size=12, unique_by=lambda s: (s[0].id, s[1])))
        leads = [make_lead(client, email=email, score=value, label=label, source=src, created_at=at(c),
                           scored_at=at(s)) for client, email, value, label, src, c, s in specs]
        await add_leads(storage, *leads)
        scope = data.draw(st.sampled_from([{"client_id": a.id}, {"client_id": b.id},
                                           {"visible_to": one.id}, {"visible_to": both.id},
                                           {"visible_to": one.id, "client_id": b.id}]))
        q = LeadQuery(**scope, min_score=data.draw(st.none() | score), max_score=data.draw(st.none() | score),
                      label=data.draw(st.none() | st.sampled_from(list(Label))),
                      source=data.draw(st.none() | st.sampled_from([lead.current.source for lead in leads
                                                                     if lead.current.source] or ["x"])))
        sort = data.draw(st.sampled_from(SORTS))
        want = expected(leads, q, sort, memberships)
        limit, offset = data.draw(st.integers(1, 5)), data.draw(st.integers(0, 14))
        page = await page_of(storage, q, sort, limit, offset)
        assert (list(page.items), page.total_items) == (want[offset:offset + limit], len(want))
        assert list((await page_of(storage, q, sort, 1000)).items) == want

    async def test_lead_by_emails_answers_one_clients_results_in_any_number(self, storage: Any) -> None:
        acme, globex = make_client(), make_client()
        await put(storage, acme, globex)
        # A full batch: more emails than one statement takes (the port's callers send up to 1,000).
        leads = [make_lead(acme, email=f"lead{i:04d}@example.com") for i in range(1000)]
        await add_leads(storage, *leads)
        await add_leads(storage, make_lead(globex, email="lead0000@example.com"),
                        make_lead(globex, email="only-globex@example.com"))
        asked = ([lead.email for lead in leads[::-1]] + [f"absent{i}@example.com" for i in range(300)]
                 + ["only-globex@example.com", leads[0].email, "LEAD0001@example.com"])
        found = await read(storage, lambda tx: tx.leads.by_emails(acme.id, asked))
        assert found == {lead.email: lead for lead in leads}
        some = await read(storage, lambda tx: tx.leads.by_emails(acme.id, [leads[7].email, "x@y.z"]))
        assert some == {leads[7].email: leads[7]}
        assert await read(storage, lambda tx: tx.leads.by_emails(acme.id, [])) == {}

    async def test_lead_replace_many_takes_a_full_batch(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        leads = [make_lead(client, scored_at=at(0)) for _ in range(1000)]
        await add_leads(storage, *leads)
        changed = [evolve(lead, current=evolve(lead.current, score=i / 1000, scored_at=at(1)),
                          scored_count=2) for i, lead in enumerate(leads)]
        entries = [HistoryEntry(new_id(), lead.id, lead.current) for lead in leads]
        await replace(storage, changed, entries)
        found = await read(storage, lambda tx: tx.leads.by_emails(client.id, [c.email for c in changed]))
        assert found == {c.email: c for c in changed}
        assert await history(storage, leads[999].id) == [entries[999]]

    async def test_lead_history_is_newest_first_ties_by_id(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        lead, other = make_lead(client), make_lead(client)
        await add_leads(storage, lead, other)
        # Several calls, scorings out of order, ties in time (a batch scores at one instant).
        batches = [[make_entry(lead, scored_at=at(t)) for t in times] for times in ((5, 1, 5), (3, 5), (0,))]
        for batch in batches:
            await replace(storage, [], batch)
        await replace(storage, [], [make_entry(other, scored_at=at(4))])
        entries = [e for batch in batches for e in batch]
        assert await history(storage, lead.id) == newest_first(entries)
        assert [e.scoring.scored_at for e in await history(storage, lead.id)] == \
            [at(5)] * 3 + [at(3), at(1), at(0)]
        assert len(await history(storage, other.id)) == 1
