"""Shared helpers of the storage contract suite: writing and reading in one transaction, paging
through a list, expected orders computed from the stored data, and the task world the task tests
filter. Every expected order is computed by the test from the rows it stored (never copied from the
adapter), with fixed, distinct timestamps, so ordering and paging are checked, not assumed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

from catalyst_contracts.strategies import (
    at,
    make_client,
    make_membership,
    make_row,
    make_task,
    make_user,
    money,
)
from catalyst_core.auth.model import User
from catalyst_core.clients.model import Client, ClientRole, Membership
from catalyst_core.ids import ClientId, TaskId
from catalyst_core.metrics.model import (
    EARLIEST_DATE,
    LATEST_DATE,
    DayTotals,
    EntityTotals,
    IngestResult,
    PerformanceQuery,
    PerformanceRow,
)
from catalyst_core.metrics.registry import Totals
from catalyst_core.paging import Order, Page, PageRequest
from catalyst_core.tasks.model import (
    Comment,
    Priority,
    Task,
    TaskQuery,
    TaskStatus,
    TaskType,
)

T = TypeVar("T")

PRIORITY_ORDER = {Priority.BACKLOG: 0, Priority.LOW: 1, Priority.MEDIUM: 2, Priority.HIGH: 3}
ALL = PageRequest(1, 100)


# -- helpers ----------------------------------------------------------------------------------------

async def put(storage: Any, *objects: Any) -> None:
    """Add users, clients, memberships, tasks and comments in one committed transaction."""
    async with storage.transaction() as tx:
        for obj in objects:
            if isinstance(obj, User):
                await tx.users.add(obj)
            elif isinstance(obj, Client):
                await tx.clients.add(obj)
            elif isinstance(obj, Membership):
                await tx.members.add(obj)
            elif isinstance(obj, Task):
                await tx.tasks.add(obj)
            elif isinstance(obj, Comment):
                await tx.comments.add(obj)
            else:
                raise TypeError(obj)


async def read(storage: Any, action: Callable[[Any], Awaitable[T]]) -> T:
    async with storage.transaction(write=False) as tx:
        return await action(tx)


async def every_page(fetch: Callable[[PageRequest], Awaitable[Page[T]]], limit: int) -> list[T]:
    """Page through a list; checks the page metadata on the way."""
    items: list[T] = []
    number = 1
    while True:
        page = await fetch(PageRequest(number, limit))
        assert page.current_page == number
        if not page.items:
            assert page.total_items == len(items)
            return items
        assert len(page.items) <= limit
        items.extend(page.items)
        assert page.total_pages == -(-page.total_items // limit)
        number += 1


def ordered(rows: Iterable[T], key: Callable[[T], Any], ident: Callable[[T], Any], order: Order) -> list[T]:
    """Sort by key then id, both in `order`; rows with a None key last in either direction."""
    rows = list(rows)
    desc = order is Order.DESC
    present = sorted((r for r in rows if key(r) is not None), key=lambda r: (key(r), ident(r)), reverse=desc)
    absent = sorted((r for r in rows if key(r) is None), key=ident, reverse=desc)
    return present + absent


def ids(rows: Iterable[Any]) -> list[Any]:
    return [r.id for r in rows]


def utc_day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def task_matches(task: Task, q: TaskQuery, memberships: Sequence[Membership]) -> bool:
    """The port's filter semantics, written out plainly."""
    if q.visible_to is not None:
        mine = {m.client_id for m in memberships if m.user_id == q.visible_to}
        if task.client_id not in mine:
            return False
    if q.client_id is not None and task.client_id != q.client_id:
        return False
    if q.status is not None and task.status != q.status:
        return False
    if q.task_type is not None and task.task_type != q.task_type:
        return False
    if q.priority is not None and task.priority != q.priority:
        return False
    if q.assigned_to is not None and q.assigned_to not in task.assignees:
        return False
    if q.assigned_to_other_than is not None and not [a for a in task.assignees
                                                     if a != q.assigned_to_other_than]:
        return False
    if q.assignee_id is not None and q.assignee_id not in task.assignees:
        return False
    if q.text is not None:
        needle = q.text.casefold()  # Unicode's full case folding: "ẞ", "ß" and "SS" are all "ss"
        if needle not in task.name.casefold() and needle not in (task.description or "").casefold():
            return False
    if q.due_before is not None and (task.due_date is None
                                     or task.due_date >= utc_day_start(q.due_before) + timedelta(days=1)):
        return False
    return not (q.due_after is not None and (task.due_date is None
                                             or task.due_date < utc_day_start(q.due_after)))


TASK_SORT_KEYS: dict[str, Callable[[Task], Any]] = {
    "created_at": lambda t: t.created_at,
    "updated_at": lambda t: t.updated_at,
    "name": lambda t: t.name.lower(),
    "due_date": lambda t: t.due_date,
    "priority": lambda t: PRIORITY_ORDER[t.priority],
}


class TaskWorld:
    """Two clients, four users and a dozen tasks chosen so every filter keeps some and drops some."""

    def __init__(self) -> None:
        self.alice = make_user(name="Alice")
        self.bob = make_user(name="Bob")
        self.carol = make_user(name="Carol")
        self.dave = make_user(name="Dave")  # belongs to no client
        self.acme = make_client(name="Acme")
        self.globex = make_client(name="Globex")
        a, b, c = self.alice.id, self.bob.id, self.carol.id
        self.memberships = [
            make_membership(self.acme, self.alice, ClientRole.ADMIN),
            make_membership(self.acme, self.bob, ClientRole.MEMBER),
            make_membership(self.globex, self.bob, ClientRole.VIEWER),
            make_membership(self.globex, self.carol, ClientRole.ADMIN),
        ]
        day = datetime(2024, 3, 10, tzinfo=UTC)
        specs: list[dict[str, Any]] = [
            dict(client_id=self.acme.id, name="Review banner", task_type=TaskType.REVIEW_CREATIVE,
                 priority=Priority.HIGH, assignees=[a], due_date=day + timedelta(hours=9),
                 description="Check the 50% discount copy"),
            dict(client_id=self.acme.id, name="review report Q1", task_type=TaskType.REVIEW_REPORT,
                 priority=Priority.LOW, assignees=[a, b], due_date=day - timedelta(microseconds=1),
                 description=None),
            dict(client_id=self.acme.id, name="Budget 500 plan", priority=Priority.BACKLOG, assignees=[b],
                 due_date=None, description="plain text", status=TaskStatus.IN_PROGRESS),
            dict(client_id=self.acme.id, name="alpha_beta", priority=Priority.MEDIUM, assignees=[],
                 due_date=day + timedelta(days=1), description="underscore", status=TaskStatus.COMPLETED),
            dict(client_id=self.acme.id, name="alphaXbeta", priority=Priority.MEDIUM, assignees=[c],
                 due_date=day + timedelta(days=1, hours=23, minutes=59, seconds=59, microseconds=999_999),
                 description="NOT an underscore"),
            dict(client_id=self.acme.id, name="Alpha", priority=Priority.HIGH, assignees=[a],
                 due_date=datetime(2024, 3, 10, 1, 0, tzinfo=timezone(timedelta(hours=2))),
                 description="Mentions REVIEW in the description", status=TaskStatus.CANCELLED),
            dict(client_id=self.globex.id, name="alpha", priority=Priority.LOW, assignees=[c, b],
                 due_date=day + timedelta(days=2), description="globex work"),
            dict(client_id=self.globex.id, name="Zeta review", task_type=TaskType.REVIEW_CREATIVE,
                 priority=Priority.BACKLOG, assignees=[c], due_date=None, description="100% done"),
            dict(client_id=self.globex.id, name="Mu", task_type=TaskType.REVIEW_REPORT,
                 priority=Priority.HIGH, assignees=[b], due_date=day - timedelta(days=3),
                 description="a%b literal", status=TaskStatus.IN_PROGRESS),
            dict(client_id=self.globex.id, name="Nu", priority=Priority.MEDIUM, assignees=[],
                 due_date=day, description=None),
            dict(client_id=self.acme.id, name="beta", priority=Priority.LOW, assignees=[b, c],
                 due_date=day + timedelta(hours=23, minutes=59, seconds=59, microseconds=999_999),
                 description="Discount 50 percent"),
            dict(client_id=self.globex.id, name="Beta", priority=Priority.BACKLOG, assignees=[b],
                 due_date=day + timedelta(days=1), description=None, status=TaskStatus.COMPLETED),
        ]
        self.tasks: list[Task] = []
        for i, spec in enumerate(specs):
            # created_at has pairs of ties (ids break them); updated_at runs the other way round.
            task = make_task(spec.pop("client_id"), self.alice, created_at=at(i // 2),
                             updated_at=at(100 - i), **spec)
            self.tasks.append(task)

    def objects(self) -> list[Any]:
        return [self.alice, self.bob, self.carol, self.dave, self.acme, self.globex, *self.memberships,
                *self.tasks]

    def expect(self, query: TaskQuery) -> set[TaskId]:
        return {t.id for t in self.tasks if task_matches(t, query, self.memberships)}


# -- performance data ------------------------------------------------------------------------------

COUNTS = ("impressions", "clicks", "landing_page_views", "leads", "conversions")
MONEY = ("spend", "revenue")
LEVELS = ("campaign", "adset", "ad")
D = date.fromisoformat


def micros(value: Decimal) -> int:
    exact = value.scaleb(6)
    assert exact == exact.to_integral_value(), value
    return int(exact)


def totals_of(rows: Iterable[PerformanceRow]) -> Totals:
    """The port's sums, plainly: money in micros, counts as they are, and how many rows."""
    rows = list(rows)
    amounts = {name: sum(micros(getattr(r, name)) for r in rows) for name in MONEY}
    amounts.update({name: sum(getattr(r, name) for r in rows) for name in COUNTS})
    return Totals.of(amounts, rows=len(rows))


def listing_key(row: PerformanceRow) -> tuple[date, str, str]:
    return (row.date, row.platform, row.ad_id)


def entity_key(entity: EntityTotals) -> tuple[str, str, str, str]:
    return (entity.platform, entity.campaign_id, entity.adset_id, entity.ad_id)


class Ledger:
    """What a PerformanceRepo must hold after the upserts it was given, per client."""

    def __init__(self) -> None:
        self.rows: dict[ClientId, dict[tuple[date, str, str], PerformanceRow]] = {}
        self.names: dict[tuple[ClientId, str, str, str], tuple[date, str]] = {}

    def apply(self, client_id: ClientId, rows: Sequence[PerformanceRow]) -> IngestResult:
        stored = self.rows.setdefault(client_id, {})
        updated = sum(listing_key(r) in stored for r in rows)
        for row in rows:
            stored[listing_key(row)] = row
            for level in LEVELS:
                name = getattr(row, f"{level}_name")
                key = (client_id, row.platform, level, getattr(row, f"{level}_id"))
                known = self.names.get(key)
                # The latest date wins; on the same date the later write; None never erases.
                if name is not None and (known is None or row.date >= known[0]):
                    self.names[key] = (row.date, name)
        return IngestResult(inserted=len(rows) - updated, updated=updated)

    def of(self, client_id: ClientId, start: date = EARLIEST_DATE, end: date = LATEST_DATE
           ) -> list[PerformanceRow]:
        return [r for r in self.rows.get(client_id, {}).values() if start <= r.date <= end]

    def name(self, client_id: ClientId, platform: str, level: str, entity_id: str) -> str | None:
        known = self.names.get((client_id, platform, level, entity_id))
        return None if known is None else known[1]

    def days(self, client_id: ClientId, start: date, end: date) -> list[DayTotals]:
        by_day: dict[date, list[PerformanceRow]] = {}
        for row in self.of(client_id, start, end):
            by_day.setdefault(row.date, []).append(row)
        return [DayTotals(day, totals_of(by_day[day])) for day in sorted(by_day)]

    def entities(self, client_id: ClientId, start: date, end: date, platform: str | None = None,
                 campaign_id: str | None = None) -> list[EntityTotals]:
        groups: dict[tuple[str, str, str, str], list[PerformanceRow]] = {}
        for row in self.of(client_id, start, end):
            if platform in (None, row.platform) and campaign_id in (None, row.campaign_id):
                groups.setdefault((row.platform, row.campaign_id, row.adset_id, row.ad_id), []).append(row)
        return sorted((EntityTotals(p, c, s, a, self.name(client_id, p, "campaign", c),
                                    self.name(client_id, p, "adset", s), self.name(client_id, p, "ad", a),
                                    totals_of(rows))
                       for (p, c, s, a), rows in groups.items()), key=entity_key)

    def listed(self, query: PerformanceQuery, order: Order) -> list[PerformanceRow]:
        rows = [r for r in self.of(query.client_id, query.start_date or EARLIEST_DATE,
                                   query.end_date or LATEST_DATE)
                if query.platform in (None, r.platform) and query.campaign_id in (None, r.campaign_id)
                and query.ad_id in (None, r.ad_id)]
        return sorted(rows, key=listing_key, reverse=order is Order.DESC)


async def upsert(storage: Any, ledger: Ledger, client_id: ClientId, rows: Sequence[PerformanceRow]
                 ) -> IngestResult:
    """Upsert in one committed transaction; the answer must be the ledger's count."""
    async with storage.transaction() as tx:
        result = await tx.performance.upsert(client_id, rows)
    assert result == ledger.apply(client_id, rows)
    return result


async def entity_totals(storage: Any, client_id: ClientId, start: date, end: date,
                        **filters: str | None) -> list[EntityTotals]:
    found = await read(storage, lambda tx: tx.performance.entity_totals(client_id, start, end, **filters))
    return sorted(found, key=entity_key)


async def every_row(storage: Any, query: PerformanceQuery, order: Order, limit: int = 100
                    ) -> list[PerformanceRow]:
    return await every_page(lambda p: read(storage, lambda tx: tx.performance.list(query, p, order)), limit)


async def assert_matches(storage: Any, ledger: Ledger, client_id: ClientId,
                         ranges: Iterable[tuple[date, date]] = ((EARLIEST_DATE, LATEST_DATE),)) -> None:
    """Every way to read a client's data answers what the ledger holds."""
    query = PerformanceQuery(client_id)
    assert await every_row(storage, query, Order.ASC) == ledger.listed(query, Order.ASC)
    assert await read(storage, lambda tx: tx.performance.client_totals(client_id)) == totals_of(
        ledger.of(client_id))
    for start, end in ranges:
        assert await read(storage, lambda tx, s=start, e=end: tx.performance.daily_totals(
            client_id, s, e)) == ledger.days(client_id, start, end), (start, end)
        assert await entity_totals(storage, client_id, start, end) == ledger.entities(
            client_id, start, end), (start, end)


def spread(client: Any, days: Iterable[date], ads: Sequence[tuple[str, str, str]], platform: str = "facebook"
           ) -> list[PerformanceRow]:
    """One row per day and (campaign, ad set, ad), each with metrics of its own."""
    rows = []
    for i, day in enumerate(days):
        for j, (campaign, adset, ad) in enumerate(ads):
            n = i * len(ads) + j + 1
            rows.append(make_row(client, date=day, platform=platform, campaign_id=campaign, adset_id=adset,
                                 ad_id=ad, spend=money(Decimal(n * 1_234_567) / 10**6), impressions=1000 + n,
                                 clicks=n % 7, landing_page_views=n % 5, leads=n % 3, conversions=n % 2,
                                 revenue=money(Decimal(n * 37) / 1000)))
    return rows


def cuts(first: date, last: date) -> list[tuple[date, date]]:
    """Ranges cutting the months between `first` and `last` every way: single days, within a month,
    whole months, from or to a month's edge, across several months, and past the data."""
    found = [(first, last), (EARLIEST_DATE, LATEST_DATE), (first - timedelta(days=400), first - timedelta(1))]
    day = first.replace(day=1)
    while day <= last:
        following = (day + timedelta(days=32)).replace(day=1)
        month_end = following - timedelta(days=1)
        found += [(day, day), (month_end, month_end), (day + timedelta(9), day + timedelta(9)),
                  (day + timedelta(3), day + timedelta(16)), (day, month_end), (day, day + timedelta(12)),
                  (day + timedelta(5), month_end), (day + timedelta(14), following + timedelta(4)),
                  (month_end, following), (day, following + timedelta(days=40)),
                  (day + timedelta(2), following + timedelta(days=70))]
        day = following
    return found
