"""MemoryStorage: the whole Storage port in dictionaries.

Transactions are serialised by one lock (the simplest isolation that is also correct), every write
is journaled so a failed transaction rolls back, and objects are copied in and out so callers never
alias stored state. Ordering and paging follow the same rules as the SQL adapter."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

import attrs

from catalyst_adapters.memory.alerts import MemoryAlertInstanceRepo, MemoryAlertRepo
from catalyst_adapters.memory.creatives import MemoryCreativeRepo
from catalyst_adapters.memory.leads import MemoryLeadRepo
from catalyst_adapters.memory.outbox import MemoryOutboxRepo
from catalyst_adapters.memory.performance import MemoryPerformanceRepo
from catalyst_adapters.ordering import name_key, text_key
from catalyst_core.alerts.model import Alert, AlertId, AlertInstance, InstanceId
from catalyst_core.auth.model import User
from catalyst_core.clients.model import Client, ClientRole, ClientView, Membership, MemberView
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import ClientId, CommentId, TaskId, UserId
from catalyst_core.metrics.model import Level, PerformanceRow
from catalyst_core.paging import Order, Page, PageRequest, SortSpec
from catalyst_core.tasks.model import Comment, CommentView, Task, TaskQuery

T = TypeVar("T")
_MISSING = object()


class _Tables:
    def __init__(self) -> None:
        self.users: dict[UserId, User] = {}
        self.clients: dict[ClientId, Client] = {}
        self.members: dict[tuple[ClientId, UserId], Membership] = {}
        self.tasks: dict[TaskId, Task] = {}
        self.comments: dict[CommentId, Comment] = {}
        self.performance: dict[ClientId, dict[tuple[date, str, str], PerformanceRow]] = {}
        # (client, platform, level, entity id) -> (date of the row that named it, name)
        self.performance_names: dict[tuple[ClientId, str, Level, str], tuple[date, str]] = {}
        self.alerts: dict[AlertId, Alert] = {}
        self.alert_instances: dict[InstanceId, AlertInstance] = {}
        # id -> (delivery, attempts so far, last error, failed for good)
        self.outbox: dict[uuid.UUID, Any] = {}
        # lead scoring: settings by client, results by id, history entries by id
        self.lead_settings: dict[ClientId, Any] = {}
        self.leads: dict[Any, Any] = {}
        self.lead_history: dict[Any, Any] = {}
        self.creatives: dict[Any, Any] = {}


class _Journal:
    """Remembers the first value each touched key had, to restore it on rollback."""

    def __init__(self) -> None:
        self._entries: list[tuple[dict[Any, Any], Hashable, Any]] = []

    def put(self, table: dict[Any, Any], key: Hashable, value: Any) -> None:
        self._entries.append((table, key, table.get(key, _MISSING)))
        table[key] = _in_utc(copy.deepcopy(value))

    def put_immutable(self, table: dict[Any, Any], key: Hashable, value: Any) -> None:
        """`put` for values nobody can change (frozen rows, tuples): stored without a copy."""
        self._entries.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def pop(self, table: dict[Any, Any], key: Hashable) -> None:
        self._entries.append((table, key, table.get(key, _MISSING)))
        table.pop(key, None)

    def rollback(self) -> None:
        for table, key, old in reversed(self._entries):
            if old is _MISSING:
                table.pop(key, None)
            else:
                table[key] = old
        self._entries.clear()


def _in_utc(value: T) -> T:
    """Keep aware datetimes in UTC, as the SQL adapter hands them back (the port promises UTC)."""
    if attrs.has(type(value)):
        for f in attrs.fields(type(value)):
            item = getattr(value, f.name)
            if isinstance(item, datetime) and item.tzinfo is not None:
                setattr(value, f.name, item.astimezone(UTC))
    return value


def _page(rows: Sequence[T], page: PageRequest) -> Page[T]:
    return Page(items=[copy.deepcopy(r) for r in rows[page.offset:page.offset + page.limit]],
                total_items=len(rows), request=page)


def _sorted(rows: Iterable[T], sort: SortSpec, key: Callable[[T], Any],
            tiebreak: Callable[[T], Any]) -> list[T]:
    """Sort by key then tiebreak, both in the sort's direction; rows whose key is None go last
    either way (SQL's NULLS LAST)."""
    reverse = sort.order is Order.DESC
    rows = list(rows)
    present = [r for r in rows if key(r) is not None]
    absent = [r for r in rows if key(r) is None]
    return (sorted(present, key=lambda r: (key(r), tiebreak(r)), reverse=reverse)
            + sorted(absent, key=tiebreak, reverse=reverse))


class MemoryUserRepo:
    def __init__(self, t: _Tables, j: _Journal) -> None:
        self._t, self._j = t, j

    async def add(self, user: User) -> None:
        if user.id in self._t.users:
            raise Conflict("user already exists")
        self._unique_email(user)
        self._j.put(self._t.users, user.id, user)

    async def get(self, user_id: UserId) -> User | None:
        return copy.deepcopy(self._t.users.get(user_id))

    async def get_by_email(self, email: str) -> User | None:
        return next((copy.deepcopy(u) for u in self._t.users.values() if u.email == email), None)

    async def save(self, user: User) -> None:
        if user.id not in self._t.users:
            raise NotFound("user not found")
        self._unique_email(user)
        self._j.put(self._t.users, user.id, user)

    def _unique_email(self, user: User) -> None:
        if any(u.email == user.email and u.id != user.id for u in self._t.users.values()):
            raise Conflict("a user with this email already exists")


class MemoryClientRepo:
    def __init__(self, t: _Tables, j: _Journal) -> None:
        self._t, self._j = t, j

    async def add(self, client: Client) -> None:
        if client.id in self._t.clients:
            raise Conflict("client already exists")
        self._j.put(self._t.clients, client.id, client)

    async def get(self, client_id: ClientId, *, for_update: bool = False) -> Client | None:
        return copy.deepcopy(self._t.clients.get(client_id))

    async def save(self, client: Client) -> None:
        if client.id not in self._t.clients:
            raise NotFound("client not found")
        self._j.put(self._t.clients, client.id, client)

    async def list_visible(self, user_id: UserId | None, page: PageRequest, sort: SortSpec, *,
                           default_role: ClientRole) -> Page[ClientView]:
        if user_id is None:
            views = [ClientView(c, default_role) for c in self._t.clients.values()]
        else:
            views = [ClientView(self._t.clients[m.client_id], m.role)
                     for (_, uid), m in self._t.members.items() if uid == user_id]
        key = _client_keys[sort.field]
        return _page(_sorted(views, sort, lambda v: key(v.client), lambda v: v.client.id), page)


_client_keys: dict[str, Callable[[Client], Any]] = {
    "created_at": lambda c: c.created_at,
    "updated_at": lambda c: c.updated_at,
    "name": lambda c: name_key(c.name),
}


class MemoryMemberRepo:
    def __init__(self, t: _Tables, j: _Journal) -> None:
        self._t, self._j = t, j

    async def add(self, membership: Membership) -> None:
        key = (membership.client_id, membership.user_id)
        if key in self._t.members:
            raise Conflict("already a member of this client")
        if membership.client_id not in self._t.clients or membership.user_id not in self._t.users:
            raise NotFound("client or user not found")
        self._j.put(self._t.members, key, membership)

    async def get(self, client_id: ClientId, user_id: UserId) -> Membership | None:
        return copy.deepcopy(self._t.members.get((client_id, user_id)))

    async def save(self, membership: Membership) -> None:
        key = (membership.client_id, membership.user_id)
        if key not in self._t.members:
            raise NotFound("member not found")
        self._j.put(self._t.members, key, membership)

    async def remove(self, client_id: ClientId, user_id: UserId) -> None:
        if (client_id, user_id) not in self._t.members:
            raise NotFound("member not found")
        self._j.pop(self._t.members, (client_id, user_id))

    async def count_admins(self, client_id: ClientId) -> int:
        return sum(1 for (cid, _), m in self._t.members.items()
                   if cid == client_id and m.role is ClientRole.ADMIN)

    async def non_members(self, client_id: ClientId, user_ids: Sequence[UserId]) -> list[UserId]:
        return [u for u in user_ids if (client_id, u) not in self._t.members]

    async def admins(self, client_id: ClientId) -> list[UserId]:
        found = [m for (cid, _), m in self._t.members.items()
                 if cid == client_id and m.role is ClientRole.ADMIN]
        return [m.user_id for m in sorted(found, key=lambda m: (m.added_at, m.user_id))]

    async def list(self, client_id: ClientId, page: PageRequest, sort: SortSpec) -> Page[MemberView]:
        views = []
        for (cid, uid), m in self._t.members.items():
            if cid == client_id:
                user = self._t.users[uid]
                views.append(MemberView(uid, user.email, user.name, m.role, m.added_at))
        key = _member_keys[sort.field]
        return _page(_sorted(views, sort, key, lambda v: v.user_id), page)


_member_keys: dict[str, Callable[[MemberView], Any]] = {
    "added_at": lambda m: m.added_at,
    "name": lambda m: name_key(m.name),
    "email": lambda m: m.email,
}


def _day_start(d: Any) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def _task_matches(t: Task, q: TaskQuery, visible: set[ClientId] | None) -> bool:
    checks = (
        visible is None or t.client_id in visible,
        q.client_id is None or t.client_id == q.client_id,
        q.status is None or t.status is q.status,
        q.task_type is None or t.task_type is q.task_type,
        q.priority is None or t.priority is q.priority,
        q.assigned_to is None or q.assigned_to in t.assignees,
        q.assigned_to_other_than is None or any(a != q.assigned_to_other_than for a in t.assignees),
        q.assignee_id is None or q.assignee_id in t.assignees,
        # Casefolded query in the casefolded name or description, as SQL compares its stored keys.
        q.text is None or q.text.casefold() in name_key(t.name)
        or q.text.casefold() in (text_key(t.description) or ""),
        q.due_before is None or (t.due_date is not None
                                 and t.due_date.astimezone(UTC).date() <= q.due_before),
        q.due_after is None or (t.due_date is not None and t.due_date >= _day_start(q.due_after)),
    )
    return all(checks)


_task_keys: dict[str, Callable[[Task], Any]] = {
    "created_at": lambda t: t.created_at,
    "updated_at": lambda t: t.updated_at,
    "name": lambda t: name_key(t.name),
    "due_date": lambda t: t.due_date,
    "priority": lambda t: t.priority.rank,
}


class MemoryTaskRepo:
    def __init__(self, t: _Tables, j: _Journal) -> None:
        self._t, self._j = t, j

    async def add(self, task: Task) -> None:
        if task.id in self._t.tasks:
            raise Conflict("task already exists")
        if task.client_id not in self._t.clients or task.created_by not in self._t.users:
            raise NotFound("a referenced record does not exist")
        self._check_people(task)
        self._j.put(self._t.tasks, task.id, task)

    def _check_people(self, task: Task) -> None:
        """As the SQL schema's foreign keys do: assignees and completed_by are stored users."""
        named = [*task.assignees, *([task.completed_by] if task.completed_by is not None else [])]
        if any(user_id not in self._t.users for user_id in named):
            raise NotFound("a referenced record does not exist")

    async def add_many(self, tasks: Sequence[Task]) -> None:
        for task in tasks:
            await self.add(task)

    async def get(self, task_id: TaskId, *, for_update: bool = False) -> Task | None:
        return copy.deepcopy(self._t.tasks.get(task_id))

    async def save(self, task: Task) -> None:
        stored = self._t.tasks.get(task.id)
        if stored is None:
            raise NotFound("task not found")
        if stored.version != task.version:
            raise Conflict("the task was changed by someone else; reload and try again")
        self._check_people(task)
        task.version += 1
        self._j.put(self._t.tasks, task.id, task)

    async def delete(self, task_id: TaskId) -> None:
        if task_id not in self._t.tasks:
            raise NotFound("task not found")
        for comment_id in [c.id for c in self._t.comments.values() if c.task_id == task_id]:
            self._j.pop(self._t.comments, comment_id)
        # Alert instances outlive their task (SQL: ON DELETE SET NULL, versions untouched).
        for instance in [i for i in self._t.alert_instances.values() if i.task_id == task_id]:
            self._j.put(self._t.alert_instances, instance.id, attrs.evolve(instance, task_id=None))
        for submission in [s for s in self._t.creatives.values() if s.task_id == task_id]:
            self._j.put(self._t.creatives, submission.id, attrs.evolve(submission, task_id=None))
        self._j.pop(self._t.tasks, task_id)

    async def list(self, query: TaskQuery, page: PageRequest, sort: SortSpec) -> Page[Task]:
        visible = None
        if query.visible_to is not None:
            visible = {cid for (cid, uid) in self._t.members if uid == query.visible_to}
        rows = [t for t in self._t.tasks.values() if _task_matches(t, query, visible)]
        ordered = _sorted(rows, sort, _task_keys[sort.field], lambda t: t.id)
        return _page(ordered, page)


class MemoryCommentRepo:
    def __init__(self, t: _Tables, j: _Journal) -> None:
        self._t, self._j = t, j

    async def add(self, comment: Comment) -> None:
        if comment.id in self._t.comments:
            raise Conflict("comment already exists")
        if comment.task_id not in self._t.tasks or comment.user_id not in self._t.users:
            raise NotFound("task or user not found")
        self._j.put(self._t.comments, comment.id, comment)

    async def get(self, comment_id: CommentId) -> Comment | None:
        return copy.deepcopy(self._t.comments.get(comment_id))

    async def save(self, comment: Comment) -> None:
        if comment.id not in self._t.comments:
            raise NotFound("comment not found")
        self._j.put(self._t.comments, comment.id, comment)

    async def delete(self, comment_id: CommentId) -> None:
        if comment_id not in self._t.comments:
            raise NotFound("comment not found")
        self._j.pop(self._t.comments, comment_id)

    async def view(self, comment_id: CommentId) -> CommentView | None:
        comment = self._t.comments.get(comment_id)
        return self._view(comment) if comment is not None else None

    async def list(self, task_id: TaskId, page: PageRequest) -> Page[CommentView]:
        rows = sorted((c for c in self._t.comments.values() if c.task_id == task_id),
                      key=lambda c: (c.created_at, c.id))
        return _page([self._view(c) for c in rows], page)

    def _view(self, c: Comment) -> CommentView:
        author = self._t.users[c.user_id]
        return CommentView(id=c.id, task_id=c.task_id, comment=c.comment, user_id=c.user_id,
                           user_name=author.name, user_email=author.email, created_at=c.created_at,
                           updated_at=c.updated_at)


class MemoryTransaction:
    def __init__(self, tables: _Tables) -> None:
        self.journal = _Journal()
        self.users = MemoryUserRepo(tables, self.journal)
        self.clients = MemoryClientRepo(tables, self.journal)
        self.members = MemoryMemberRepo(tables, self.journal)
        self.tasks = MemoryTaskRepo(tables, self.journal)
        self.comments = MemoryCommentRepo(tables, self.journal)
        self.performance = MemoryPerformanceRepo(tables, self.journal)
        self.alerts = MemoryAlertRepo(tables, self.journal)
        self.alert_instances = MemoryAlertInstanceRepo(tables, self.journal)
        self.outbox = MemoryOutboxRepo(tables, self.journal)
        self.leads = MemoryLeadRepo(tables, self.journal)
        self.creatives = MemoryCreativeRepo(tables, self.journal)


class MemoryStorage:
    """The Storage port without a database. One instance is one isolated store."""

    def __init__(self) -> None:
        self._tables = _Tables()
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[MemoryTransaction]:
        async with self._lock:
            tx = MemoryTransaction(self._tables)
            try:
                yield tx
            except BaseException:
                tx.journal.rollback()
                raise

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def reset(self) -> None:
        """Forget everything (tests reuse one store across hypothesis examples)."""
        async with self._lock:
            self._tables = _Tables()
