"""The storage contract for the totals per entity of a level (PerformanceRepo.level_totals), which
alerts evaluate: every level and the whole account, over ranges that cut months every way (the SQL
adapter reads whole months from a rollup and the partial months at the ends from raw rows), ids
repeated on other platforms and in other campaigns, ads moving between campaigns, the newest names,
empty ranges and other clients' rows; and, as a property over all of Unicode, that it is
`level_totals_of(entity_totals(...), level)` on the same storage (catalyst_core.metrics.levels).

Expectations are computed from the rows the test stored (the `Ledger`), grouped plainly here."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from attrs import evolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalyst_contracts import strategies as cs
from catalyst_contracts.storage.helpers import D, Ledger, cuts, put, read, spread, totals_of, upsert
from catalyst_contracts.strategies import make_client, make_row
from catalyst_core.ids import ClientId
from catalyst_core.metrics.levels import LevelFilter, LevelTotals, level_totals_of
from catalyst_core.metrics.model import EARLIEST_DATE, LATEST_DATE, MAX_COUNT, Level, PerformanceRow
from catalyst_core.metrics.registry import METRIC_NAMES, Totals, ratio_plan

LEVELS: tuple[Level | None, ...] = (None, Level.CAMPAIGN, Level.ADSET, Level.AD)
# The ids of each level and the levels whose names it carries, written out (not taken from the core).
_IDS = {None: (), Level.CAMPAIGN: ("platform", "campaign_id"),
        Level.ADSET: ("platform", "campaign_id", "adset_id"),
        Level.AD: ("platform", "campaign_id", "adset_id", "ad_id")}
_NAMED = {None: (), Level.CAMPAIGN: ("campaign",), Level.ADSET: ("campaign", "adset"),
          Level.AD: ("campaign", "adset", "ad")}
_EMPTY = dict.fromkeys(("platform", "campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id",
                        "ad_name"))


def expected(ledger: Ledger, client_id: ClientId, start: date, end: date, level: Level | None
             ) -> list[LevelTotals]:
    """The rows the ledger holds in [start, end], grouped by the level's ids (code point order),
    with the newest name of each id."""
    keys = _IDS[level]
    groups: dict[tuple[str, ...], list[PerformanceRow]] = {}
    for row in ledger.of(client_id, start, end):
        groups.setdefault(tuple(getattr(row, k) for k in keys), []).append(row)
    lines = []
    for key in sorted(groups):
        ids = dict(zip(keys, key, strict=True))
        names = {f"{n}_name": ledger.name(client_id, ids["platform"], n, ids[f"{n}_id"])
                 for n in _NAMED[level]}
        lines.append(LevelTotals(**{**_EMPTY, **ids, **names}, totals=totals_of(groups[key])))
    return lines


async def level_totals(storage: Any, client_id: ClientId, start: date, end: date,
                       level: Level | None) -> list[LevelTotals]:
    return await read(storage, lambda tx: tx.performance.level_totals(client_id, start, end, level))


async def assert_levels(storage: Any, ledger: Ledger, client_id: ClientId,
                        ranges: list[tuple[date, date]], levels: tuple[Level | None, ...] = LEVELS) -> None:
    for start, end in ranges:
        for level in levels:
            got = await level_totals(storage, client_id, start, end, level)
            assert got == expected(ledger, client_id, start, end, level), (start, end, level)


def _money(micros: int) -> Decimal:
    return Decimal(micros).scaleb(-6)


def _key(level: Level | None, line: LevelTotals) -> tuple[Any, ...]:
    return tuple(getattr(line, k) for k in _IDS[level])


class PerformanceLevelsContract:
    """PerformanceRepo.level_totals. Needs an async fixture `storage`."""

    async def test_level_totals_at_every_level_over_every_kind_of_range(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        first, last = D("2023-12-20"), D("2024-04-10")
        days = sorted({first + timedelta(days=i) for i in range(0, (last - first).days + 1, 4)}
                      | {D(d) for d in ("2023-12-31", "2024-01-01", "2024-01-31", "2024-02-01",
                                        "2024-02-29", "2024-03-01", "2024-03-31", "2024-04-01")})
        # Ad set s1 in two campaigns; campaign c1, ad set s1 and ad a1 on two platforms.
        rows = spread(client, days, [("c1", "s1", "a1"), ("c1", "s1", "a2"), ("c1", "s2", "a3"),
                                     ("c2", "s1", "a4")])
        rows += spread(client, days[::3], [("c1", "s1", "a1"), ("C1", "s1", "a5")], platform="google")
        await upsert(storage, ledger, client.id, rows)
        # Replacements change the rollups by differences: some sums grow, some shrink to zero.
        await upsert(storage, ledger, client.id, [evolve(r, spend=r.spend * 2, clicks=0) for r in rows[::5]])
        await assert_levels(storage, ledger, client.id, cuts(first, last))

        whole = await level_totals(storage, client.id, first, last, Level.CAMPAIGN)
        assert [_key(Level.CAMPAIGN, line) for line in whole] == [
            ("facebook", "c1"), ("facebook", "c2"), ("google", "C1"), ("google", "c1")]
        adsets = await level_totals(storage, client.id, first, last, Level.ADSET)
        assert [_key(Level.ADSET, line) for line in adsets] == [
            ("facebook", "c1", "s1"), ("facebook", "c1", "s2"), ("facebook", "c2", "s1"),
            ("google", "C1", "s1"), ("google", "c1", "s1")]
        ads = await level_totals(storage, client.id, first, last, Level.AD)
        assert len(ads) == 6 and all(line.ad_id is not None for line in ads)
        [account] = await level_totals(storage, client.id, first, last, None)
        assert account == LevelTotals(**_EMPTY, totals=totals_of(ledger.of(client.id)))
        assert account.totals.rows == len(ledger.of(client.id)) == len(rows)
        # Every level holds every row once.
        for level in LEVELS:
            lines = await level_totals(storage, client.id, first, last, level)
            assert sum(line.totals.rows for line in lines) == len(rows), level

    async def test_level_totals_are_exact_past_double_precision(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        largest = "999999999.999999"
        rows = [make_row(client, date=D("2024-01-20") + timedelta(days=i), campaign_id="c", adset_id=s,
                         ad_id=a, spend=largest, revenue="0.000001", impressions=MAX_COUNT, clicks=1)
                for i in range(20) for s, a in (("s1", "a1"), ("s1", "a2"), ("s2", "a3"))]
        await upsert(storage, ledger, client.id, rows)
        start, end = D("2024-01-25"), D("2024-02-08")  # a partial month on each side
        [account] = await level_totals(storage, client.id, start, end, None)
        assert account.totals["spend"] == 45 * 999_999_999_999_999 > 2**53
        assert account.totals["revenue"] == 45 and account.totals.rows == 45
        assert account.totals["impressions"] == 45 * MAX_COUNT
        [campaign] = await level_totals(storage, client.id, start, end, Level.CAMPAIGN)
        assert campaign.totals == account.totals
        s1, s2 = await level_totals(storage, client.id, start, end, Level.ADSET)
        assert (s1.adset_id, s1.totals["spend"], s2.adset_id, s2.totals["spend"]) == (
            "s1", 30 * 999_999_999_999_999, "s2", 15 * 999_999_999_999_999)
        await assert_levels(storage, ledger, client.id, [(start, end), (D("2024-01-01"), D("2024-02-29")),
                                                         (D("2024-02-01"), D("2024-02-29"))])

    async def test_level_totals_follow_an_ad_moved_to_another_campaign(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        days = [D("2024-01-05"), D("2024-01-20"), D("2024-02-10"), D("2024-02-20"), D("2024-03-03")]
        rows = [make_row(client, date=d, campaign_id="c1", adset_id="s1", ad_id="ad", clicks=i + 1)
                for i, d in enumerate(days)]
        await upsert(storage, ledger, client.id, rows)
        ranges = [(D("2024-01-01"), D("2024-03-31")), (D("2024-01-03"), D("2024-03-05")),
                  (D("2024-02-01"), D("2024-02-29")), (D("2024-01-20"), D("2024-02-10")),
                  (D("2024-02-15"), D("2024-03-31"))]

        async def rows_per(level: Level, start: date, end: date) -> dict[tuple[Any, ...], int]:
            return {_key(level, line)[1:]: line.totals.rows
                    for line in await level_totals(storage, client.id, start, end, level)}

        # From 10 February the ad runs in another campaign and ad set.
        moved = [evolve(r, campaign_id="c2", adset_id="s2") for r in rows]
        await upsert(storage, ledger, client.id, moved[2:])
        assert await rows_per(Level.CAMPAIGN, *ranges[0]) == {("c1",): 2, ("c2",): 3}
        assert await rows_per(Level.AD, *ranges[0]) == {("c1", "s1", "ad"): 2, ("c2", "s2", "ad"): 3}
        assert await rows_per(Level.ADSET, *ranges[3]) == {("c1", "s1"): 1, ("c2", "s2"): 1}
        # February is read from the monthly rollup, where c1's row was emptied: no line for it.
        assert await rows_per(Level.CAMPAIGN, *ranges[2]) == {("c2",): 2}
        assert await rows_per(Level.AD, *ranges[2]) == {("c2", "s2", "ad"): 2}
        await assert_levels(storage, ledger, client.id, ranges)

        # All of it moves: c1 is gone from every level, the account still holds every row.
        await upsert(storage, ledger, client.id, moved)
        for start, end in ranges:
            assert set(await rows_per(Level.CAMPAIGN, start, end)) == {("c2",)}
        [account] = await level_totals(storage, client.id, *ranges[0], None)
        assert account.totals.rows == 5 and account.totals["clicks"] == 15
        # One row back to c1 on another ad set.
        await upsert(storage, ledger, client.id, [evolve(rows[3], adset_id="s3")])
        assert await rows_per(Level.ADSET, *ranges[2]) == {("c1", "s3"): 1, ("c2", "s2"): 1}
        await assert_levels(storage, ledger, client.id, ranges)

    async def test_level_totals_carry_the_newest_names_of_their_levels(self, storage: Any) -> None:
        client = make_client()
        await put(storage, client)
        ledger = Ledger()

        def row(day: str, ad: str, platform: str = "facebook", adset: str = "s",
                **names: Any) -> PerformanceRow:
            return make_row(client, date=D(day), platform=platform, campaign_id="c", adset_id=adset,
                            ad_id=ad, **names)

        await upsert(storage, ledger, client.id, [
            row("2024-03-10", "a1", campaign_name="March", adset_name="Set", ad_name="One"),
            row("2024-03-01", "a2", campaign_name="Early", ad_name="Two"),
            row("2024-03-05", "a3", adset="t"),  # no names at all
            row("2020-01-01", "a1", platform="google", campaign_name="Google's")])
        start, end = D("2024-03-01"), D("2024-03-05")  # names come from rows outside the range too
        [campaign] = await level_totals(storage, client.id, start, end, Level.CAMPAIGN)
        assert (campaign.campaign_name, campaign.adset_name, campaign.ad_name) == ("March", None, None)
        s, t = await level_totals(storage, client.id, start, end, Level.ADSET)
        assert (s.campaign_name, s.adset_name, s.ad_id, s.ad_name) == ("March", "Set", None, None)
        assert (t.adset_id, t.adset_name) == ("t", None)
        ads = await level_totals(storage, client.id, EARLIEST_DATE, LATEST_DATE, Level.AD)
        assert [(a.platform, a.ad_id, a.campaign_name, a.adset_name, a.ad_name) for a in ads] == [
            ("facebook", "a1", "March", "Set", "One"), ("facebook", "a2", "March", "Set", "Two"),
            ("facebook", "a3", "March", None, None), ("google", "a1", "Google's", None, None)]
        [account] = await level_totals(storage, client.id, start, end, None)
        assert account == LevelTotals(**_EMPTY, totals=account.totals)
        # A rename on a newer row is what every level shows; a newer row without names erases none.
        await upsert(storage, ledger, client.id, [row("2024-03-20", "a2", campaign_name="Renamed"),
                                                  row("2024-03-21", "a1")])
        [campaign] = await level_totals(storage, client.id, start, end, Level.CAMPAIGN)
        assert campaign.campaign_name == "Renamed"
        await assert_levels(storage, ledger, client.id, [(start, end), (EARLIEST_DATE, LATEST_DATE),
                                                         (D("2024-03-01"), D("2024-03-31"))])

    async def test_level_totals_of_nothing_and_of_other_clients(self, storage: Any) -> None:
        client, other, idle = make_client(), make_client(), make_client()
        await put(storage, client, other, idle)
        ledger = Ledger()
        days = [D("2024-01-31"), D("2024-02-01"), D("2024-02-15"), D("2024-03-01")]
        ads = [("c1", "s1", "a1"), ("c2", "s1", "a2")]
        await upsert(storage, ledger, client.id, spread(client, days, ads))
        # The other client has the same ids on the same days, and more.
        await upsert(storage, ledger, other.id, spread(other, [*days, D("2024-02-20")],
                                                       [*ads, ("c3", "s9", "a9")]))
        zero = make_row(client, date=D("2024-02-20"), campaign_id="c1", adset_id="s1", ad_id="a1",
                        spend=0, revenue=0, impressions=0, clicks=0, landing_page_views=0, leads=0,
                        conversions=0)
        await upsert(storage, ledger, client.id, [zero])
        ranges = [(D("2024-01-01"), D("2024-03-31")), (D("2024-02-01"), D("2024-02-29")),
                  (D("2024-02-02"), D("2024-02-14")), (D("2024-02-16"), D("2024-02-19")),
                  (D("2025-01-01"), D("2025-12-31")), (D("2024-03-01"), D("2024-01-01")),
                  (D("2024-02-20"), D("2024-02-20"))]
        for level in LEVELS:
            for start, end in ranges[2:6]:  # no rows of the client in range (or a backwards range)
                assert await level_totals(storage, client.id, start, end, level) == [], (start, end, level)
            assert await level_totals(storage, idle.id, EARLIEST_DATE, LATEST_DATE, level) == []
        # A row of zeros is still a row: one line, all sums zero.
        [only] = await level_totals(storage, client.id, *ranges[6], None)
        assert only.totals == Totals(rows=1)
        [account] = await level_totals(storage, client.id, *ranges[0], None)
        assert account.totals == totals_of(ledger.of(client.id)) != totals_of(ledger.of(other.id))
        await assert_levels(storage, ledger, client.id, ranges)
        await assert_levels(storage, ledger, other.id, ranges)

    @settings(max_examples=50, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.differing_executors])
    @given(data=st.data())
    async def test_level_totals_are_the_entity_totals_summed_in_full_unicode(
            self, storage: Any, data: st.DataObject) -> None:
        """Property: for any rows (ids and names over all of Unicode but U+0000 and surrogates,
        replaced by later batches, so ads move), at every level and over any range,
        `level_totals` is `level_totals_of(entity_totals(...), level)` on the same storage."""
        client = make_client()  # a client of its own per example: the storage is shared
        await put(storage, client)
        ledger = Ledger()
        platforms = data.draw(st.lists(cs.entity_ids(6), min_size=1, max_size=3, unique=True))
        id_pool = data.draw(st.lists(cs.entity_ids(), min_size=1, max_size=4, unique=True))
        row = st.builds(
            lambda day, p, c, s, a, names, metrics: make_row(
                client, date=day, platform=p, campaign_id=c, adset_id=s, ad_id=a,
                **dict(zip(("campaign_name", "adset_name", "ad_name"), names, strict=True)),
                **metrics),
            cs.performance_dates(), st.sampled_from(platforms), st.sampled_from(id_pool),
            st.sampled_from(id_pool), st.sampled_from(id_pool),
            st.tuples(cs.entity_names(), cs.entity_names(), cs.entity_names()),
            st.fixed_dictionaries({
                "spend": cs.money_micros().map(_money), "revenue": cs.money_micros().map(_money),
                "clicks": cs.metric_counts(), "landing_page_views": cs.metric_counts()}))
        for _ in range(data.draw(st.integers(1, 3))):
            batch = data.draw(st.lists(row, max_size=12))
            unique = list({(r.date, r.platform, r.ad_id): r for r in batch}.values())
            await upsert(storage, ledger, client.id, unique)
        ranges = [(EARLIEST_DATE, LATEST_DATE),
                  data.draw(st.tuples(cs.performance_dates(), cs.performance_dates())),
                  data.draw(st.tuples(cs.performance_dates(), cs.performance_dates()))]
        for start, end in ranges:
            ads = await read(storage, lambda tx, s=start, e=end: tx.performance.entity_totals(
                client.id, s, e))
            for level in LEVELS:
                got = await level_totals(storage, client.id, start, end, level)
                assert got == level_totals_of(ads, level), (start, end, level)
                assert got == expected(ledger, client.id, start, end, level), (start, end, level)

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.differing_executors])
    @given(data=st.data())
    async def test_a_level_filter_keeps_every_line_that_passes_it(
            self, storage: Any, data: st.DataObject) -> None:
        """Property: with `where`, level_totals hands over a subset of the lines, holding every
        line that passes the filter by exact arithmetic with its bounds a hair (1e-12) inside."""
        client = make_client()
        await put(storage, client)
        ledger = Ledger()
        amounts = st.sampled_from([0, 1, 7, 1_000, 10**6, 10**9, 10**15])
        row = st.builds(
            lambda day, ad, spend, views, clicks, impressions: make_row(
                client, date=day, platform="p", campaign_id=f"c{ad % 2}", adset_id="s",
                ad_id=f"a{ad}", spend=_money(spend), landing_page_views=views, clicks=clicks,
                impressions=impressions),
            st.sampled_from([date(2025, 1, d) for d in (1, 2, 3)]), st.integers(0, 5), amounts,
            amounts, amounts, amounts)
        batch = data.draw(st.lists(row, max_size=15))
        await upsert(storage, ledger, client.id,
                     list({(r.date, r.platform, r.ad_id): r for r in batch}.values()))
        bound = st.none() | st.sampled_from([0.0, 1e-6, 0.5, 1.0, 7.25, 1e3, 1e9])
        where = LevelFilter(min_spend=data.draw(st.sampled_from([0, 1, 10**6, 10**9])),
                            metric=data.draw(st.none() | st.sampled_from(METRIC_NAMES)),
                            at_least=data.draw(bound), at_most=data.draw(bound))
        for level in (Level.CAMPAIGN, Level.AD):
            every = await level_totals(storage, client.id, date(2025, 1, 1), date(2025, 1, 3), level)
            kept = await read(storage, lambda tx, lv=level: tx.performance.level_totals(
                client.id, date(2025, 1, 1), date(2025, 1, 3), lv, where=where))
            assert all(line in every for line in kept)
            for line in every:
                if _passes_strictly(where, line.totals):
                    assert line in kept, (where, line)


def _passes_strictly(where: LevelFilter, totals: Totals) -> bool:
    """LevelFilter by exact arithmetic, its bounds narrowed by a relative 1e-12."""
    if totals["spend"] < where.min_spend:
        return False
    if where.metric is None:
        return True
    numerator, n_mult, denominator, d_mult = ratio_plan(where.metric)
    top = Fraction(totals[numerator] * n_mult)
    bottom = Fraction(d_mult if denominator is None else totals[denominator] * d_mult)
    low = None if where.at_least is None else Fraction(where.at_least) * Fraction(1 + 10**-12)
    high = None if where.at_most is None else Fraction(where.at_most) * Fraction(1 - 10**-12)
    if bottom == 0:
        return high is None and (top > 0 or low is None)
    value = top / bottom
    return (low is None or value >= low) and (high is None or value <= high)


__all__ = ["PerformanceLevelsContract", "expected"]
