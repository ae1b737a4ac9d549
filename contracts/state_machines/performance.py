"""The performance machine: batches of ad performance rows go through MetricsService into several
storages at once (memory, SQLite, PostgreSQL: the same batch into each), and every report and list
read back must equal a plain recomputation from the rows the model holds (performance_model), and
so be identical on every storage.

Ids and names are drawn from all of Unicode, dates from the days where periods turn (month and year
ends, ISO week boundaries, leap days); batches mix new rows with replacements of stored ones, which
move ads between campaigns and ad sets and rename them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, TypeVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from catalyst_adapters.clock import FrozenClock
from catalyst_contracts import strategies as cs
from catalyst_contracts.state_machines.common import StorageFactory
from catalyst_contracts.state_machines.performance_model import (
    BASE,
    LEVELS,
    MONEY,
    ModelRow,
    PerformanceModel,
    canonical,
    resolve_range,
)
from catalyst_core.auth.model import Actor, GlobalRole
from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId, UserId
from catalyst_core.metrics.model import IngestResult, PerformanceRow
from catalyst_core.metrics.service import MetricsService, RowFilters
from catalyst_core.paging import Order, PageRequest, SortSpec
from catalyst_core.reports.model import GrowthReport, Measured, PerformanceReport, Span
from catalyst_core.reports.periods import Period
from catalyst_core.reports.service import ReportsService

T = TypeVar("T")

# Three storages per example, a database round trip or several per step each: few, short runs.
# No shrinking: replaying an example costs about a second, so shrinking a failure would take many
# minutes; a failure prints its steps, and the assertion names the first item that differs.
PERFORMANCE_MACHINE_SETTINGS = settings(max_examples=20, stateful_step_count=20, deadline=None,
                                        phases=[Phase.explicit, Phase.reuse, Phase.generate],
                                        suppress_health_check=[HealthCheck.too_slow,
                                                               HealthCheck.filter_too_much])
NOW = datetime(2024, 3, 10, 15, 30, tzinfo=UTC)
WINDOW = (date(2023, 11, 1), date(2025, 3, 31))  # where the drawn dates lie
# Ranges the invariant reads in turn: the whole window (whole months only), and ranges that start
# and end inside months, beside the days where data gathers (the SQL adapter reads whole months
# from its monthly rollup and the partial months at the ends from the raw rows).
CHECKED_RANGES = (WINDOW, (date(2024, 1, 15), date(2024, 3, 10)), (date(2024, 2, 29), date(2024, 12, 30)),
                  (date(2023, 12, 31), date(2025, 1, 1)), (date(2024, 2, 1), date(2024, 2, 29)))
ABSENT = object()  # a field left out of a row
LENGTHS = [0, 1, 6, 7, 13, 27, 28, 29, 30, 31, 59, 90, 183, 366, 1096]  # 1096: past three years


def measured(m: Measured) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """A line of a report as the model states it: rows, metrics (money as its text), changes."""
    shown = {k: str(v) if k in MONEY else v for k, v in m.metrics.items()}
    return m.totals.rows, shown, dict(m.change)


def span(s: Span) -> tuple[Any, ...]:
    return (s.start_date, s.end_date, *measured(s.measured))


def growth_shape(r: GrowthReport) -> dict[str, Any]:
    return {"range": (r.start_date, r.end_date, r.period.value), "buckets": [span(b) for b in r.buckets],
            "current": span(r.current), "previous": span(r.previous)}


def performance_shape(r: PerformanceReport) -> dict[str, Any]:
    return {
        "range": (r.start_date, r.end_date, r.platform, r.campaign_id),
        "totals": measured(r.totals),
        "by_platform": [(line.platform, *measured(line.measured)) for line in r.by_platform],
        "by_campaign": [(line.platform, line.campaign_id, line.campaign_name, *measured(line.measured))
                        for line in r.by_campaign],
        "by_ad": [(line.platform, line.campaign_id, line.campaign_name, line.adset_id, line.adset_name,
                   line.ad_id, line.ad_name, *measured(line.measured)) for line in r.by_ad],
        "counts": dict(r.counts),
    }


def row_shape(row: PerformanceRow) -> tuple[Any, ...]:
    return (row.date, row.platform, row.campaign_id, row.campaign_name, row.adset_id, row.adset_name,
            row.ad_id, row.ad_name, *(str(getattr(row, m)) if m in MONEY else getattr(row, m) for m in BASE))


class PerformanceMachine(RuleBasedStateMachine):
    """Set `storage_factories` (kind -> async factory of an EMPTY storage) on a subclass."""

    storage_factories: ClassVar[Mapping[str, StorageFactory]] = {}

    def __init__(self) -> None:
        super().__init__()
        if not self.storage_factories:
            raise RuntimeError("set storage_factories on a subclass before running the machine")
        self.loop = asyncio.new_event_loop()
        self.storages = {kind: self.run(make()) for kind, make in self.storage_factories.items()}
        self.clock = FrozenClock(NOW)
        self.metrics = {kind: MetricsService(s) for kind, s in self.storages.items()}
        self.reports = {kind: ReportsService(s, self.clock) for kind, s in self.storages.items()}
        self.actor = Actor(UserId(uuid.uuid4()), GlobalRole.ADMIN)  # acts in every client
        self.model = PerformanceModel()
        self.clients: list[ClientId] = []
        self.steps = 0

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def on_each(self, call: Callable[[str], Coroutine[Any, Any, T]]) -> dict[str, T | InvalidInput]:
        """The same call on every storage; InvalidInput is an answer too."""
        answers: dict[str, T | InvalidInput] = {}
        for kind in self.storages:
            try:
                answers[kind] = self.run(call(kind))
            except InvalidInput as error:
                answers[kind] = error
        return answers

    def expect(self, answers: Mapping[str, Any], expected: Any, shape: Callable[[Any], Any]) -> None:
        """Every storage answered `expected` (a shape, or InvalidInput), and all answered alike."""
        first = next(iter(answers.values()))
        for kind, answer in answers.items():
            if expected is InvalidInput:
                assert isinstance(answer, InvalidInput), (kind, answer)
                assert answer.fields == first.fields, kind
            else:
                assert not isinstance(answer, InvalidInput), (kind, answer.fields)
                got = shape(answer)
                assert got == expected, (kind, *_first_difference(got, expected))
                assert answer == first, kind

    def teardown(self) -> None:
        try:
            for storage in self.storages.values():
                self.run(storage.close())
            self.run(self.loop.shutdown_default_executor())
        finally:
            self.loop.close()

    # -- the data -------------------------------------------------------------------------------

    @initialize(platforms=st.lists(cs.entity_ids(8), min_size=1, max_size=2, unique=True),
                campaigns=st.lists(cs.entity_ids(6), min_size=2, max_size=3, unique=True),
                adsets=st.lists(cs.entity_ids(6), min_size=1, max_size=3, unique=True),
                ads=st.lists(cs.entity_ids(8), min_size=2, max_size=6, unique=True),
                names=st.lists(cs.entity_ids(16), min_size=1, max_size=4))
    def setup(self, platforms: list[str], campaigns: list[str], adsets: list[str], ads: list[str],
              names: list[str]) -> None:
        # Three clients; the last one never gets data (reports on it are all zero).
        clients = [cs.make_client() for _ in range(3)]
        for storage in self.storages.values():
            self.run(_add_clients(storage, clients))
        self.clients = [c.id for c in clients]
        # Platforms as callers send them: known ones in any case and padded, others as drawn.
        self.platforms = ["facebook", "Google", " TIKTOK\t", *platforms]
        self.campaigns, self.adsets, self.ads, self.names = campaigns, adsets, ads, names

    def _draw_row(self, data: st.DataObject, key: tuple[date, str, str] | None
                  ) -> tuple[dict[str, Any], ModelRow]:
        draw = data.draw
        if key is None:
            day, platform, ad = (draw(cs.performance_dates(), label="date"),
                                 draw(st.sampled_from(self.platforms), label="platform"),
                                 draw(st.sampled_from(self.ads), label="ad"))
        else:
            day, platform, ad = key
        raw: dict[str, Any] = {"date": draw(st.sampled_from([day.isoformat(), day]), label="date form"),
                               "platform": platform,
                               "ad_id": draw(st.sampled_from([ad, f" {ad}\u3000"]), label="ad form")}
        ids = {"campaign_id": draw(st.sampled_from(self.campaigns), label="campaign"),
               "adset_id": draw(st.sampled_from(self.adsets), label="adset")}
        raw.update(ids)
        names: dict[str, str | None] = {}
        for level in LEVELS:
            name = draw(st.sampled_from([ABSENT, None, " \t", *self.names]), label=f"{level} name")
            if name is not ABSENT:
                raw[f"{level}_name"] = name
            names[f"{level}_name"] = name.strip() or None if isinstance(name, str) else None
        amounts: dict[str, int] = {}
        for metric in BASE:
            if draw(st.integers(0, 5), label=f"{metric} left out") == 0:
                amounts[metric] = 0
            elif metric in MONEY:
                amounts[metric] = draw(cs.money_micros(), label=metric)
                raw[metric] = draw(cs.money_inputs(amounts[metric]), label=f"{metric} form")
            else:
                raw[metric] = amounts[metric] = draw(cs.metric_counts(), label=metric)
        row = ModelRow(date=day, platform=canonical(platform), ad_id=ad.strip(), amounts=amounts, **ids,
                       **names)
        return raw, row

    @rule(data=st.data())
    def ingest(self, data: st.DataObject) -> None:
        client = data.draw(st.sampled_from(self.clients[:2]), label="client")
        stored = self.model.keys(client)
        raws, rows, keys = [], [], set()
        for _ in range(data.draw(st.integers(1, 6), label="rows")):
            replacing = stored and data.draw(st.booleans(), label="replace a stored row")
            key = data.draw(st.sampled_from(stored), label="stored key") if replacing else None
            raw, row = self._draw_row(data, key)
            if row.key not in keys:  # a batch repeating a key is refused (ingest_an_invalid_batch)
                keys.add(row.key)
                raws.append(raw)
                rows.append(row)
        answers = self.on_each(lambda kind: self.metrics[kind].ingest(self.actor, client, raws))
        expected = IngestResult(*self.model.ingest(client, rows))
        for kind, answer in answers.items():
            assert answer == expected, (kind, answer)

    @rule(data=st.data(), flaw=st.sampled_from(["repeated key", "negative spend", "unknown field",
                                                "U+0000 in an id", "seven places", "no rows"]))
    def ingest_an_invalid_batch(self, data: st.DataObject, flaw: str) -> None:
        """Refused whole, on every storage alike; the reports that follow show nothing changed."""
        client = data.draw(st.sampled_from(self.clients[:2]), label="client")
        raw, _ = self._draw_row(data, None)
        changes = {"negative spend": {"spend": "-0.01"}, "unknown field": {"cost": 1},
                   "U+0000 in an id": {"ad_id": "ad\x00"}, "seven places": {"revenue": "1.0000001"}}
        batch = ([raw, dict(raw)] if flaw == "repeated key" else [] if flaw == "no rows"
                 else [{**raw, **changes[flaw]}])
        answers = self.on_each(lambda kind: self.metrics[kind].ingest(self.actor, client, batch))
        self.expect(answers, InvalidInput, lambda _: None)

    # -- reading it back ------------------------------------------------------------------------

    def _draw_range(self, data: st.DataObject) -> tuple[date | None, date | None]:
        kind = data.draw(st.sampled_from(["span", "span", "span", "defaults", "start only", "end only",
                                          "backwards", "no data"]), label="range")
        day = data.draw(cs.performance_dates(), label="start")
        if kind == "defaults":
            return None, None
        if kind == "start only":
            return day, None
        if kind == "end only":
            return None, day
        if kind == "backwards":  # an empty range: refused
            return day, day - timedelta(days=data.draw(st.integers(1, 40), label="days back"))
        if kind == "no data":
            day = data.draw(st.sampled_from([date(2019, 12, 30), date(2030, 2, 1), date(1999, 12, 31)]))
        length = data.draw(st.sampled_from(LENGTHS) | st.integers(0, 120), label="length")
        return day, day + timedelta(days=length)

    @rule(data=st.data(), period=st.sampled_from(list(Period)))
    def growth(self, data: st.DataObject, period: Period) -> None:
        client = data.draw(st.sampled_from(self.clients), label="client")
        start, end = self._draw_range(data)
        self._check_growth(client, start, end, period)

    def _check_growth(self, client: ClientId, start: date | None, end: date | None, period: Period) -> None:
        try:
            first, last = resolve_range(start, end, NOW.date())
            expected: Any = self.model.growth(client, first, last, period.value)
        except InvalidInput:
            expected = InvalidInput
        answers = self.on_each(lambda kind: self.reports[kind].growth(self.actor, client, start, end, period))
        self.expect(answers, expected, growth_shape)

    @rule(data=st.data(), limit=st.sampled_from([1, 2, 3, 100]))
    def performance(self, data: st.DataObject, limit: int) -> None:
        client = data.draw(st.sampled_from(self.clients), label="client")
        start, end = self._draw_range(data)
        platform = data.draw(st.none() | st.sampled_from([*self.platforms, "LinkedIn"]), label="platform")
        campaign = data.draw(st.none() | st.sampled_from([*self.campaigns, "no such campaign"]),
                             label="campaign")
        self._check_performance(client, start, end, platform, campaign, limit)

    def _check_performance(self, client: ClientId, start: date | None, end: date | None,
                           platform: str | None, campaign: str | None, limit: int) -> None:
        try:
            first, last = resolve_range(start, end, NOW.date())
            expected: Any = self.model.performance(client, first, last, platform and canonical(platform),
                                                   campaign, limit)
        except InvalidInput:
            expected = InvalidInput
        answers = self.on_each(lambda kind: self.reports[kind].performance(
            self.actor, client, start, end, platform=platform, campaign_id=campaign, limit=limit))
        self.expect(answers, expected, performance_shape)

    @rule(data=st.data(), order=st.sampled_from(list(Order)), limit=st.sampled_from([5, 100]))
    def list_rows(self, data: st.DataObject, order: Order, limit: int) -> None:
        client = data.draw(st.sampled_from(self.clients), label="client")
        draw = data.draw
        start = draw(st.none() | cs.performance_dates(), label="start")
        end = draw(st.none() | cs.performance_dates(), label="end")
        filters = RowFilters(start, end, draw(st.none() | st.sampled_from(self.platforms), label="platform"),
                             draw(st.none() | st.sampled_from(self.campaigns), label="campaign"),
                             draw(st.none() | st.sampled_from(self.ads), label="ad"))
        if start and end and end < start:
            expected: Any = InvalidInput
        else:
            expected = self.model.listed(client, start, end, filters.platform and canonical(filters.platform),
                                         filters.campaign_id, filters.ad_id, order is Order.DESC)
        answers = self.on_each(lambda kind: self._every_row(kind, client, filters, order, limit))
        self.expect(answers, expected, lambda rows: [row_shape(r) for r in rows])

    async def _every_row(self, kind: str, client: ClientId, filters: RowFilters, order: Order,
                         limit: int) -> list[PerformanceRow]:
        rows: list[PerformanceRow] = []
        number = 1
        while True:
            page = await self.metrics[kind].list(self.actor, client, filters, PageRequest(number, limit),
                                                 SortSpec("date", order))
            rows.extend(page.items)
            if len(page.items) < limit:
                assert page.total_items == len(rows)
                return rows
            number += 1

    @invariant()
    def reports_over_all_the_data_match_the_model(self) -> None:
        if not self.clients:
            return
        # In turn (reports cost CPU on every storage): monthly growth, then the performance report.
        self.steps += 1
        client = self.clients[self.steps // 2 % 2]
        start, end = CHECKED_RANGES[self.steps // 4 % len(CHECKED_RANGES)]
        if self.steps % 2:
            self._check_growth(client, start, end, Period.MONTHLY)
        else:
            self._check_performance(client, start, end, None, None, 100)


def _first_difference(got: Any, expected: Any, path: str = "") -> tuple[str, Any, Any]:
    """Where two shapes part: the path to the first differing item, and both values there."""
    if isinstance(got, dict) and isinstance(expected, dict) and got.keys() == expected.keys():
        for key in got:
            if got[key] != expected[key]:
                return _first_difference(got[key], expected[key], f"{path}.{key}")
    if isinstance(got, list | tuple) and isinstance(expected, list | tuple) and len(got) == len(expected):
        for i, (a, b) in enumerate(zip(got, expected, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{i}]")
    return path, got, expected


async def _add_clients(storage: Any, clients: list[Any]) -> None:
    async with storage.transaction() as tx:
        for client in clients:
            await tx.clients.add(client)


__all__ = ["PERFORMANCE_MACHINE_SETTINGS", "PerformanceMachine"]
