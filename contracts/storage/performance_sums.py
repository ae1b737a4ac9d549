"""The storage contract for performance sums: exact totals per client, day and ad over any range
(the SQL adapter reads whole months from a rollup and the partial months at the ends from raw rows,
so the ranges here cut months every way), ads moving between campaigns, the newest names, and text
over the whole of Unicode."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from attrs import evolve

from catalyst_contracts.storage.helpers import (
    D,
    Ledger,
    assert_matches,
    cuts,
    entity_totals,
    every_row,
    put,
    read,
    spread,
    upsert,
)
from catalyst_contracts.strategies import make_client, make_row, money
from catalyst_core.metrics.breakdown import breakdown_of
from catalyst_core.metrics.model import EARLIEST_DATE, LATEST_DATE, MAX_COUNT, IngestResult, PerformanceQuery
from catalyst_core.metrics.registry import Totals, values
from catalyst_core.paging import Order

# Text a database could mangle: emoji, right-to-left scripts, combining marks next to their
# precomposed look-alikes, control characters (all but U+0000, which the core refuses), invisible
# and non-characters, quotes, JSON and SQL look-alikes, LIKE wildcards, padding, case pairs, and
# the longest ids and names the schema takes (in 4-byte characters).
UNICODE_TEXTS = [
    "📈 Q1 🚀", "حملة الربيع", "קמפיין", "e\u0301", "é", "Ad", "ad", "\x01\x1f\x7f\x85\u2028\u2029",
    "\u200b\ufeff", "\uffff\U0010ffff", '["x", 1]', "'; DROP TABLE performance_rows; --", "%_\\",
    " padded ", "\t", "ǅ", "ß", "İ", "👩\u200d👩\u200d👧", "a" * 255, "😀" * 255,
]
PLATFORMS = ["facebook", "плат", "📱", "e\u0301", "é", "\x01"]


class PerformanceSumsContract:
    """Sums and names of PerformanceRepo. Needs an async fixture `storage`."""

    async def test_performance_sums_are_exact_to_the_micro(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        largest = money("999999999.999999")
        rows = [make_row(client, date=D("2024-01-01") + timedelta(days=i), ad_id="big", spend=largest,
                         revenue=largest, impressions=MAX_COUNT, clicks=MAX_COUNT - i) for i in range(10)]
        rows += [make_row(client, date=D("2024-01-05"), ad_id=f"tenth {i}", spend="0.1", revenue="0.000001")
                 for i in range(10)]
        rows.append(make_row(client, date=D("2024-02-01"), ad_id="micro", spend="0.000001", revenue="0.2"))
        await upsert(storage, ledger, client.id, rows)
        totals = await read(storage, lambda tx: tx.performance.client_totals(client.id))
        # Past 2**53, where a sum in doubles would round.
        assert totals["spend"] == 10 * 999_999_999_999_999 + 10 * 100_000 + 1 > 2**53
        assert totals["revenue"] == 10 * 999_999_999_999_999 + 10 + 200_000
        assert totals["impressions"] == 10 * MAX_COUNT + 11 * 100 and totals.rows == 21
        reported = values(totals)
        assert (str(reported["spend"]), str(reported["revenue"])) == ("10000000000.999991",
                                                                      "10000000000.200000")
        assert reported["spend"] == sum((r.spend for r in rows), Decimal(0))
        for row in await every_row(storage, PerformanceQuery(client.id), Order.ASC):
            assert row.spend.as_tuple().exponent == row.revenue.as_tuple().exponent == -6, row
        await assert_matches(storage, ledger, client.id, [
            (D("2024-01-01"), D("2024-01-31")), (D("2024-01-03"), D("2024-02-01")),
            (D("2024-01-05"), D("2024-01-05")), (D("2023-12-01"), D("2024-02-29"))])

    async def test_performance_daily_totals_hold_only_days_with_rows_in_range(self, storage: Any) -> None:
        client, other = make_client(), make_client()
        await put(storage, client, other)
        ledger = Ledger()
        rows = [make_row(client, date=D(d)) for d in ("2024-01-31", "2024-01-31", "2024-02-01", "2024-02-29",
                                                      "2024-03-01")]
        zero = make_row(client, date=D("2024-02-10"), spend=0, revenue=0, impressions=0, clicks=0,
                        landing_page_views=0, leads=0, conversions=0)
        await upsert(storage, ledger, client.id, [*rows, zero])
        await upsert(storage, ledger, other.id, [make_row(other, date=D("2024-02-15"))])
        for start, end in (("2024-01-01", "2024-12-31"), ("2024-02-01", "2024-02-29"),
                           ("2024-02-10", "2024-02-10"), ("2024-02-15", "2024-02-15"),
                           ("2024-02-02", "2024-02-09"), ("2024-01-31", "2024-01-31"),
                           ("2024-03-01", "2024-03-31"), ("2023-01-01", "2024-01-30"),
                           ("2024-02-29", "2024-01-31")):  # backwards: no day lies in it
            got = await read(storage, lambda tx, s=D(start), e=D(end): tx.performance.daily_totals(
                client.id, s, e))
            assert got == ledger.days(client.id, D(start), D(end)), (start, end)
        [day] = ledger.days(client.id, D("2024-02-10"), D("2024-02-10"))
        assert day.totals.rows == 1 and not any(day.totals.values)  # a row of zeros is still a row
        assert [d.totals.rows for d in ledger.days(client.id, D("2024-01-31"), D("2024-02-01"))] == [2, 1]

    async def test_performance_entity_totals_over_every_kind_of_range(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        first, last = D("2023-12-20"), D("2024-04-10")
        days = sorted({first + timedelta(days=i) for i in range(0, (last - first).days + 1, 4)}
                      | {D(d) for d in ("2023-12-31", "2024-01-01", "2024-01-31", "2024-02-01", "2024-02-29",
                                        "2024-03-01", "2024-03-31", "2024-04-01")})
        rows = spread(client, days, [("c1", "s1", "a1"), ("c1", "s2", "a2"), ("c2", "s1", "a3")])
        rows += spread(client, days[::3], [("c1", "s1", "a1")], platform="google")
        await upsert(storage, ledger, client.id, rows)
        # Replacements change the rollups by differences: some rows grow, some shrink to zero.
        await upsert(storage, ledger, client.id, [evolve(r, spend=r.spend * 2, clicks=0) for r in rows[::5]])
        assert await entity_totals(storage, client.id, D("2024-03-31"), D("2024-01-01")) == []  # backwards
        for start, end in cuts(first, last):
            assert await entity_totals(storage, client.id, start, end) == ledger.entities(
                client.id, start, end), (start, end)
        for platform, campaign in (("facebook", None), ("google", None), (None, "c1"), (None, "c2"),
                                   ("google", "c1"), ("google", "c2"), ("tiktok", None), (None, "C1")):
            for start, end in cuts(first, last)[:16:3]:
                got = await entity_totals(storage, client.id, start, end, platform=platform,
                                          campaign_id=campaign)
                assert got == ledger.entities(client.id, start, end, platform, campaign), (
                    platform, campaign, start, end)

    async def test_performance_breakdowns_rank_by_spend_and_count_every_line(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        days = [D(d) for d in ("2024-01-30", "2024-02-01", "2024-02-15", "2024-02-29", "2024-03-02")]
        ads = [(f"c{i % 3}", f"s{i % 2}", f"a{i}") for i in range(7)]
        rows = spread(client, days, ads) + spread(client, days[1:4], ads[:3], platform="google")
        # Equal spend on several lines: ties are broken by their ids, in code point order.
        rows += [make_row(client, date=D("2024-02-10"), platform=p, campaign_id=c, adset_id="s", ad_id=a,
                          spend="5")
                 for p, c, a in (("tiktok", "t2", "z"), ("tiktok", "t1", "z2"), ("tiktok", "t1", "y"),
                                 ("Tiktok", "t1", "y"))]
        await upsert(storage, ledger, client.id, rows)
        for start, end in [(D("2024-01-01"), D("2024-03-31")), (D("2024-01-30"), D("2024-02-29")),
                           (D("2024-02-10"), D("2024-02-10")), (D("2025-01-01"), D("2025-01-31"))]:
            for platform, campaign in ((None, None), ("tiktok", None), (None, "t1"), ("google", "c0")):
                for limit in (1, 2, 3, 100):
                    got = await read(storage, lambda tx, s=start, e=end, p=platform, c=campaign, n=limit:
                                     tx.performance.breakdown(client.id, s, e, platform=p, campaign_id=c,
                                                              limit=n))
                    expected = breakdown_of(ledger.entities(client.id, start, end, platform, campaign), limit)
                    assert got == expected, (start, end, platform, campaign, limit)
        nothing = await read(storage, lambda tx: tx.performance.breakdown(
            client.id, D("2030-01-01"), D("2030-12-31"), limit=10))
        assert (nothing.totals, nothing.platforms, nothing.campaigns, nothing.ads) == (Totals(), [], [], [])
        assert nothing.counts == {"platforms": 0, "campaigns": 0, "ads": 0}

    async def test_performance_an_ad_moving_to_another_campaign(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        days = [D("2024-01-05"), D("2024-01-20"), D("2024-02-10"), D("2024-03-03")]
        rows = [make_row(client, date=d, campaign_id="c1", adset_id="s1", ad_id="ad") for d in days]
        await upsert(storage, ledger, client.id, rows)
        ranges = [(D("2024-01-01"), D("2024-03-31")), (D("2024-01-03"), D("2024-03-05")),
                  (D("2024-01-01"), D("2024-01-31")), (D("2024-01-20"), D("2024-01-20"))]

        async def groups(start: date, end: date, campaign: str | None = None) -> dict[tuple[str, str], int]:
            found = await entity_totals(storage, client.id, start, end, campaign_id=campaign)
            return {(e.campaign_id, e.adset_id): e.totals.rows for e in found}

        await upsert(storage, ledger, client.id, [evolve(rows[1], campaign_id="c2", adset_id="s2")])
        for start, end in ranges[:2]:
            assert await groups(start, end) == {("c1", "s1"): 3, ("c2", "s2"): 1}
        assert await groups(*ranges[2]) == {("c1", "s1"): 1, ("c2", "s2"): 1}
        await assert_matches(storage, ledger, client.id, ranges)

        await upsert(storage, ledger, client.id, [evolve(r, campaign_id="c2", adset_id="s2") for r in rows])
        for start, end in ranges:
            assert set(await groups(start, end)) == {("c2", "s2")}  # the emptied group is gone
            assert await groups(start, end, "c1") == {}
        assert await groups(*ranges[0]) == {("c2", "s2"): 4}

        await upsert(storage, ledger, client.id, [evolve(rows[2], adset_id="s3")])
        assert await groups(*ranges[0]) == {("c2", "s2"): 3, ("c1", "s3"): 1}
        await assert_matches(storage, ledger, client.id, ranges)

    async def test_performance_names_are_the_newest_known(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()

        async def ingest(*specs: tuple[str, str, dict[str, Any]]) -> None:
            await upsert(storage, ledger, client.id, [make_row(client, date=D(day), ad_id=ad, campaign_id="c",
                                                               adset_id="s", **names)
                                                      for day, ad, names in specs])

        async def names(platform: str = "facebook", start: date = EARLIEST_DATE, end: date = LATEST_DATE
                        ) -> set[tuple[str | None, str | None, str, str | None]]:
            found = await entity_totals(storage, client.id, start, end, platform=platform)
            assert found == ledger.entities(client.id, start, end, platform)
            return {(e.campaign_name, e.adset_name, e.ad_id, e.ad_name) for e in found}

        await ingest(("2024-03-10", "a1", {"campaign_name": "March", "adset_name": "Set"}),
                     ("2024-03-01", "a2", {"campaign_name": "Early", "ad_name": "Two"}))
        assert await names() == {("March", "Set", "a1", None), ("March", "Set", "a2", "Two")}
        await ingest(("2024-03-05", "a3", {"campaign_name": "Written later, dated earlier"}))
        assert {n[0] for n in await names()} == {"March"}
        await ingest(("2024-03-10", "a4", {"campaign_name": "Same date, written later"}))
        assert {n[0] for n in await names()} == {"Same date, written later"}
        await ingest(("2024-03-10", "a5", {"campaign_name": "First in the batch"}),
                     ("2024-03-10", "a6", {"campaign_name": "Last in the batch", "adset_name": "Set 2"}))
        assert {n[:2] for n in await names()} == {("Last in the batch", "Set 2")}
        await ingest(("2024-03-20", "a7", {"campaign_name": None, "ad_name": None}),
                     ("2024-03-21", "a2", {}))  # a newer row without names erases nothing
        assert {n[:2] for n in await names()} == {("Last in the batch", "Set 2")}
        assert ("Last in the batch", "Set 2", "a2", "Two") in await names()
        # Replacing a row of the newest date with a new name: the later write wins.
        await upsert(storage, ledger, client.id, [evolve(r, campaign_name="Replaced")
                                                  for r in ledger.of(client.id) if r.ad_id == "a1"])
        # Names are the newest known, even from rows outside the range; each platform has its own.
        assert {n[0] for n in await names(start=D("2024-03-01"), end=D("2024-03-01"))} == {"Replaced"}
        await upsert(storage, ledger, client.id, [make_row(client, platform="google", campaign_id="c",
                                                           adset_id="s", ad_id="a1", date=D("2020-01-01"),
                                                           campaign_name="Google's")])
        assert await names("google") == {("Google's", None, "a1", None)}
        assert {n[0] for n in await names()} == {"Replaced"}
        await assert_matches(storage, ledger, client.id, cuts(D("2024-03-01"), D("2024-03-21"))[:8])

    async def test_performance_text_over_all_of_unicode_round_trips(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        texts, n = UNICODE_TEXTS, len(UNICODE_TEXTS)
        rows = [make_row(client, date=D("2024-02-28") + timedelta(days=i % 3), platform=PLATFORMS[i % 6],
                         campaign_id=texts[(i + 1) % n], adset_id=texts[(i + 2) % n], ad_id=text,
                         campaign_name=texts[(i + 3) % n] * 2, adset_name=texts[(i + 4) % n],
                         ad_name=("名" * 512) if i == 0 else text, clicks=i)
                for i, text in enumerate(texts)]
        assert await upsert(storage, ledger, client.id, rows) == IngestResult(n, 0)
        # Every key is found again by the batch that replaces it.
        replaced = [evolve(r, clicks=r.clicks + 100) for r in rows]
        assert await upsert(storage, ledger, client.id, replaced) == IngestResult(0, n)
        ranges = [(D("2024-02-28"), D("2024-03-01")), (D("2024-02-01"), D("2024-02-29")),
                  (D("2024-03-01"), D("2024-03-01"))]
        await assert_matches(storage, ledger, client.id, ranges)
        for order in Order:
            assert await every_row(storage, PerformanceQuery(client.id), order, 4) == ledger.listed(
                PerformanceQuery(client.id), order)
        for text in texts[:12]:
            for query in (PerformanceQuery(client.id, ad_id=text),
                          PerformanceQuery(client.id, campaign_id=text)):
                assert await every_row(storage, query, Order.DESC) == ledger.listed(query, Order.DESC), text
            got = await entity_totals(storage, client.id, *ranges[0], campaign_id=text)
            assert got == ledger.entities(client.id, *ranges[0], campaign_id=text) != [], text
        for platform in PLATFORMS:
            got = await entity_totals(storage, client.id, *ranges[1], platform=platform)
            assert got == ledger.entities(client.id, *ranges[1], platform=platform), platform

    async def test_performance_dates_at_the_ends_of_the_calendar(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        days = [EARLIEST_DATE, D("1970-01-31"), D("1970-02-01"), D("2999-12-01"), LATEST_DATE]
        await upsert(storage, ledger, client.id, spread(client, days, [("c", "s", "a"), ("c", "s", "b")]))
        await assert_matches(storage, ledger, client.id, [
            (EARLIEST_DATE, LATEST_DATE), (EARLIEST_DATE, D("1970-01-31")),
            (D("1970-01-02"), D("1970-02-01")),
            (D("2999-12-01"), LATEST_DATE), (LATEST_DATE, LATEST_DATE), (D("2999-12-02"), LATEST_DATE),
            (EARLIEST_DATE, EARLIEST_DATE)])
        early = PerformanceQuery(client.id, end_date=D("1970-12-31"))
        for order in Order:
            assert await every_row(storage, early, order, 3) == ledger.listed(early, order)
