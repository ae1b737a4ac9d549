"""The storage contract for lead scoring: settings inserted and replaced, results and history read
back exactly (any text, any JSON, doubles to the last bit), the errors of `add_many` and
`replace_many`, copies in and out, and rollback. Builders and strategies for leads live here too
(lead_lists.py uses them)."""

from __future__ import annotations

import copy
import itertools
import json
import sys
from collections.abc import Sequence
from typing import Any

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from catalyst_contracts.storage.alerts import EXAMPLES, assert_utc, instants
from catalyst_contracts.storage.helpers import ordered, put, read
from catalyst_contracts.strategies import at, make_client, make_user, new_id, unicode_texts
from catalyst_core.clients.model import Client
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import ClientId
from catalyst_core.leads.model import (
    COMPONENTS,
    HistoryEntry,
    Label,
    LeadId,
    LeadQuery,
    LeadResult,
    Scoring,
    ScoringSettings,
    Thresholds,
    Weights,
)
from catalyst_core.paging import OffsetRequest, Order, SortSpec

_serial = itertools.count(1)
EVERYTHING = OffsetRequest(limit=1000)
BY_EMAIL = SortSpec("email", Order.ASC)

# -- builders ---------------------------------------------------------------------------------------


def make_scoring(**overrides: Any) -> Scoring:
    scoring = Scoring(score=0.5, components={"engagement": 0.5, "demographic": 0.25, "behavioral": 0.75},
                      label=Label.WARM, explanation=("Visited the pricing page",),
                      raw_data={"page_views": 3, "job_title": "CTO"}, source=None, scored_at=at(0))
    return evolve(scoring, **overrides)


def make_lead(client: Client | ClientId, *, email: str | None = None, created_at: Any = None,
              scored_count: int = 1, **scoring: Any) -> LeadResult:
    n = next(_serial)
    return LeadResult(id=LeadId(new_id()), client_id=client.id if isinstance(client, Client) else client,
                      email=email if email is not None else f"lead{n}@example.com",
                      current=make_scoring(**scoring), created_at=created_at or at(0),
                      scored_count=scored_count)


def make_entry(lead: LeadResult, **scoring: Any) -> HistoryEntry:
    return HistoryEntry(id=new_id(), lead_id=lead.id, scoring=make_scoring(**scoring))


async def add_leads(storage: Any, *leads: LeadResult) -> None:
    async with storage.transaction() as tx:
        await tx.leads.add_many(leads)


async def replace(storage: Any, results: Sequence[LeadResult], superseded: Sequence[HistoryEntry]) -> None:
    async with storage.transaction() as tx:
        await tx.leads.replace_many(results, superseded)


async def get(storage: Any, lead_id: LeadId) -> LeadResult | None:
    return await read(storage, lambda tx: tx.leads.get(lead_id))


async def history(storage: Any, lead_id: LeadId) -> list[HistoryEntry]:
    return await read(storage, lambda tx: tx.leads.history(lead_id))


async def client_leads(storage: Any, client_id: ClientId) -> list[LeadResult]:
    page = await read(storage, lambda tx: tx.leads.list(LeadQuery(client_id=client_id), EVERYTHING,
                                                        BY_EMAIL))
    return list(page.items)


def newest_first(entries: Sequence[HistoryEntry]) -> list[HistoryEntry]:
    return ordered(entries, lambda e: e.scoring.scored_at, lambda e: e.id, Order.DESC)


# -- exactness --------------------------------------------------------------------------------------

def exact_json(value: Any) -> str:
    """JSON text that tells 1 from 1.0 and -0.0 from 0.0 (== does not)."""
    return json.dumps(value, sort_keys=True, allow_nan=False)


def assert_same_scoring(got: Scoring, want: Scoring) -> None:
    assert got == want
    assert type(got.explanation) is tuple and type(got.label) is Label
    assert [float.hex(got.score), *(float.hex(got.components[n]) for n in COMPONENTS)] == \
           [float.hex(float(want.score)), *(float.hex(float(want.components[n])) for n in COMPONENTS)]
    assert sorted(got.components) == sorted(COMPONENTS)
    assert exact_json(got.raw_data) == exact_json(want.raw_data)
    assert_utc(got.scored_at)


def assert_same_lead(got: LeadResult | None, want: LeadResult) -> None:
    assert got == want
    assert got is not None
    assert_same_scoring(got.current, want.current)
    assert_utc(got.created_at)


# -- strategies -------------------------------------------------------------------------------------

# Doubles a database may mangle: 0 and 1, the smallest and the largest subnormal, the smallest
# normal, the double just below 1, two with no short decimal form, the largest finite double and a
# tiny normal one. The first eight lie in [0, 1], where scores are.
EXTREME_FLOATS = (0.0, 1.0, 5e-324, 2.225073858507201e-308, 2.2250738585072014e-308, 1 - 2**-53,
                  1 / 3, 0.1, sys.float_info.max, 1e-300)


def scores() -> st.SearchStrategy[float]:
    return st.floats(0, 1) | st.sampled_from(EXTREME_FLOATS)


json_scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1)
                | st.floats(allow_nan=False, allow_infinity=False) | unicode_texts(0, 30))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(unicode_texts(0, 12), inner, max_size=4), max_leaves=12)
raw_datas = st.dictionaries(unicode_texts(0, 12), json_values, max_size=6)
explanations = st.lists(unicode_texts(1, 80), min_size=1, max_size=5).map(tuple)
sources = st.none() | unicode_texts(1, 100)


def lead_emails() -> st.SearchStrategy[str]:
    """Email-ish text in any script (storage keeps what the core normalised, code point for code point)."""
    return (st.builds(lambda a, b: f"{a}@{b}", unicode_texts(1, 30), unicode_texts(1, 30))
            | unicode_texts(1, 60))


def scorings() -> st.SearchStrategy[Scoring]:
    return st.builds(Scoring, score=scores(),
                     components=st.fixed_dictionaries({name: scores() for name in COMPONENTS}),
                     label=st.sampled_from(list(Label)), explanation=explanations, raw_data=raw_datas,
                     source=sources, scored_at=instants())


class LeadsContract:
    """Lead scoring results and history (LeadRepo; its settings: lead_settings.py). Needs an
    async fixture `storage`."""

    # -- round trips --------------------------------------------------------------------------------

    @EXAMPLES
    @given(email=lead_emails(), scoring=scorings(), created_at=instants(),
           scored_count=st.integers(1, 2**31 - 1))
    async def test_a_lead_reads_back_exactly(self, storage: Any, email: str, scoring: Scoring,
                                             created_at: Any, scored_count: int) -> None:
        client = make_client()
        await put(storage, client)
        lead = LeadResult(LeadId(new_id()), client.id, email, scoring, created_at, scored_count)
        async with storage.transaction() as tx:
            await tx.leads.add_many([lead])
            assert_same_lead(await tx.leads.get(lead.id), lead)  # the writer's connection
        assert_same_lead(await get(storage, lead.id), lead)
        found = await read(storage, lambda tx: tx.leads.by_emails(client.id, [email]))
        assert list(found) == [email]
        assert_same_lead(found[email], lead)
        [listed] = await client_leads(storage, client.id)
        assert_same_lead(listed, lead)
        assert await history(storage, lead.id) == []

    @EXAMPLES
    @given(first=scorings(), later=st.lists(scorings(), min_size=1, max_size=4))
    async def test_replaced_lead_scorings_and_history_read_back_exactly(
            self, storage: Any, first: Scoring, later: list[Scoring]) -> None:
        client = make_client()
        await put(storage, client)
        lead = LeadResult(LeadId(new_id()), client.id, "a@example.com", first, at(0))
        await add_leads(storage, lead)
        entries = []
        for scoring in later:
            entries.append(HistoryEntry(new_id(), lead.id, lead.current))
            changed = evolve(lead, current=scoring, scored_count=lead.scored_count + 1)
            await replace(storage, [changed], entries[-1:])
            lead = changed
        assert_same_lead(await get(storage, lead.id), lead)
        got = await history(storage, lead.id)
        assert got == newest_first(entries)
        for entry, want in zip(got, newest_first(entries), strict=True):
            assert_same_scoring(entry.scoring, want.scoring)

    async def test_unknown_leads_are_none_and_have_no_history(self, storage: Any) -> None:
        assert await get(storage, LeadId(new_id())) is None
        assert await history(storage, LeadId(new_id())) == []
        assert await read(storage, lambda tx: tx.leads.by_emails(ClientId(new_id()), ["a@b.c"])) == {}

    # -- add_many -----------------------------------------------------------------------------------

    async def test_lead_emails_are_unique_per_client_code_point_for_code_point(self, storage: Any) -> None:
        acme, globex = make_client(), make_client()
        await put(storage, acme, globex)
        # Case, composed and decomposed accents, and width are different emails to storage.
        emails = ["ann@example.com", "Ann@example.com", "jos\u00e9@example.com", "jose\u0301@example.com",
                  "\uff41nn@example.com", "ann@example.com "]
        leads = [make_lead(acme, email=e) for e in emails] + [make_lead(globex, email=emails[0])]
        await add_leads(storage, *leads)
        for lead in leads:
            assert await get(storage, lead.id) == lead
        found = await read(storage, lambda tx: tx.leads.by_emails(acme.id, emails))
        assert found == {lead.email: lead for lead in leads[:len(emails)]}

    async def test_lead_add_many_refuses_a_taken_email_or_id_or_an_unknown_client(
            self, storage: Any) -> None:
        acme, globex = make_client(), make_client()
        await put(storage, acme, globex)
        stored = make_lead(acme, email="taken@example.com")
        await add_leads(storage, stored)
        fresh = make_lead(acme)
        cases: list[tuple[type[Exception], list[LeadResult]]] = [
            (Conflict, [fresh, make_lead(acme, email="taken@example.com")]),
            (Conflict, [fresh, make_lead(acme, email="twice@example.com"),
                        make_lead(acme, email="twice@example.com")]),
            (Conflict, [fresh, evolve(make_lead(globex), id=stored.id)]),
            (Conflict, [fresh, evolve(make_lead(globex), id=fresh.id)]),
            (NotFound, [fresh, make_lead(ClientId(new_id()))]),
        ]
        for error, batch in cases:
            with pytest.raises(error):
                async with storage.transaction() as tx:
                    await tx.leads.add_many(batch)
            assert await get(storage, fresh.id) is None
        assert await client_leads(storage, acme.id) == [stored]
        assert await client_leads(storage, globex.id) == []
        async with storage.transaction() as tx:
            await tx.leads.add_many([])
            await tx.leads.replace_many([], [])
        await add_leads(storage, fresh, make_lead(globex, email="taken@example.com"))
        assert len(await client_leads(storage, globex.id)) == 1

    # -- replace_many -------------------------------------------------------------------------------

    async def test_lead_replace_many_stores_the_new_scoring_and_appends_history(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        a, b, untouched = (make_lead(client, created_at=at(i), score=0.1 * i) for i in range(3))
        await add_leads(storage, a, b, untouched)
        new_a = evolve(a, current=make_scoring(score=0.9, label=Label.HOT, scored_at=at(50),
                                               raw_data={"page_views": 40}, source="webinar"),
                       scored_count=2)
        new_b = evolve(b, current=make_scoring(score=0.05, label=Label.COLD, scored_at=at(50)),
                       scored_count=3)
        entries = [HistoryEntry(new_id(), a.id, a.current), HistoryEntry(new_id(), b.id, b.current),
                   make_entry(b, scored_at=at(40), score=0.3)]
        await replace(storage, [new_a, new_b], entries)
        assert await get(storage, a.id) == new_a
        assert await get(storage, b.id) == new_b
        assert await get(storage, untouched.id) == untouched
        assert await history(storage, a.id) == entries[:1]
        assert await history(storage, b.id) == newest_first(entries[1:])
        assert await history(storage, untouched.id) == []
        # Only the scoring and its count change: a result keeps its id, client, email and first time.
        moved = evolve(new_a, client_id=ClientId(new_id()), email="other@example.com", created_at=at(99),
                       current=make_scoring(score=0.7, scored_at=at(60)), scored_count=3)
        await replace(storage, [moved], [])
        assert await get(storage, a.id) == evolve(new_a, current=moved.current, scored_count=3)

    async def test_lead_replace_many_refuses_unknown_leads_and_taken_history_ids(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        lead = make_lead(client)
        await add_leads(storage, lead)
        entry = make_entry(lead, scored_at=at(-10))
        await replace(storage, [], [entry])
        changed = evolve(lead, current=make_scoring(score=0.99), scored_count=2)
        unknown = make_lead(client)
        twice = make_entry(lead)
        cases: list[tuple[type[Exception], list[LeadResult], list[HistoryEntry]]] = [
            (NotFound, [changed, unknown], [make_entry(lead)]),
            (NotFound, [changed], [make_entry(lead), make_entry(unknown)]),
            (Conflict, [changed], [make_entry(lead), evolve(make_entry(lead), id=entry.id)]),
            (Conflict, [changed], [twice, evolve(make_entry(lead), id=twice.id)]),
        ]
        for error, results, entries in cases:
            with pytest.raises(error):
                await replace(storage, results, entries)
            assert await get(storage, lead.id) == lead
            assert await history(storage, lead.id) == [entry]

    # -- copies and rollback ------------------------------------------------------------------------

    async def test_leads_are_copied_in_and_out(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        lead = make_lead(client, raw_data={"nested": {"list": [1, 2]}}, explanation=("one",))
        kept = copy.deepcopy(lead)
        await add_leads(storage, lead)
        lead.email, lead.scored_count = "changed@example.com", 7
        lead.current.raw_data["nested"]["list"].append(3)
        got = await get(storage, kept.id)
        assert got is not None
        got.current.raw_data["nested"]["added"] = True
        got.scored_count = 9
        listed = await client_leads(storage, client.id)
        listed[0].current.raw_data.clear()
        found = await read(storage, lambda tx: tx.leads.by_emails(client.id, [kept.email]))
        found[kept.email].current.components["engagement"] = 0.0
        entry = make_entry(kept, raw_data={"a": [1]})
        await replace(storage, [], [entry])
        entry.scoring.raw_data["a"].append(2)
        (await history(storage, kept.id))[0].scoring.raw_data["a"].append(3)
        assert await get(storage, kept.id) == kept
        assert (await history(storage, kept.id))[0].scoring.raw_data == {"a": [1]}

    async def test_a_failed_transaction_leaves_lead_scoring_as_it_was(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        settings = ScoringSettings(client.id, thresholds=Thresholds(0.8, 0.3), updated_at=at(1),
                                   updated_by=user.id)
        lead = make_lead(client)
        entry = make_entry(lead, scored_at=at(-1))
        async with storage.transaction() as tx:
            await tx.leads.save_settings(settings)
            await tx.leads.add_many([lead])
            await tx.leads.replace_many([], [entry])
        added = make_lead(client)

        class Boom(Exception):
            pass

        with pytest.raises(Boom):
            async with storage.transaction() as tx:
                await tx.leads.save_settings(evolve(settings, weights=Weights(1, 0, 0)))
                await tx.leads.add_many([added])
                await tx.leads.replace_many(
                    [evolve(lead, current=make_scoring(score=1.0), scored_count=2),
                     evolve(added, scored_count=5)],
                    [HistoryEntry(new_id(), lead.id, lead.current), make_entry(added)])
                raise Boom
        assert await read(storage, lambda tx: tx.leads.settings(client.id)) == settings
        assert await get(storage, lead.id) == lead
        assert await get(storage, added.id) is None
        assert await history(storage, lead.id) == [entry]
        assert await client_leads(storage, client.id) == [lead]
