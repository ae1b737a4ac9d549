"""MemoryStorage: the whole Storage port in dictionaries.

Transactions are serialised by one lock (the simplest isolation that is also correct), every write
is journaled so a failed transaction rolls back, and objects are copied in and out so callers never
alias stored state. Ordering and paging follow the same rules as the SQL adapter."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from catalyst_adapters.memory.alerts import MemoryAlertInstanceRepo, MemoryAlertRepo
from catalyst_adapters.memory.base import _Journal, _page, _sorted
from catalyst_adapters.memory.creatives import MemoryCreativeRepo
from catalyst_adapters.memory.leads import MemoryLeadRepo
from catalyst_adapters.memory.outbox import MemoryOutboxRepo
from catalyst_adapters.memory.performance import MemoryPerformanceRepo
from catalyst_adapters.memory.tasks import MemoryCommentRepo, MemoryTaskRepo
from catalyst_adapters.ordering import name_key
from catalyst_core.alerts.model import Alert, AlertId, AlertInstance, InstanceId
from catalyst_core.auth.model import User
from catalyst_core.clients.model import Client, ClientRole, ClientView, Membership, MemberView
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import ClientId, CommentId, TaskId, UserId
from catalyst_core.metrics.model import Level, PerformanceRow
from catalyst_core.paging import Page, PageRequest, SortSpec
from catalyst_core.tasks.model import Comment, Task


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


# The journal and the paging helpers live in base.py (the other repositories use them too).


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
    async def transaction(self, *, write: bool = True, brief: bool = False
                          ) -> AsyncIterator[MemoryTransaction]:
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
