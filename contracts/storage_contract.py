"""The Storage port's contract suite: every Storage adapter must pass it.

Bind it with a subclass and an async fixture named `storage` that yields an EMPTY storage:

    class TestMyStorage(StorageContract):
        @pytest.fixture
        async def storage(self):
            s = MyStorage(...)
            yield s
            await s.close()

Every expected order below is computed by the test from the rows it stored (never copied from the
adapter), with fixed, distinct timestamps, so ordering and paging are checked, not assumed."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, TypeVar

import pytest
from attrs import evolve

from catalyst_contracts.strategies import (
    at,
    make_client,
    make_comment,
    make_membership,
    make_task,
    make_user,
    new_id,
)
from catalyst_core.auth.model import User
from catalyst_core.clients.model import Client, ClientRole, ClientView, Membership, MemberView
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import ClientId, CommentId, TaskId, UserId
from catalyst_core.paging import Order, Page, PageRequest, SortSpec
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
        needle = q.text.lower()
        if needle not in task.name.lower() and needle not in (task.description or "").lower():
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


# -- the suite ----------------------------------------------------------------------------------------

class StorageContract:
    """The Storage port's semantics (catalyst_core.ports). Needs an async fixture `storage`."""

    # -- storage -------------------------------------------------------------------------------------

    async def test_ping_answers(self, storage: Any) -> None:
        assert await storage.ping() is None

    # -- users ---------------------------------------------------------------------------------------

    async def test_user_add_then_get_and_get_by_email(self, storage: Any) -> None:
        user = make_user(name="Ada Lovelace")
        await put(storage, user)
        assert await read(storage, lambda tx: tx.users.get(user.id)) == user
        assert await read(storage, lambda tx: tx.users.get_by_email(user.email)) == user

    async def test_user_get_returns_none_when_absent(self, storage: Any) -> None:
        await put(storage, make_user(email="someone@example.com"))
        assert await read(storage, lambda tx: tx.users.get(UserId(new_id()))) is None
        assert await read(storage, lambda tx: tx.users.get_by_email("nobody@example.com")) is None

    async def test_user_emails_are_stored_as_given(self, storage: Any) -> None:
        user = make_user(email="Mixed.Case@Example.com")
        await put(storage, user)
        assert (await read(storage, lambda tx: tx.users.get(user.id))).email == "Mixed.Case@Example.com"
        assert await read(storage, lambda tx: tx.users.get_by_email("Mixed.Case@Example.com")) == user

    async def test_user_duplicate_email_on_add_is_conflict(self, storage: Any) -> None:
        first = make_user(email="taken@example.com")
        await put(storage, first)
        with pytest.raises(Conflict):
            await put(storage, make_user(email="taken@example.com"))
        assert await read(storage, lambda tx: tx.users.get_by_email("taken@example.com")) == first

    async def test_user_duplicate_id_on_add_is_conflict(self, storage: Any) -> None:
        first = make_user()
        await put(storage, first)
        with pytest.raises(Conflict):
            await put(storage, make_user(id=first.id))

    async def test_user_save_changes_fields(self, storage: Any) -> None:
        user = make_user()
        await put(storage, user)
        user.name, user.email, user.is_active = "Renamed", "renamed@example.com", False
        user.updated_at = at(60)
        async with storage.transaction() as tx:
            await tx.users.save(user)
        assert await read(storage, lambda tx: tx.users.get(user.id)) == user
        assert await read(storage, lambda tx: tx.users.get_by_email("renamed@example.com")) == user

    async def test_user_save_with_another_users_email_is_conflict(self, storage: Any) -> None:
        first, second = make_user(email="first@example.com"), make_user(email="second@example.com")
        await put(storage, first, second)
        second.email = "first@example.com"
        with pytest.raises(Conflict):
            async with storage.transaction() as tx:
                await tx.users.save(second)
        assert (await read(storage, lambda tx: tx.users.get(second.id))).email == "second@example.com"

    async def test_user_save_keeping_own_email_is_fine(self, storage: Any) -> None:
        user = make_user()
        await put(storage, user)
        user.name = "Same email"
        async with storage.transaction() as tx:
            await tx.users.save(user)
        assert (await read(storage, lambda tx: tx.users.get(user.id))).name == "Same email"

    async def test_users_are_copied_in_and_out(self, storage: Any) -> None:
        user = make_user(name="Original")
        original = copy.deepcopy(user)
        async with storage.transaction() as tx:
            await tx.users.add(user)
            user.name = "Mutated after add"
            fetched = await tx.users.get(user.id)
            assert fetched == original
            fetched.name = "Mutated after get"
        got = await read(storage, lambda tx: tx.users.get(user.id))
        assert got == original
        got.name = "Mutated again"
        assert await read(storage, lambda tx: tx.users.get_by_email(user.email)) == original

    # -- clients -------------------------------------------------------------------------------------

    async def test_client_add_get_save(self, storage: Any) -> None:
        client = make_client(name="Acme", logo="https://example.com/logo.png")
        await put(storage, client)
        assert await read(storage, lambda tx: tx.clients.get(client.id)) == client
        assert await read(storage, lambda tx: tx.clients.get(client.id, for_update=True)) == client
        client.name, client.logo, client.is_active, client.updated_at = "Acme 2", None, False, at(9)
        async with storage.transaction() as tx:
            await tx.clients.save(client)
        assert await read(storage, lambda tx: tx.clients.get(client.id)) == client
        assert await read(storage, lambda tx: tx.clients.get(ClientId(new_id()))) is None

    async def test_clients_are_copied_in_and_out(self, storage: Any) -> None:
        client = make_client(name="Original")
        original = copy.deepcopy(client)
        await put(storage, client)
        client.name = "Mutated after add"
        got = await read(storage, lambda tx: tx.clients.get(client.id))
        assert got == original
        got.name = "Mutated after get"
        page = await read(storage, lambda tx: tx.clients.list_visible(None, ALL, SortSpec(),
                                                                      default_role=ClientRole.ADMIN))
        assert [v.client for v in page.items] == [original]

    async def test_list_visible_all_and_per_user(self, storage: Any) -> None:
        user, other = make_user(), make_user()
        c1, c2, c3 = (make_client(created_at=at(i)) for i in (1, 2, 3))
        await put(storage, user, other, c1, c2, c3, make_membership(c1, user, ClientRole.VIEWER),
                  make_membership(c3, user, ClientRole.ADMIN), make_membership(c2, other, ClientRole.MEMBER))

        everything = await read(storage, lambda tx: tx.clients.list_visible(
            None, ALL, SortSpec("created_at", Order.ASC), default_role=ClientRole.MEMBER))
        assert everything.items == [ClientView(c, ClientRole.MEMBER) for c in (c1, c2, c3)]
        assert everything.total_items == 3

        mine = await read(storage, lambda tx: tx.clients.list_visible(
            user.id, ALL, SortSpec("created_at", Order.ASC), default_role=ClientRole.MEMBER))
        assert mine.items == [ClientView(c1, ClientRole.VIEWER), ClientView(c3, ClientRole.ADMIN)]
        assert mine.total_items == 2

        nobody = await read(storage, lambda tx: tx.clients.list_visible(
            UserId(new_id()), ALL, SortSpec(), default_role=ClientRole.ADMIN))
        assert nobody.items == [] and nobody.total_items == 0

    @pytest.mark.parametrize("field", ["created_at", "updated_at", "name"])
    @pytest.mark.parametrize("order", list(Order))
    async def test_list_visible_sorts_with_ties_broken_by_id(self, storage: Any, field: str,
                                                             order: Order) -> None:
        user = make_user()
        names = ["beta", "Alpha", "alpha", "Gamma", "beta", "ÉCLAIR", "delta"]
        clients = [make_client(name=n, created_at=at(i // 2), updated_at=at(50 - i // 3))
                   for i, n in enumerate(names)]
        await put(storage, user, *clients, *[make_membership(c, user) for c in clients[::2]])
        keys: dict[str, Callable[[Client], Any]] = {
            "created_at": lambda c: c.created_at, "updated_at": lambda c: c.updated_at,
            "name": lambda c: c.name.casefold()}
        sort = SortSpec(field, order)

        got = await every_page(lambda p: read(storage, lambda tx: tx.clients.list_visible(
            None, p, sort, default_role=ClientRole.ADMIN)), limit=3)
        assert ids(v.client for v in got) == ids(ordered(clients, keys[field], lambda c: c.id, order))

        got = await every_page(lambda p: read(storage, lambda tx: tx.clients.list_visible(
            user.id, p, sort, default_role=ClientRole.ADMIN)), limit=2)
        assert ids(v.client for v in got) == ids(ordered(clients[::2], keys[field], lambda c: c.id, order))
        assert {v.role for v in got} == {ClientRole.MEMBER}

    async def test_list_visible_paging(self, storage: Any) -> None:
        clients = [make_client(created_at=at(i)) for i in range(5)]
        await put(storage, *clients)
        newest_first = list(reversed(clients))

        async def page(n: int, limit: int) -> Page[ClientView]:
            return await read(storage, lambda tx: tx.clients.list_visible(
                None, PageRequest(n, limit), SortSpec(), default_role=ClientRole.ADMIN))

        first = await page(1, 2)
        assert [v.client for v in first.items] == newest_first[:2]
        assert (first.total_items, first.total_pages, first.current_page) == (5, 3, 1)
        last = await page(3, 2)
        assert [v.client for v in last.items] == newest_first[4:]
        assert last.total_items == 5
        past = await page(4, 2)
        assert list(past.items) == [] and past.total_items == 5
        far = await page(50, 10)
        assert list(far.items) == [] and far.total_items == 5

    # -- members -------------------------------------------------------------------------------------

    async def test_member_add_get_save_remove(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        membership = make_membership(client, user, ClientRole.VIEWER, at(5))
        await put(storage, user, client, membership)
        assert await read(storage, lambda tx: tx.members.get(client.id, user.id)) == membership
        membership.role = ClientRole.ADMIN
        async with storage.transaction() as tx:
            await tx.members.save(membership)
        assert await read(storage, lambda tx: tx.members.get(client.id, user.id)) == membership
        async with storage.transaction() as tx:
            await tx.members.remove(client.id, user.id)
        assert await read(storage, lambda tx: tx.members.get(client.id, user.id)) is None

    async def test_member_add_duplicate_is_conflict(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client, make_membership(client, user, ClientRole.ADMIN))
        with pytest.raises(Conflict):
            await put(storage, make_membership(client, user, ClientRole.VIEWER))
        assert (await read(storage, lambda tx: tx.members.get(client.id, user.id))).role is ClientRole.ADMIN

    async def test_member_add_with_unknown_client_or_user_is_not_found(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        with pytest.raises(NotFound):
            await put(storage, make_membership(ClientId(new_id()), user))
        with pytest.raises(NotFound):
            await put(storage, make_membership(client, UserId(new_id())))
        page = await read(storage, lambda tx: tx.members.list(client.id, ALL, SortSpec("added_at")))
        assert list(page.items) == []

    async def test_member_save_and_remove_missing_are_not_found(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.members.save(make_membership(client, user))
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.members.remove(client.id, user.id)
        assert await read(storage, lambda tx: tx.members.get(client.id, user.id)) is None

    async def test_count_admins(self, storage: Any) -> None:
        users = [make_user() for _ in range(4)]
        acme, globex = make_client(), make_client()
        await put(storage, *users, acme, globex,
                  make_membership(acme, users[0], ClientRole.ADMIN),
                  make_membership(acme, users[1], ClientRole.ADMIN),
                  make_membership(acme, users[2], ClientRole.MEMBER),
                  make_membership(globex, users[3], ClientRole.VIEWER),
                  make_membership(globex, users[0], ClientRole.ADMIN))
        assert await read(storage, lambda tx: tx.members.count_admins(acme.id)) == 2
        assert await read(storage, lambda tx: tx.members.count_admins(globex.id)) == 1
        assert await read(storage, lambda tx: tx.members.count_admins(ClientId(new_id()))) == 0

    async def test_non_members_keeps_the_given_order(self, storage: Any) -> None:
        users = [make_user() for _ in range(5)]
        client, other = make_client(), make_client()
        await put(storage, *users, client, other, make_membership(client, users[1]),
                  make_membership(client, users[3]), make_membership(other, users[4]))
        stranger = UserId(new_id())
        query = [users[4].id, users[3].id, stranger, users[0].id, users[1].id, users[2].id]
        got = await read(storage, lambda tx: tx.members.non_members(client.id, query))
        assert got == [users[4].id, stranger, users[0].id, users[2].id]
        assert await read(storage, lambda tx: tx.members.non_members(client.id, [])) == []
        assert await read(storage, lambda tx: tx.members.non_members(client.id, [users[1].id])) == []

    @pytest.mark.parametrize("field", ["added_at", "name", "email"])
    @pytest.mark.parametrize("order", list(Order))
    async def test_member_list_sorts_and_pages(self, storage: Any, field: str, order: Order) -> None:
        names = ["zoe", "Adam", "adam", "Émile", "bob", "Bob", "carl"]
        users = [make_user(name=n, email=f"m{(i * 5) % 7}-{new_id().hex[:6]}@example.com")
                 for i, n in enumerate(names)]
        client, other = make_client(), make_client()
        roles = list(ClientRole)
        memberships = [make_membership(client, u, roles[i % 3], at(i // 2)) for i, u in enumerate(users)]
        await put(storage, *users, client, other, *memberships, make_membership(other, users[0]))
        views = [MemberView(u.id, u.email, u.name, m.role, m.added_at) for u, m in zip(users, memberships,
                                                                                          strict=True)]
        keys: dict[str, Callable[[MemberView], Any]] = {
            "added_at": lambda v: v.added_at, "name": lambda v: v.name.casefold(), "email": lambda v: v.email}
        expected = ordered(views, keys[field], lambda v: v.user_id, order)
        got = await every_page(lambda p: read(storage, lambda tx: tx.members.list(
            client.id, p, SortSpec(field, order))), limit=3)
        assert got == expected
        first = await read(storage, lambda tx: tx.members.list(client.id, PageRequest(1, 3),
                                                               SortSpec(field, order)))
        assert (first.total_items, first.total_pages) == (7, 3)
        past = await read(storage, lambda tx: tx.members.list(client.id, PageRequest(4, 3),
                                                              SortSpec(field, order)))
        assert list(past.items) == [] and past.total_items == 7

    # -- tasks ---------------------------------------------------------------------------------------

    async def test_task_add_get(self, storage: Any) -> None:
        user, other, client = make_user(), make_user(), make_client()
        task = make_task(client, user, name="Launch", task_type=TaskType.REVIEW_REPORT,
                         status=TaskStatus.IN_PROGRESS, priority=Priority.HIGH,
                         assignees=[other.id, user.id], due_date=at(3600), description="details",
                         related_object_id="abc", related_object_type="alert_instance",
                         created_at=at(1), updated_at=at(2))
        await put(storage, user, other, client, task)
        assert await read(storage, lambda tx: tx.tasks.get(task.id)) == task
        assert await read(storage, lambda tx: tx.tasks.get(TaskId(new_id()))) is None

    async def test_task_add_many(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        tasks = [make_task(client, user, assignees=[user.id], created_at=at(i)) for i in range(3)]
        async with storage.transaction() as tx:
            await tx.tasks.add_many(tasks)
            await tx.tasks.add_many([])
        for task in tasks:
            assert await read(storage, lambda tx, t=task: tx.tasks.get(t.id)) == task

    async def test_task_naming_unknown_people_is_not_found(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        ghost = UserId(new_id())
        finished = {"status": TaskStatus.COMPLETED, "completed_at": at(5)}
        for task in (make_task(client, ghost), make_task(client, user, assignees=[user.id, ghost]),
                     make_task(client, user, completed_by=ghost, **finished),
                     make_task(ClientId(new_id()), user)):
            with pytest.raises(NotFound):
                await put(storage, task)
        task = make_task(client, user, assignees=[user.id])
        await put(storage, task)
        for change in ({"assignees": [ghost]}, {"completed_by": ghost, **finished}):
            with pytest.raises(NotFound):
                async with storage.transaction() as tx:
                    await tx.tasks.save(evolve(task, **change))
        assert await read(storage, lambda tx: tx.tasks.get(task.id)) == task
        page = await read(storage, lambda tx: tx.tasks.list(TaskQuery(client_id=client.id), ALL, SortSpec()))
        assert list(page.items) == [task]

    async def test_task_add_duplicate_id_is_conflict(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        task = make_task(client, user, name="first")
        await put(storage, user, client, task)
        with pytest.raises(Conflict):
            await put(storage, make_task(client, user, id=task.id, name="second"))
        assert (await read(storage, lambda tx: tx.tasks.get(task.id))).name == "first"

    async def test_tasks_are_copied_in_and_out(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        task = make_task(client, user, assignees=[user.id])
        original = copy.deepcopy(task)
        await put(storage, user, client, task)
        task.assignees.append(UserId(new_id()))
        task.name = "mutated"
        got = await read(storage, lambda tx: tx.tasks.get(task.id))
        assert got == original
        got.assignees.clear()
        page = await read(storage, lambda tx: tx.tasks.list(TaskQuery(), ALL, SortSpec()))
        assert list(page.items) == [original]

    async def test_task_save_bumps_version(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        task = make_task(client, user)
        await put(storage, user, client, task)
        assert task.version == 1
        task.name, task.assignees, task.updated_at = "Renamed", [user.id], at(30)
        async with storage.transaction() as tx:
            await tx.tasks.save(task)
        assert task.version == 2
        stored = await read(storage, lambda tx: tx.tasks.get(task.id))
        assert stored == task and stored.version == 2
        # The same object is current again, so it can be saved again.
        task.status, task.completed_by, task.completed_at = TaskStatus.COMPLETED, user.id, at(40)
        async with storage.transaction() as tx:
            await tx.tasks.save(task)
        stored = await read(storage, lambda tx: tx.tasks.get(task.id))
        assert stored == task and stored.version == 3

    async def test_task_save_of_stale_version_is_conflict(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        task = make_task(client, user, name="v1")
        await put(storage, user, client, task)
        stale = await read(storage, lambda tx: tx.tasks.get(task.id))
        fresh = await read(storage, lambda tx: tx.tasks.get(task.id))
        fresh.name = "fresh"
        async with storage.transaction() as tx:
            await tx.tasks.save(fresh)
        stale.name = "stale"
        with pytest.raises(Conflict):
            async with storage.transaction() as tx:
                await tx.tasks.save(stale)
        stored = await read(storage, lambda tx: tx.tasks.get(task.id))
        assert stored.name == "fresh" and stored.version == 2

    async def test_task_save_of_missing_is_not_found(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        await put(storage, user, client)
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.tasks.save(make_task(client, user))

    async def test_task_delete_removes_its_comments(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        doomed, kept = make_task(client, user), make_task(client, user)
        doomed_comments = [make_comment(doomed, user, created_at=at(i)) for i in range(3)]
        kept_comment = make_comment(kept, user)
        await put(storage, user, client, doomed, kept, *doomed_comments, kept_comment)
        async with storage.transaction() as tx:
            await tx.tasks.delete(doomed.id)
        assert await read(storage, lambda tx: tx.tasks.get(doomed.id)) is None
        for c in doomed_comments:
            assert await read(storage, lambda tx, c=c: tx.comments.get(c.id)) is None
        page = await read(storage, lambda tx: tx.comments.list(doomed.id, ALL))
        assert list(page.items) == [] and page.total_items == 0
        assert await read(storage, lambda tx: tx.tasks.get(kept.id)) == kept
        assert await read(storage, lambda tx: tx.comments.get(kept_comment.id)) == kept_comment

    async def test_task_delete_of_missing_is_not_found(self, storage: Any) -> None:
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.tasks.delete(TaskId(new_id()))

    async def test_task_list_each_filter_alone(self, storage: Any) -> None:
        w = TaskWorld()
        await put(storage, *w.objects())
        a, b, c, d = w.alice.id, w.bob.id, w.carol.id, w.dave.id
        queries: list[TaskQuery] = [
            TaskQuery(),
            *[TaskQuery(visible_to=u) for u in (a, b, c, d)],
            TaskQuery(client_id=w.acme.id), TaskQuery(client_id=w.globex.id),
            TaskQuery(client_id=ClientId(new_id())),
            *[TaskQuery(status=s) for s in TaskStatus],
            *[TaskQuery(task_type=t) for t in TaskType],
            *[TaskQuery(priority=p) for p in Priority],
            *[TaskQuery(assigned_to=u) for u in (a, b, c, d)],
            *[TaskQuery(assigned_to_other_than=u) for u in (a, b, c, d)],
            *[TaskQuery(assignee_id=u) for u in (a, b, c, d)],
            # Text: case-insensitive, in name or description; % and _ match themselves only.
            TaskQuery(text="review"), TaskQuery(text="REVIEW"), TaskQuery(text="Discount"),
            TaskQuery(text="50%"), TaskQuery(text="%"), TaskQuery(text="_"), TaskQuery(text="alpha_beta"),
            TaskQuery(text="a%b"), TaskQuery(text="0%"), TaskQuery(text="no such words"),
            # Due dates: inclusive whole UTC days; tasks with no due date never match.
            *[TaskQuery(due_before=date(2024, 3, day)) for day in (6, 7, 9, 10, 11, 12, 13)],
            *[TaskQuery(due_after=date(2024, 3, day)) for day in (6, 7, 9, 10, 11, 12, 13)],
        ]
        for query in queries:
            got = await read(storage, lambda tx, q=query: tx.tasks.list(q, ALL, SortSpec()))
            assert {t.id for t in got.items} == w.expect(query), query
            assert got.total_items == len(got.items), query

        # The data makes the tricky filters meaningful: wildcards would match more than these.
        by_name = {t.name: t.id for t in w.tasks}
        assert w.expect(TaskQuery(text="_")) == {by_name["alpha_beta"]}
        assert w.expect(TaskQuery(text="50%")) == {by_name["Review banner"]}
        assert w.expect(TaskQuery(text="%")) == {by_name[n] for n in ("Review banner", "Zeta review", "Mu")}
        assert w.expect(TaskQuery(text="review")) == {by_name[n] for n in (
            "Review banner", "review report Q1", "Alpha", "Zeta review")}
        assert w.expect(TaskQuery(assigned_to_other_than=b)) == {t.id for t in w.tasks
                                                                 if set(t.assignees) - {b}}
        assert by_name["Budget 500 plan"] not in w.expect(TaskQuery(assigned_to_other_than=b))

    async def test_task_text_search_ignores_case_beyond_ascii(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        tasks = [make_task(client, user, name="Éclair tasting"),
                 make_task(client, user, name="plain", description="ÜBER review")]
        await put(storage, user, client, *tasks)
        for text, expected in (("éclair", [tasks[0]]), ("ÉCLAIR", [tasks[0]]), ("über", [tasks[1]]),
                               ("eclair", [])):
            page = await read(storage, lambda tx, t=text: tx.tasks.list(TaskQuery(text=t), ALL, SortSpec()))
            assert ids(page.items) == ids(expected), text

    async def test_task_list_due_filters_by_whole_utc_day(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        day = date(2024, 5, 20)
        start = utc_day_start(day)
        edges = {
            "previous day, last microsecond": start - timedelta(microseconds=1),
            "first instant": start,
            "last microsecond": start + timedelta(days=1, microseconds=-1),
            "next day": start + timedelta(days=1),
            # 01:30 on the 21st in UTC+3 is 22:30 on the 20th in UTC.
            "other zone, same UTC day": datetime(2024, 5, 21, 1, 30, tzinfo=timezone(timedelta(hours=3))),
            "no due date": None,
        }
        tasks = {label: make_task(client, user, name=label, due_date=due) for label, due in edges.items()}
        await put(storage, user, client, *tasks.values())

        async def names(query: TaskQuery) -> set[str]:
            page = await read(storage, lambda tx: tx.tasks.list(query, ALL, SortSpec()))
            return {t.name for t in page.items}

        on_day = {"first instant", "last microsecond", "other zone, same UTC day"}
        assert await names(TaskQuery(due_before=day)) == on_day | {"previous day, last microsecond"}
        assert await names(TaskQuery(due_after=day)) == on_day | {"next day"}
        assert await names(TaskQuery(due_before=day, due_after=day)) == on_day

    async def test_task_list_filters_combined(self, storage: Any) -> None:
        w = TaskWorld()
        await put(storage, *w.objects())
        a, b, c = w.alice.id, w.bob.id, w.carol.id
        queries = [
            TaskQuery(visible_to=b, status=TaskStatus.PENDING),
            TaskQuery(visible_to=c, client_id=w.acme.id),
            TaskQuery(client_id=w.acme.id, priority=Priority.HIGH, status=TaskStatus.PENDING),
            TaskQuery(client_id=w.globex.id, task_type=TaskType.REVIEW_REPORT),
            TaskQuery(assigned_to=b, assigned_to_other_than=b),
            TaskQuery(assigned_to=a, text="review"),
            TaskQuery(assignee_id=c, due_after=date(2024, 3, 11)),
            TaskQuery(visible_to=a, due_before=date(2024, 3, 10), due_after=date(2024, 3, 9)),
            TaskQuery(text="alpha", priority=Priority.MEDIUM, assigned_to_other_than=a),
            TaskQuery(visible_to=b, client_id=w.globex.id, assignee_id=b, status=TaskStatus.COMPLETED,
                      task_type=TaskType.OTHER, priority=Priority.BACKLOG, text="BET",
                      due_before=date(2024, 3, 11), due_after=date(2024, 3, 11), assigned_to=b,
                      assigned_to_other_than=c),
        ]
        for query in queries:
            got = await every_page(lambda p, q=query: read(storage, lambda tx: tx.tasks.list(
                q, p, SortSpec("name", Order.ASC))), limit=2)
            expected = ordered([t for t in w.tasks if t.id in w.expect(query)], TASK_SORT_KEYS["name"],
                               lambda t: t.id, Order.ASC)
            assert ids(got) == ids(expected), query
        assert len(w.expect(queries[-1])) == 1

    @pytest.mark.parametrize("field", list(TASK_SORT_KEYS))
    @pytest.mark.parametrize("order", list(Order))
    async def test_task_list_sorts_with_ties_broken_by_id(self, storage: Any, field: str,
                                                          order: Order) -> None:
        w = TaskWorld()
        await put(storage, *w.objects())
        expected = ordered(w.tasks, TASK_SORT_KEYS[field], lambda t: t.id, order)
        got = await every_page(lambda p: read(storage, lambda tx: tx.tasks.list(
            TaskQuery(), p, SortSpec(field, order))), limit=5)
        assert ids(got) == ids(expected)
        assert got == expected
        if field == "due_date":
            assert got[-1].due_date is None and got[-2].due_date is None  # nulls last both ways

    async def test_task_list_paging(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        tasks = [make_task(client, user, created_at=at(i)) for i in range(7)]
        await put(storage, user, client, *tasks)
        newest_first = ids(reversed(tasks))
        for limit in (1, 3, 7, 10):
            got = await every_page(lambda p: read(storage, lambda tx: tx.tasks.list(
                TaskQuery(), p, SortSpec())), limit=limit)
            assert ids(got) == newest_first
        second = await read(storage, lambda tx: tx.tasks.list(TaskQuery(), PageRequest(2, 3), SortSpec()))
        assert ids(second.items) == newest_first[3:6]
        assert (second.total_items, second.total_pages, second.current_page) == (7, 3, 2)
        past = await read(storage, lambda tx: tx.tasks.list(TaskQuery(), PageRequest(9, 3), SortSpec()))
        assert list(past.items) == [] and past.total_items == 7
        filtered = await read(storage, lambda tx: tx.tasks.list(
            TaskQuery(client_id=client.id), PageRequest(2, 5), SortSpec("created_at", Order.ASC)))
        assert ids(filtered.items) == ids(tasks[5:]) and filtered.total_items == 7

    # -- comments ------------------------------------------------------------------------------------

    async def test_comment_add_get_view_save_delete(self, storage: Any) -> None:
        author, client = make_user(name="Author", email="author@example.com"), make_client()
        task = make_task(client, author)
        comment = make_comment(task, author, comment="First!", created_at=at(1), updated_at=at(1))
        await put(storage, author, client, task, comment)
        assert await read(storage, lambda tx: tx.comments.get(comment.id)) == comment
        view = await read(storage, lambda tx: tx.comments.view(comment.id))
        assert (view.id, view.task_id, view.comment, view.user_id, view.user_name, view.user_email,
                view.created_at, view.updated_at) == (comment.id, task.id, "First!", author.id, "Author",
                                                      "author@example.com", at(1), at(1))
        comment.comment, comment.updated_at = "Edited", at(2)
        async with storage.transaction() as tx:
            await tx.comments.save(comment)
        assert await read(storage, lambda tx: tx.comments.get(comment.id)) == comment
        assert (await read(storage, lambda tx: tx.comments.view(comment.id))).comment == "Edited"
        async with storage.transaction() as tx:
            await tx.comments.delete(comment.id)
        assert await read(storage, lambda tx: tx.comments.get(comment.id)) is None
        assert await read(storage, lambda tx: tx.comments.view(comment.id)) is None
        assert await read(storage, lambda tx: tx.tasks.get(task.id)) == task

    async def test_comment_missing_cases(self, storage: Any) -> None:
        author, client = make_user(), make_client()
        task = make_task(client, author)
        await put(storage, author, client, task)
        assert await read(storage, lambda tx: tx.comments.get(CommentId(new_id()))) is None
        assert await read(storage, lambda tx: tx.comments.view(CommentId(new_id()))) is None
        with pytest.raises(NotFound):
            await put(storage, make_comment(TaskId(new_id()), author))
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.comments.save(make_comment(task, author))
        with pytest.raises(NotFound):
            async with storage.transaction() as tx:
                await tx.comments.delete(CommentId(new_id()))

    async def test_comment_list_oldest_first_with_authors(self, storage: Any) -> None:
        ann = make_user(name="Ann", email="ann@example.com")
        ben = make_user(name="Ben", email="ben@example.com")
        client = make_client()
        task, other_task = make_task(client, ann), make_task(client, ann)
        comments = [make_comment(task, ann if i % 2 else ben, created_at=at(10 - i // 2),
                                 updated_at=at(100 + i)) for i in range(7)]
        await put(storage, ann, ben, client, task, other_task, *comments, make_comment(other_task, ann))
        expected = ordered(comments, lambda c: c.created_at, lambda c: c.id, Order.ASC)
        got = await every_page(lambda p: read(storage, lambda tx: tx.comments.list(task.id, p)), limit=3)
        assert ids(got) == ids(expected)
        authors = {ann.id: ann, ben.id: ben}
        for view, comment in zip(got, expected, strict=True):
            author = authors[comment.user_id]
            assert (view.task_id, view.comment, view.user_id, view.user_name, view.user_email,
                    view.created_at, view.updated_at) == (task.id, comment.comment, author.id, author.name,
                                                          author.email, comment.created_at,
                                                          comment.updated_at)
        first = await read(storage, lambda tx: tx.comments.list(task.id, PageRequest(1, 3)))
        assert (first.total_items, first.total_pages) == (7, 3)
        past = await read(storage, lambda tx: tx.comments.list(task.id, PageRequest(5, 3)))
        assert list(past.items) == [] and past.total_items == 7

    async def test_comment_view_follows_author_changes(self, storage: Any) -> None:
        author, client = make_user(name="Before"), make_client()
        task = make_task(client, author)
        comment = make_comment(task, author)
        await put(storage, author, client, task, comment)
        author.name, author.email = "After", "after@example.com"
        async with storage.transaction() as tx:
            await tx.users.save(author)
        view = await read(storage, lambda tx: tx.comments.view(comment.id))
        assert (view.user_name, view.user_email) == ("After", "after@example.com")

    # -- transactions --------------------------------------------------------------------------------

    async def test_exception_rolls_back_every_write_across_repos(self, storage: Any) -> None:
        user, client = make_user(name="Kept"), make_client(name="Kept")
        member = make_user()
        task = make_task(client, user, name="Kept")
        comment = make_comment(task, user, comment="Kept")
        membership = make_membership(client, member, ClientRole.VIEWER)
        await put(storage, user, member, client, membership, task, comment)
        before = await snapshot(storage, user, member, client, task, comment)

        new_user, new_client = make_user(), make_client()
        new_task = make_task(client, user)

        class Boom(Exception):
            pass

        with pytest.raises(Boom):
            async with storage.transaction() as tx:
                await tx.users.add(new_user)
                await tx.clients.add(new_client)
                await tx.members.add(make_membership(new_client, new_user, ClientRole.ADMIN))
                await tx.tasks.add(new_task)
                await tx.comments.add(make_comment(new_task, new_user))
                changed_user = await tx.users.get(user.id)
                changed_user.name = "Changed"
                await tx.users.save(changed_user)
                changed_client = await tx.clients.get(client.id)
                changed_client.name = "Changed"
                await tx.clients.save(changed_client)
                await tx.members.remove(client.id, member.id)
                changed_comment = await tx.comments.get(comment.id)
                changed_comment.comment = "Changed"
                await tx.comments.save(changed_comment)
                changed_task = await tx.tasks.get(task.id)
                changed_task.name, changed_task.assignees = "Changed", [member.id]
                await tx.tasks.save(changed_task)
                await tx.tasks.delete(task.id)
                raise Boom

        assert await snapshot(storage, user, member, client, task, comment) == before
        assert await read(storage, lambda tx: tx.users.get(new_user.id)) is None
        assert await read(storage, lambda tx: tx.users.get_by_email(new_user.email)) is None
        assert await read(storage, lambda tx: tx.clients.get(new_client.id)) is None
        assert await read(storage, lambda tx: tx.tasks.get(new_task.id)) is None
        assert await read(storage, lambda tx: tx.members.get(new_client.id, new_user.id)) is None
        # The rolled back email is free again.
        await put(storage, make_user(email=new_user.email))

    async def test_a_domain_error_rolls_back_earlier_writes(self, storage: Any) -> None:
        taken = make_user(email="taken@example.com")
        await put(storage, taken)
        client = make_client()
        with pytest.raises(Conflict):
            async with storage.transaction() as tx:
                await tx.clients.add(client)
                await tx.users.add(make_user(email="taken@example.com"))
        assert await read(storage, lambda tx: tx.clients.get(client.id)) is None

    async def test_committed_writes_are_visible_to_the_next_transaction(self, storage: Any) -> None:
        user, client = make_user(), make_client()
        async with storage.transaction() as tx:
            await tx.users.add(user)
            await tx.clients.add(client)
            # and inside the same transaction, too
            assert await tx.users.get(user.id) == user
        async with storage.transaction() as tx:
            assert await tx.users.get(user.id) == user
            await tx.members.add(make_membership(client, user, ClientRole.ADMIN))
        async with storage.transaction(write=False) as tx:
            assert await tx.members.count_admins(client.id) == 1
            assert await tx.clients.get(client.id) == client

    async def test_datetimes_round_trip_as_aware_utc(self, storage: Any) -> None:
        plus5 = timezone(timedelta(hours=5, minutes=30))
        stamps = [datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
                  datetime(2024, 7, 1, 3, 4, 5, 123_456, tzinfo=plus5),
                  datetime(1999, 12, 31, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=-8))),
                  datetime(2038, 1, 19, 3, 14, 8, 654_321, tzinfo=UTC)]
        user = make_user(created_at=stamps[0], updated_at=stamps[1])
        client = make_client(created_at=stamps[2], updated_at=stamps[3])
        membership = make_membership(client, user, ClientRole.ADMIN, stamps[1])
        task = make_task(client, user, due_date=stamps[2], created_at=stamps[3], updated_at=stamps[0],
                         completed_at=stamps[1], completed_by=user.id, status=TaskStatus.COMPLETED)
        comment = make_comment(task, user, created_at=stamps[1], updated_at=stamps[2])
        await put(storage, user, client, membership, task, comment)
        got = [
            *_stamps(await read(storage, lambda tx: tx.users.get(user.id)), "created_at", "updated_at"),
            *_stamps(await read(storage, lambda tx: tx.clients.get(client.id)), "created_at", "updated_at"),
            *_stamps(await read(storage, lambda tx: tx.members.get(client.id, user.id)), "added_at"),
            *_stamps(await read(storage, lambda tx: tx.tasks.get(task.id)), "due_date", "created_at",
                     "updated_at", "completed_at"),
            *_stamps(await read(storage, lambda tx: tx.comments.get(comment.id)), "created_at", "updated_at"),
            *_stamps(await read(storage, lambda tx: tx.comments.view(comment.id)),
                     "created_at", "updated_at"),
        ]
        want = [stamps[0], stamps[1], stamps[2], stamps[3], stamps[1], stamps[2], stamps[3], stamps[0],
                stamps[1], stamps[1], stamps[2], stamps[1], stamps[2]]
        assert got == want
        for value in got:
            assert value.tzinfo is not None and value.utcoffset() == timedelta(0), value
            assert value.microsecond == value.astimezone(UTC).microsecond
        listed = await read(storage, lambda tx: tx.members.list(client.id, ALL, SortSpec("added_at")))
        assert listed.items[0].added_at == stamps[1] and listed.items[0].added_at.utcoffset() == timedelta(0)

    # -- concurrency ---------------------------------------------------------------------------------

    async def test_concurrent_saves_of_the_same_version_one_wins(self, storage: Any) -> None:
        """Two writers that loaded the same version: exactly one save succeeds, the other is Conflict."""
        user, client = make_user(), make_client()
        task = make_task(client, user, description="0")
        await put(storage, user, client, task)
        loaded = [await read(storage, lambda tx: tx.tasks.get(task.id)) for _ in range(2)]

        async def save(i: int) -> None:
            loaded[i].name = f"writer {i}"
            async with storage.transaction() as tx:
                await tx.tasks.save(loaded[i])

        results = await asyncio.gather(save(0), save(1), return_exceptions=True)
        winners = [i for i, r in enumerate(results) if r is None]
        assert len(winners) == 1, results
        assert isinstance(results[1 - winners[0]], Conflict), results
        stored = await read(storage, lambda tx: tx.tasks.get(task.id))
        assert stored.name == f"writer {winners[0]}" and stored.version == 2

    async def test_concurrent_load_and_save_transactions_never_lose_an_update(self, storage: Any) -> None:
        """Two transactions that each load the task, change it and save it. Where the storage lets them
        overlap (both loaded before either committed) exactly one succeeds and the other is Conflict;
        where it serialises them both succeed, the second seeing the first's write. Never a lost update."""
        user, client = make_user(), make_client()
        task = make_task(client, user, description="0")
        await put(storage, user, client, task)
        log: list[str] = []
        loaded = asyncio.Event()
        count = [0]

        async def increment(i: int) -> None:
            async with storage.transaction() as tx:
                current = await tx.tasks.get(task.id)
                log.append(f"load {i}")
                count[0] += 1
                if count[0] == 2:
                    loaded.set()
                # Give the other transaction the chance to load too; a storage that serialises
                # transactions keeps it out, so do not wait forever.
                try:
                    await asyncio.wait_for(loaded.wait(), timeout=0.3)
                except TimeoutError:
                    pass
                current.description = str(int(current.description) + 1)
                current.name = f"writer {i}"
                await tx.tasks.save(current)
            log.append(f"commit {i}")

        results = await asyncio.gather(increment(0), increment(1), return_exceptions=True)
        for r in results:
            assert r is None or isinstance(r, Conflict), results
        successes = sum(r is None for r in results)
        stored = await read(storage, lambda tx: tx.tasks.get(task.id))
        assert stored.description == str(successes), (results, log)
        assert stored.version == 1 + successes
        overlapped = log[:2] in (["load 0", "load 1"], ["load 1", "load 0"])
        if overlapped:
            assert successes == 1, (results, log)
        else:
            assert successes == 2, (results, log)


def _stamps(obj: Any, *fields: str) -> list[datetime]:
    assert obj is not None
    return [getattr(obj, f) for f in fields]


async def snapshot(storage: Any, user: User, member: User, client: Client, task: Task,
                   comment: Comment) -> tuple[Any, ...]:
    async with storage.transaction(write=False) as tx:
        return (await tx.users.get(user.id), await tx.users.get(member.id), await tx.clients.get(client.id),
                await tx.members.get(client.id, member.id), await tx.tasks.get(task.id),
                await tx.comments.get(comment.id), await tx.members.count_admins(client.id),
                list((await tx.comments.list(task.id, ALL)).items),
                list((await tx.tasks.list(TaskQuery(assignee_id=member.id), ALL, SortSpec())).items))


__all__ = ["StorageContract", "TaskWorld", "every_page", "ordered", "put", "read", "task_matches"]
