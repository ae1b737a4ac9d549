"""TasksService with the in-memory storage, a frozen clock, recorded events and sequential ids:
each use case is checked by the state it leaves behind and the events sent after commit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.notifier import RecordingNotifier
from catalyst_core.auth.model import Actor, GlobalRole, User
from catalyst_core.clients.model import Client, ClientRole, Membership
from catalyst_core.errors import Conflict, Forbidden, InvalidInput, NotFound
from catalyst_core.events import CommentAdded, TaskAssigned, TaskCancelled, TaskCompleted
from catalyst_core.ids import ClientId, CommentId, TaskId, UserId, sequential_ids
from catalyst_core.notifications import Publisher
from catalyst_core.paging import Order, PageRequest, SortSpec
from catalyst_core.tasks.model import NewTask, Priority, TaskChanges, TaskStatus, TaskType
from catalyst_core.tasks.service import TaskFilters, TasksService

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
ADMIN, MEMBER, OTHER, VIEWER, STRANGER, ROOT = (UserId(uuid.UUID(int=0xA00 + n)) for n in range(6))
C1, C2 = ClientId(uuid.UUID(int=0xC01)), ClientId(uuid.UUID(int=0xC02))
ALL = PageRequest(1, 100)
NEWEST = SortSpec()


class World:
    def __init__(self) -> None:
        self.storage = MemoryStorage()
        self.clock = FrozenClock(T0)
        self.notifier = RecordingNotifier()
        self.service = TasksService(self.storage, self.clock, self.notifier, sequential_ids())

    async def seed(self) -> None:
        async with self.storage.transaction() as tx:
            for user_id in (ADMIN, MEMBER, OTHER, VIEWER, STRANGER, ROOT):
                role = GlobalRole.ADMIN if user_id == ROOT else GlobalRole.MEMBER
                tag = user_id.hex[-3:]
                await tx.users.add(User(user_id, f"{tag}@example.com", f"User {tag}",
                                        "hash", role, True, T0, T0))
            for client_id in (C1, C2):
                await tx.clients.add(Client(client_id, f"Client {client_id.hex[-1]}", None, True, T0, T0))
            for user_id, role in ((ADMIN, ClientRole.ADMIN), (MEMBER, ClientRole.MEMBER),
                                  (OTHER, ClientRole.MEMBER), (VIEWER, ClientRole.VIEWER)):
                await tx.members.add(Membership(C1, user_id, role, T0))
            await tx.members.add(Membership(C2, STRANGER, ClientRole.ADMIN, T0))

    async def all_tasks(self) -> list[object]:
        page = await self.service.list(Actor(ROOT, GlobalRole.ADMIN), TaskFilters(), ALL, NEWEST)
        return list(page.items)


def actor(user_id: UserId) -> Actor:
    return Actor(user_id, GlobalRole.ADMIN if user_id == ROOT else GlobalRole.MEMBER)


@pytest.fixture
async def w() -> World:
    world = World()
    await world.seed()
    return world


async def test_create_stores_the_task_and_announces_assignees(w: World) -> None:
    due = T0 + timedelta(days=2)
    task = await w.service.create(actor(MEMBER), NewTask(
        client_id=C1, name="  Review  ", task_type=TaskType.REVIEW_CREATIVE, priority=Priority.HIGH,
        assignees=[OTHER, MEMBER, OTHER], due_date=due, description="d"))
    assert task.id == TaskId(uuid.UUID(int=1))
    assert (task.name, task.status, task.created_by, task.assignees) == ("Review", TaskStatus.PENDING, MEMBER,
                                                                          [OTHER, MEMBER])
    assert (task.created_at, task.updated_at, task.completed_by, task.completed_at) == (T0, T0, None, None)
    stored = await w.service.get(actor(VIEWER), task.id)
    assert stored == task
    assert w.notifier.events == [TaskAssigned(occurred_at=T0, task_id=task.id, client_id=C1,
                                              assignees=(OTHER, MEMBER), by=MEMBER)]


async def test_create_defaults(w: World) -> None:
    task = await w.service.create(actor(MEMBER), NewTask(client_id=C1, name="x"))
    assert (task.priority, task.task_type, task.assignees, task.due_date) == (Priority.MEDIUM, TaskType.OTHER,
                                                                              [], None)
    assert w.notifier.events == []


@pytest.mark.parametrize(("who", "new", "error"), [
    (VIEWER, NewTask(client_id=C1, name="x"), Forbidden),
    (STRANGER, NewTask(client_id=C1, name="x"), NotFound),
    (MEMBER, NewTask(client_id=ClientId(uuid.UUID(int=0xDEAD)), name="x"), NotFound),
    (MEMBER, NewTask(client_id=C1, name=" "), InvalidInput),
    (MEMBER, NewTask(client_id=C1, name="x" * 256), InvalidInput),
    (MEMBER, NewTask(client_id=C1, name="x", assignees=[STRANGER]), InvalidInput),
    (MEMBER, NewTask(client_id=C1, name="x", description="d" * 10_001), InvalidInput),
])
async def test_refused_create_writes_and_sends_nothing(w: World, who: UserId, new: NewTask,
                                                       error: type[Exception]) -> None:
    with pytest.raises(error):
        await w.service.create(actor(who), new)
    assert await w.all_tasks() == []
    assert w.notifier.events == []


async def test_non_member_assignees_are_named(w: World) -> None:
    ghost = UserId(uuid.UUID(int=0xBEEF))
    with pytest.raises(InvalidInput) as caught:
        await w.service.create(actor(MEMBER), NewTask(client_id=C1, name="x",
                                                      assignees=[OTHER, STRANGER, ghost]))
    message = caught.value.fields["assignees"]
    assert str(STRANGER) in message and str(ghost) in message and str(OTHER) not in message


async def test_update_applies_changes_and_announces_only_new_assignees(w: World) -> None:
    task = await w.service.create(actor(MEMBER), NewTask(client_id=C1, name="x", assignees=[MEMBER],
                                                         description="d", due_date=T0))
    w.notifier.clear()
    w.clock.advance(minutes=5)
    updated = await w.service.update(actor(OTHER), task.id, TaskChanges(
        name=" y ", assignees=[MEMBER, OTHER], status=TaskStatus.IN_PROGRESS, description=None))
    assert (updated.name, updated.assignees, updated.status, updated.description, updated.due_date) == (
        "y", [MEMBER, OTHER], TaskStatus.IN_PROGRESS, None, T0)
    assert updated.updated_at == T0 + timedelta(minutes=5) and updated.created_at == T0
    assert await w.service.get(actor(MEMBER), task.id) == updated
    assert w.notifier.events == [TaskAssigned(occurred_at=w.clock.now(), task_id=task.id, client_id=C1,
                                              assignees=(OTHER,), by=OTHER)]


async def test_refused_update_leaves_the_task_alone(w: World) -> None:
    task = await w.service.create(actor(MEMBER), NewTask(client_id=C1, name="x"))
    w.clock.advance(minutes=1)
    for who, changes, error in [
        (VIEWER, TaskChanges(name="y"), Forbidden),
        (STRANGER, TaskChanges(name="y"), NotFound),
        (MEMBER, TaskChanges(name="y", assignees=[STRANGER]), InvalidInput),
        (MEMBER, TaskChanges(name=""), InvalidInput),
        (MEMBER, TaskChanges(related_object_type="t" * 65), InvalidInput),
    ]:
        with pytest.raises(error):
            await w.service.update(actor(who), task.id, changes)
        assert await w.service.get(actor(MEMBER), task.id) == task
    with pytest.raises(NotFound):
        await w.service.update(actor(MEMBER), TaskId(uuid.UUID(int=0xFFFF)), TaskChanges(name="y"))


@pytest.mark.parametrize(("close", "status", "event_type"), [
    ("complete", TaskStatus.COMPLETED, TaskCompleted), ("cancel", TaskStatus.CANCELLED, TaskCancelled)])
async def test_close_then_nothing_more(w: World, close: str, status: TaskStatus, event_type: type) -> None:
    task = await w.service.create(actor(MEMBER), NewTask(client_id=C1, name="x"))
    w.clock.advance(hours=1)
    closed = await getattr(w.service, close)(actor(MEMBER), task.id, VIEWER)
    assert (closed.status, closed.completed_by, closed.completed_at) == (status, VIEWER, w.clock.now())
    assert await w.service.get(actor(ADMIN), task.id) == closed
    assert w.notifier.events == [event_type(occurred_at=w.clock.now(), task_id=task.id, client_id=C1,
                                            by=VIEWER)]
    w.notifier.clear()
    for again in (lambda: w.service.complete(actor(ADMIN), task.id),
                  lambda: w.service.cancel(actor(ADMIN), task.id),
                  lambda: w.service.update(actor(ADMIN), task.id, TaskChanges(status=TaskStatus.PENDING)),
                  lambda: w.service.update(actor(ADMIN), task.id, TaskChanges(due_date=None))):
        with pytest.raises(Conflict):
            await again()
    assert await w.service.get(actor(ADMIN), task.id) == closed
    assert w.notifier.events == []


async def test_close_checks_role_and_completed_by(w: World) -> None:
    task = await w.service.create(actor(MEMBER), NewTask(client_id=C1, name="x"))
    for who, by, error in [(VIEWER, None, Forbidden), (STRANGER, None, NotFound),
                           (MEMBER, STRANGER, InvalidInput),
                           (MEMBER, UserId(uuid.UUID(int=0xBEEF)), InvalidInput)]:
        with pytest.raises(error):
            await w.service.complete(actor(who), task.id, by)
    assert (await w.service.get(actor(MEMBER), task.id)).status is TaskStatus.PENDING
    assert w.notifier.events == []
    done = await w.service.complete(actor(ROOT), task.id)  # a platform admin needs no membership
    assert done.completed_by == ROOT


async def test_delete_by_creator_or_admin_takes_the_comments(w: World) -> None:
    task = await w.service.create(actor(MEMBER), NewTask(client_id=C1, name="x"))
    other = await w.service.create(actor(MEMBER), NewTask(client_id=C1, name="y"))
    comment = await w.service.add_comment(actor(OTHER), task.id, "note")
    kept = await w.service.add_comment(actor(OTHER), other.id, "kept")
    for who, error in ((OTHER, Forbidden), (VIEWER, Forbidden), (STRANGER, NotFound)):
        with pytest.raises(error):
            await w.service.delete(actor(who), task.id)
    await w.service.delete(actor(MEMBER), task.id)
    with pytest.raises(NotFound):
        await w.service.get(actor(MEMBER), task.id)
    async with w.storage.transaction(write=False) as tx:
        assert await tx.comments.get(comment.id) is None
        assert await tx.comments.get(kept.id) is not None
    await w.service.delete(actor(ADMIN), other.id)
    assert await w.all_tasks() == []


async def test_comments_lifecycle(w: World) -> None:
    task = await w.service.create(actor(MEMBER), NewTask(client_id=C1, name="x"))
    first = await w.service.add_comment(actor(OTHER), task.id, "  first ")
    assert first.id == CommentId(uuid.UUID(int=2))
    assert (first.comment, first.user_id, first.user_name, first.user_email) == (
        "first", OTHER, f"User {OTHER.hex[-3:]}", f"{OTHER.hex[-3:]}@example.com")
    second = await w.service.add_comment(actor(MEMBER), task.id, "second")
    assert w.notifier.events[-2:] == [
        CommentAdded(occurred_at=T0, comment_id=first.id, task_id=task.id, client_id=C1, by=OTHER),
        CommentAdded(occurred_at=T0, comment_id=second.id, task_id=task.id, client_id=C1, by=MEMBER)]
    w.clock.advance(minutes=2)
    edited = await w.service.update_comment(actor(OTHER), first.id, "edited")
    assert (edited.comment, edited.created_at, edited.updated_at) == ("edited", T0, w.clock.now())
    page = await w.service.list_comments(actor(VIEWER), task.id, ALL)
    assert [c.id for c in page.items] == [first.id, second.id] and page.items[0] == edited
    for call, error in [
        (lambda: w.service.update_comment(actor(ADMIN), first.id, "hijack"), Forbidden),
        (lambda: w.service.update_comment(actor(STRANGER), first.id, "x"), NotFound),
        (lambda: w.service.delete_comment(actor(MEMBER), first.id), Forbidden),
        (lambda: w.service.add_comment(actor(VIEWER), task.id, "x"), Forbidden),
        (lambda: w.service.add_comment(actor(MEMBER), task.id, "  "), InvalidInput),
        (lambda: w.service.list_comments(actor(STRANGER), task.id, ALL), NotFound),
    ]:
        with pytest.raises(error):
            await call()
    assert (await w.service.list_comments(actor(VIEWER), task.id, ALL)).items == page.items
    await w.service.delete_comment(actor(ADMIN), first.id)
    await w.service.delete_comment(actor(MEMBER), second.id)
    assert (await w.service.list_comments(actor(VIEWER), task.id, ALL)).total_items == 0


async def test_list_filters_visibility_and_sort(w: World) -> None:
    made = []
    specs = [(Priority.LOW, date(2024, 4, 1)), (Priority.HIGH, None), (Priority.BACKLOG, date(2024, 4, 2)),
             (Priority.HIGH, date(2024, 4, 1))]
    for n, (prio, due) in enumerate(specs):
        due_at = None if due is None else datetime(due.year, due.month, due.day, 23, tzinfo=UTC)
        made.append(await w.service.create(actor(MEMBER), NewTask(
            client_id=C1, name=f"Task {n}", priority=prio, due_date=due_at,
            assignees=[OTHER] if n % 2 else [MEMBER])))
    theirs = await w.service.create(actor(STRANGER), NewTask(client_id=C2, name="Task elsewhere"))
    ids = [t.id for t in made]

    async def listed(who: UserId = MEMBER, sort: SortSpec = NEWEST, **filters: object) -> list[TaskId]:
        page = await w.service.list(actor(who), TaskFilters(**filters), ALL, sort)  # type: ignore[arg-type]
        return [t.id for t in page.items]

    newest_first = sorted(ids, reverse=True)  # same created_at: id decides, descending
    assert await listed() == newest_first
    assert await listed(by_me=True) == [ids[2], ids[0]]
    assert await listed(other_people=True) == [ids[3], ids[1]]
    assert await listed(OTHER, by_me=True) == [ids[3], ids[1]]
    assert await listed(priority=Priority.HIGH) == [ids[3], ids[1]]
    assert await listed(due_before=date(2024, 4, 1)) == [ids[3], ids[0]]
    assert await listed(due_after=date(2024, 4, 2)) == [ids[2]]
    assert await listed(q="TASK 2") == [ids[2]]
    assert await listed(sort=SortSpec("priority", Order.ASC)) == [ids[2], ids[0], ids[1], ids[3]]
    assert await listed(sort=SortSpec("due_date", Order.DESC)) == [ids[2], ids[3], ids[0], ids[1]]
    assert await listed(ROOT) == [theirs.id, *newest_first]
    assert await listed(STRANGER) == [theirs.id]
    with pytest.raises(NotFound):
        await listed(STRANGER, client_id=C1)
    with pytest.raises(InvalidInput):
        await listed(sort=SortSpec("status"))


class StorageCheckingNotifier:
    """Reads the storage while being notified: only committed state is visible there (and the
    in-memory store's lock would never be free if the event left inside the transaction)."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.storage = storage
        self.seen: list[tuple[str, object]] = []

    async def notify(self, event: object) -> None:
        async with asyncio.timeout(1):
            async with self.storage.transaction(write=False) as tx:
                task = await tx.tasks.get(event.task_id)  # type: ignore[attr-defined]
                comments = await tx.comments.list(event.task_id, ALL)  # type: ignore[attr-defined]
        self.seen.append((type(event).__name__, task.status if task else None))
        self.seen.append(("comments", comments.total_items))


async def test_events_leave_after_commit(w: World) -> None:
    checking = StorageCheckingNotifier(w.storage)
    w.service.publisher = Publisher(checking, w.service.ids)  # type: ignore[arg-type]
    task = await w.service.create(actor(MEMBER), NewTask(client_id=C1, name="x", assignees=[OTHER]))
    await w.service.add_comment(actor(OTHER), task.id, "note")
    await w.service.complete(actor(MEMBER), task.id)
    assert checking.seen == [("TaskAssigned", TaskStatus.PENDING), ("comments", 0),
                             ("CommentAdded", TaskStatus.PENDING), ("comments", 1),
                             ("TaskCompleted", TaskStatus.COMPLETED), ("comments", 1)]


async def test_one_error_names_every_bad_field(w: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        await w.service.create(actor(MEMBER), NewTask(client_id=C1, name="", description="d" * 10_001,
                                                      related_object_id="r" * 256))
    assert set(caught.value.fields) == {"name", "description", "related_object_id"}
    task = await w.service.create(actor(MEMBER), NewTask(client_id=C1, name="x"))
    with pytest.raises(InvalidInput) as caught:
        await w.service.update(actor(MEMBER), task.id, TaskChanges(name=" ", related_object_type="t" * 65))
    assert set(caught.value.fields) == {"name", "related_object_type"}
    assert await w.service.get(actor(MEMBER), task.id) == task
