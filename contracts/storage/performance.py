"""The storage contract for performance data (PerformanceRepo): upserts, listing, tenant isolation
and rollback here; sums over ranges and the newest names in performance_sums.

Every expectation is computed from the rows the test stored, through a `Ledger` (helpers) that
applies the port's rules plainly: rows replaced by key, names by date then by write order."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from attrs import evolve

from catalyst_contracts.storage.helpers import (
    ALL,
    D,
    Ledger,
    assert_matches,
    cuts,
    entity_totals,
    every_row,
    put,
    read,
    spread,
    totals_of,
    upsert,
)
from catalyst_contracts.storage.performance_sums import PerformanceSumsContract
from catalyst_contracts.strategies import make_client, make_row, money, new_id
from catalyst_core.errors import NotFound
from catalyst_core.ids import ClientId
from catalyst_core.metrics.model import MAX_ROWS_PER_BATCH, IngestResult, PerformanceQuery
from catalyst_core.metrics.registry import Totals
from catalyst_core.paging import Order, PageRequest


class PerformanceContract(PerformanceSumsContract):
    """Daily performance rows and their exact sums (catalyst_core.ports.PerformanceRepo). Needs an
    async fixture `storage`."""
    async def test_performance_upsert_counts_inserted_and_updated(self, storage: Any) -> None:
        client, other = make_client(), make_client()
        await put(storage, client, other)
        ledger = Ledger()
        first = [make_row(client, ad_id=ad) for ad in ("a1", "a2", "a3")]
        assert await upsert(storage, ledger, client.id, first) == IngestResult(3, 0)
        second = [evolve(first[0], clicks=50), make_row(client, ad_id="a4"), evolve(first[2], spend=money(9)),
                  make_row(client, ad_id="a1", date=D("2024-03-02")),
                  make_row(client, ad_id="a1", platform="google")]
        assert await upsert(storage, ledger, client.id, second) == IngestResult(3, 2)
        # The same rows again replace every one of them (unchanged sums), and the same keys are new
        # for another client.
        assert await upsert(storage, ledger, client.id, second) == IngestResult(0, 5)
        assert await upsert(storage, ledger, other.id, [evolve(r, client_id=other.id) for r in first]
                            ) == IngestResult(3, 0)
        for who in (client.id, other.id):
            await assert_matches(storage, ledger, who)

    async def test_performance_rows_of_an_unknown_client_are_not_found(self, storage: Any) -> None:
        """Like every repository naming a missing row (members, tasks, comments): NotFound, nothing
        stored, the same on every storage."""
        known, ghost = make_client(), ClientId(new_id())
        await put(storage, known)
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.performance.upsert(ghost, [make_row(ghost)])
        assert await read(storage, lambda tx: tx.performance.client_totals(ghost)) == Totals()
        assert await read(storage, lambda tx: tx.performance.daily_totals(ghost, D("2024-01-01"),
                                                                          D("2024-12-31"))) == []
        assert (await read(storage, lambda tx: tx.performance.list(PerformanceQuery(ghost), ALL,
                                                                   Order.ASC))).total_items == 0

    async def test_performance_replacement_replaces_every_field(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        original = make_row(client, date=D("2024-02-29"), campaign_id="c1", campaign_name="Campaign one",
                            adset_id="s1", adset_name="Set one", ad_id="ad", ad_name="Ad one",
                            spend="12.345678", impressions=1000, clicks=10, landing_page_views=8, leads=3,
                            conversions=2, revenue="99.999999")
        await upsert(storage, ledger, client.id, [original])
        replacement = evolve(original, campaign_id="c2", campaign_name="Campaign two", adset_id="s2",
                             adset_name="Set two", ad_name="Ad two", spend=money("0.000001"),
                             impressions=7, clicks=6, landing_page_views=5, leads=4, conversions=3,
                             revenue=money("123456789.5"))
        assert await upsert(storage, ledger, client.id, [replacement]) == IngestResult(0, 1)
        everything = PerformanceQuery(client.id)
        listed = await read(storage, lambda tx: tx.performance.list(everything, ALL, Order.ASC))
        assert list(listed.items) == [replacement] and listed.total_items == 1
        assert [str(listed.items[0].spend), str(listed.items[0].revenue)] == ["0.000001", "123456789.500000"]
        # A replacement without names keeps no names on the row, but the newest known names stay.
        nameless = evolve(replacement, campaign_name=None, adset_name=None, ad_name=None)
        assert await upsert(storage, ledger, client.id, [nameless]) == IngestResult(0, 1)
        listed = await read(storage, lambda tx: tx.performance.list(everything, ALL, Order.ASC))
        assert list(listed.items) == [nameless]
        [entity] = await entity_totals(storage, client.id, D("2024-02-01"), D("2024-02-29"))
        assert (entity.campaign_id, entity.adset_id, entity.campaign_name, entity.adset_name,
                entity.ad_name) == ("c2", "s2", "Campaign two", "Set two", "Ad two")
        await assert_matches(storage, ledger, client.id, cuts(D("2024-02-29"), D("2024-02-29")))

    async def test_performance_rows_of_other_clients_are_never_seen(self, storage: Any) -> None:
        acme, globex, empty = make_client(), make_client(), make_client()
        await put(storage, acme, globex, empty)
        ledger = Ledger()
        ads = [("c", "s", "x"), ("c", "s", "y")]
        days = [D("2024-01-30"), D("2024-02-01"), D("2024-03-15")]
        mine = spread(acme, days, ads)
        theirs = [evolve(r, spend=r.spend + 1, clicks=r.clicks + 3, campaign_name="Theirs",
                         date=r.date + timedelta(days=1)) for r in spread(globex, days, ads)]
        await upsert(storage, ledger, acme.id, [evolve(r, campaign_name="Mine") for r in mine])
        await upsert(storage, ledger, globex.id, theirs + [evolve(r, client_id=globex.id) for r in mine[:2]])
        for client_id in (acme.id, globex.id, empty.id):
            await assert_matches(storage, ledger, client_id, cuts(days[0], days[-1])[:14])
            for query in (PerformanceQuery(client_id, platform="facebook"),
                          PerformanceQuery(client_id, ad_id="x"),
                          PerformanceQuery(client_id, campaign_id="c", start_date=days[1])):
                assert await every_row(storage, query, Order.DESC, 2) == ledger.listed(query, Order.DESC)
        assert {e.campaign_name for e in await entity_totals(storage, acme.id, days[0], days[-1])} == {"Mine"}
        assert await read(storage, lambda tx: tx.performance.client_totals(empty.id)) == Totals()

    async def test_performance_failing_transaction_rolls_back_rows_and_aggregates(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        days = [D("2024-01-15"), D("2024-01-31"), D("2024-02-01"), D("2024-02-20")]
        kept = spread(client, days, [("c1", "s1", "a1"), ("c1", "s2", "a2")])
        await upsert(storage, ledger, client.id, [evolve(r, campaign_name="Kept") for r in kept])
        ranges = cuts(days[0], days[-1])[:16]

        class Boom(Exception):
            pass

        batch = [evolve(kept[0], campaign_id="moved", spend=money(500), campaign_name="Rolled back"),
                 evolve(kept[5], clicks=10_000, ad_name="Rolled back"),
                 make_row(client, date=D("2024-01-31"), campaign_id="c1", campaign_name="Rolled back"),
                 make_row(client, date=D("2024-03-01"), campaign_id="new")]
        with pytest.raises(Boom):
            async with storage.transaction() as tx:
                assert await tx.performance.upsert(client.id, batch) == IngestResult(2, 2)
                inside = await tx.performance.client_totals(client.id)
                assert inside.rows == len(kept) + 2 and inside != totals_of(kept)
                raise Boom
        await assert_matches(storage, ledger, client.id, ranges)
        # The rolled back rows are new again.
        assert await upsert(storage, ledger, client.id, batch) == IngestResult(2, 2)
        await assert_matches(storage, ledger, client.id, ranges)

    async def test_performance_list_filters_each_alone_and_combined(self, storage: Any) -> None:
        client, other = make_client(), make_client()
        await put(storage, client, other)
        ledger = Ledger()
        days = [D("2024-01-31"), D("2024-02-01"), D("2024-02-02"), D("2024-02-29")]
        rows = (spread(client, days, [("c1", "s1", "a"), ("c1", "s1", "B"), ("c2", "s2", "b")])
                + spread(client, days[1:3], [("c1", "s1", "a"), ("c3", "s1", "é")], platform="google"))
        await upsert(storage, ledger, client.id, rows)
        await upsert(storage, ledger, other.id, [evolve(r, client_id=other.id) for r in rows[:6]])
        c = client.id
        queries = [
            PerformanceQuery(c), PerformanceQuery(c, start_date=days[1]),
            PerformanceQuery(c, end_date=days[1]),
            PerformanceQuery(c, start_date=days[2], end_date=days[2]),
            PerformanceQuery(c, start_date=D("2024-03-01")), PerformanceQuery(c, end_date=D("2024-01-30")),
            *[PerformanceQuery(c, platform=p) for p in ("facebook", "google", "Google", "tiktok")],
            *[PerformanceQuery(c, campaign_id=k) for k in ("c1", "c2", "c3", "C1", "none")],
            *[PerformanceQuery(c, ad_id=a) for a in ("a", "B", "b", "é", "e", "A")],
            PerformanceQuery(c, start_date=days[1], end_date=days[2], platform="google", campaign_id="c1"),
            PerformanceQuery(c, start_date=days[0], end_date=days[1], campaign_id="c1", ad_id="a"),
            PerformanceQuery(c, platform="facebook", campaign_id="c2", ad_id="b", end_date=days[3]),
            PerformanceQuery(c, platform="google", ad_id="B"),
            PerformanceQuery(other.id, platform="google"), PerformanceQuery(other.id, ad_id="B"),
        ]
        for query in queries:
            for order in Order:
                expected = ledger.listed(query, order)
                page = await read(storage, lambda tx, q=query, o=order: tx.performance.list(q, ALL, o))
                assert (list(page.items), page.total_items) == (expected, len(expected)), (query, order)
        assert ledger.listed(queries[-4], Order.ASC) and not ledger.listed(queries[-3], Order.ASC)

    @pytest.mark.parametrize("order", list(Order))
    async def test_performance_list_orders_by_date_platform_ad_in_code_point_order(
            self, storage: Any, order: Order) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        # Locale collations disagree with code point order on every one of these.
        platforms = ["facebook", "Facebook", "éclair", "Zeta", "a\u0301", "\U0001f4c8"]
        ads = ["10", "9", "a", "A", "ä", "a d", "ad", "a\x01", "\u05d0", "Z"]
        rows = [make_row(client, date=day, platform=p, ad_id=a)
                for i, day in enumerate([D("2024-02-29"), D("2024-03-01")])
                for j, p in enumerate(platforms) for k, a in enumerate(ads) if (i + j + k) % 3]
        await upsert(storage, ledger, client.id, rows)
        for query, limit in ((PerformanceQuery(client.id), 7),
                             (PerformanceQuery(client.id, platform="Zeta"), 2),
                             (PerformanceQuery(client.id, start_date=D("2024-03-01"), ad_id="a"), 1)):
            got = await every_row(storage, query, order, limit)
            assert got == ledger.listed(query, order), query
        second = await read(storage, lambda tx: tx.performance.list(PerformanceQuery(client.id),
                                                                    PageRequest(2, 5), order))
        assert list(second.items) == ledger.listed(PerformanceQuery(client.id), order)[5:10]
        assert (second.total_items, second.total_pages) == (len(rows), -(-len(rows) // 5))
        past = await read(storage, lambda tx: tx.performance.list(PerformanceQuery(client.id),
                                                                  PageRequest(99, 5), order))
        assert list(past.items) == [] and past.total_items == len(rows)

    async def test_performance_batches_of_the_largest_size(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        days = [D("2024-01-20") + timedelta(days=i) for i in range(50)]
        ads = [(f"c{i % 7}", f"s{i % 3}", f"ad {i}") for i in range(MAX_ROWS_PER_BATCH // len(days))]
        rows = spread(client, days, ads)
        assert await upsert(storage, ledger, client.id, rows) == IngestResult(MAX_ROWS_PER_BATCH, 0)
        half = MAX_ROWS_PER_BATCH // 2
        more = [evolve(r, clicks=r.clicks + 1, campaign_id="moved") for r in rows[::2]]
        more += [evolve(r, date=r.date + timedelta(days=50)) for r in rows[:half]]
        assert await upsert(storage, ledger, client.id, more) == IngestResult(half, half)
        assert await read(storage, lambda tx: tx.performance.client_totals(client.id)) == totals_of(
            ledger.of(client.id))
        for start, end in ((days[0], days[-1] + timedelta(days=50)), (D("2024-02-01"), D("2024-02-29")),
                           (D("2024-02-10"), D("2024-03-20"))):
            assert await read(storage, lambda tx, s=start, e=end: tx.performance.daily_totals(
                client.id, s, e)) == ledger.days(client.id, start, end)
            assert await entity_totals(storage, client.id, start, end) == ledger.entities(
                client.id, start, end)
        query = PerformanceQuery(client.id, start_date=D("2024-02-10"))
        page = await read(storage, lambda tx: tx.performance.list(query, PageRequest(3, 100), Order.DESC))
        expected = ledger.listed(query, Order.DESC)
        assert (list(page.items), page.total_items) == (expected[200:300], len(expected))

    async def test_performance_concurrent_batches_locking_the_client_keep_sums_exact(self, storage: Any
                                                                                     ) -> None:
        """Callers lock the client before an upsert (the port says so); batches writing the same keys
        at once then take turns, and the sums always equal the rows that won."""
        client = make_client()
        await put(storage, client)
        batches = [[make_row(client, date=D("2024-02-28") + timedelta(days=d), ad_id=f"ad {a}",
                             campaign_id=f"c{i}", spend=money(i + 1), clicks=i)
                    for d in range(3) for a in range(4)] for i in range(4)]

        async def write(batch: list[Any]) -> IngestResult:
            async with storage.transaction() as tx:
                await tx.clients.get(client.id, for_update=True)
                return await tx.performance.upsert(client.id, batch)

        results = await asyncio.gather(*(write(b) for b in batches))
        assert sorted(r.inserted for r in results) == [0, 0, 0, 12] and sum(r.updated for r in results) == 36
        stored = await every_row(storage, PerformanceQuery(client.id), Order.ASC)
        # Batches took turns: the last one to commit holds every key.
        assert len(stored) == 12 and any(all(r in batch for r in stored) for batch in batches)
        winners = Ledger()
        winners.apply(client.id, stored)
        await assert_matches(storage, winners, client.id, [(D("2024-02-01"), D("2024-03-31")),
                                                           (D("2024-02-29"), D("2024-03-01"))])
