"""SqlStorage: the Storage port over SQLAlchemy Core, on SQLite and PostgreSQL alike.

Every repository works on the one connection of its transaction. Statements are dialect-neutral;
the few differences (write locks, collations) live in engine.py and types.py."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from catalyst_adapters.ordering import name_key
from catalyst_adapters.sql.engine import SQLITE_WRITE_OPTION
from catalyst_adapters.sql.tables import clients, comments, memberships, task_assignees, tasks, users
from catalyst_core.auth.model import GlobalRole, User
from catalyst_core.clients.model import Client, ClientRole, ClientView, Membership, MemberView
from catalyst_core.errors import Conflict, DomainError, NotFound, Unavailable
from catalyst_core.ids import ClientId, CommentId, TaskId, UserId
from catalyst_core.paging import Order, Page, PageRequest, SortSpec
from catalyst_core.tasks.model import (
    PRIORITY_RANK,
    Comment,
    CommentView,
    Priority,
    Task,
    TaskQuery,
    TaskStatus,
    TaskType,
)


def _integrity_error(error: IntegrityError, duplicate: str) -> DomainError:
    """Tell a duplicate from a missing referenced row, on both SQLite and PostgreSQL."""
    text_ = str(error.orig).lower()
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if sqlstate == "23503" or "foreign key" in text_:
        return NotFound("a referenced record does not exist")
    return Conflict(duplicate)


def _ordered(column: Any, sort: SortSpec, tiebreak: Any, *, nulls_last: bool = False) -> list[Any]:
    desc = sort.order is Order.DESC
    first = column.desc() if desc else column.asc()
    return [first.nulls_last() if nulls_last else first, tiebreak.desc() if desc else tiebreak.asc()]


_MAX_SQL_OFFSET = 2**63 - 1


async def _page(conn: AsyncConnection, rows_query: Any, count_query: Any, page: PageRequest,
                mapper: Any) -> Page[Any]:
    if page.offset > _MAX_SQL_OFFSET:
        rows = []  # an offset no database can bind (64-bit) is past the end of any list
    else:
        rows = (await conn.execute(rows_query.limit(page.limit).offset(page.offset))).all()
    if page.offset == 0 and len(rows) < page.limit:
        total = len(rows)  # the whole list fits on the first page: no need to count
    else:
        total = (await conn.execute(count_query)).scalar_one()
    return Page(items=[mapper(r) for r in rows], total_items=total, request=page)


# -- users -----------------------------------------------------------------------------------------

def _user(row: Any) -> User:
    return User(id=row.id, email=row.email, name=row.name, password_hash=row.password_hash,
                role=GlobalRole(row.role), is_active=row.is_active, created_at=row.created_at,
                updated_at=row.updated_at)


def _user_values(user: User) -> dict[str, Any]:
    return {"email": user.email, "name": user.name, "name_key": name_key(user.name),
            "password_hash": user.password_hash, "role": user.role.value, "is_active": user.is_active,
            "created_at": user.created_at, "updated_at": user.updated_at}


class SqlUserRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, user: User) -> None:
        try:
            await self._c.execute(insert(users).values(id=user.id, **_user_values(user)))
        except IntegrityError as e:
            raise _integrity_error(e, "a user with this email already exists") from None

    async def get(self, user_id: UserId) -> User | None:
        row = (await self._c.execute(select(users).where(users.c.id == user_id))).first()
        return _user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = (await self._c.execute(select(users).where(users.c.email == email))).first()
        return _user(row) if row else None

    async def save(self, user: User) -> None:
        try:
            result = await self._c.execute(
                update(users).where(users.c.id == user.id).values(**_user_values(user)))
        except IntegrityError as e:
            raise _integrity_error(e, "a user with this email already exists") from None
        if result.rowcount == 0:
            raise NotFound("user not found")


# -- clients and members ---------------------------------------------------------------------------

def _client(row: Any) -> Client:
    return Client(id=row.id, name=row.name, logo=row.logo, is_active=row.is_active,
                  created_at=row.created_at, updated_at=row.updated_at)


def _client_values(client: Client) -> dict[str, Any]:
    return {"name": client.name, "name_key": name_key(client.name), "logo": client.logo,
            "is_active": client.is_active, "created_at": client.created_at,
            "updated_at": client.updated_at}


_CLIENT_SORT = {"created_at": clients.c.created_at, "updated_at": clients.c.updated_at,
                "name": clients.c.name_key}


class SqlClientRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, client: Client) -> None:
        try:
            await self._c.execute(insert(clients).values(id=client.id, **_client_values(client)))
        except IntegrityError as e:
            raise _integrity_error(e, "client already exists") from None

    async def get(self, client_id: ClientId, *, for_update: bool = False) -> Client | None:
        query = select(clients).where(clients.c.id == client_id)
        row = (await self._c.execute(query.with_for_update() if for_update else query)).first()
        return _client(row) if row else None

    async def save(self, client: Client) -> None:
        result = await self._c.execute(
            update(clients).where(clients.c.id == client.id).values(**_client_values(client)))
        if result.rowcount == 0:
            raise NotFound("client not found")

    async def list_visible(self, user_id: UserId | None, page: PageRequest, sort: SortSpec, *,
                           default_role: ClientRole) -> Page[ClientView]:
        order = _ordered(_CLIENT_SORT[sort.field], sort, clients.c.id)
        if user_id is None:
            rows = select(clients).order_by(*order)
            count = select(func.count()).select_from(clients)
            return await _page(self._c, rows, count, page, lambda r: ClientView(_client(r), default_role))
        joined = clients.join(memberships, memberships.c.client_id == clients.c.id)
        mine = memberships.c.user_id == user_id
        rows = select(clients, memberships.c.role.label("member_role")).select_from(joined).where(mine)
        count = select(func.count()).select_from(memberships).where(mine)
        return await _page(self._c, rows.order_by(*order), count, page,
                           lambda r: ClientView(_client(r), ClientRole(r.member_role)))


_MEMBER_SORT = {"added_at": memberships.c.added_at, "name": users.c.name_key, "email": users.c.email}


class SqlMemberRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, membership: Membership) -> None:
        try:
            await self._c.execute(insert(memberships).values(
                client_id=membership.client_id, user_id=membership.user_id,
                role=membership.role.value, added_at=membership.added_at))
        except IntegrityError as e:
            raise _integrity_error(e, "already a member of this client") from None

    async def get(self, client_id: ClientId, user_id: UserId) -> Membership | None:
        row = (await self._c.execute(select(memberships).where(
            memberships.c.client_id == client_id, memberships.c.user_id == user_id))).first()
        return Membership(row.client_id, row.user_id, ClientRole(row.role), row.added_at) if row else None

    async def save(self, membership: Membership) -> None:
        result = await self._c.execute(update(memberships).where(
            memberships.c.client_id == membership.client_id,
            memberships.c.user_id == membership.user_id,
        ).values(role=membership.role.value, added_at=membership.added_at))
        if result.rowcount == 0:
            raise NotFound("member not found")

    async def remove(self, client_id: ClientId, user_id: UserId) -> None:
        result = await self._c.execute(delete(memberships).where(
            memberships.c.client_id == client_id, memberships.c.user_id == user_id))
        if result.rowcount == 0:
            raise NotFound("member not found")

    async def count_admins(self, client_id: ClientId) -> int:
        return (await self._c.execute(select(func.count()).select_from(memberships).where(
            memberships.c.client_id == client_id,
            memberships.c.role == ClientRole.ADMIN.value))).scalar_one()

    async def non_members(self, client_id: ClientId, user_ids: Sequence[UserId]) -> list[UserId]:
        found = set((await self._c.execute(select(memberships.c.user_id).where(
            memberships.c.client_id == client_id,
            memberships.c.user_id.in_(list(user_ids))))).scalars())
        return [u for u in user_ids if u not in found]

    async def list(self, client_id: ClientId, page: PageRequest, sort: SortSpec) -> Page[MemberView]:
        where = memberships.c.client_id == client_id
        rows = (select(memberships.c.user_id, memberships.c.role, memberships.c.added_at,
                       users.c.email, users.c.name)
                .select_from(memberships.join(users, users.c.id == memberships.c.user_id))
                .where(where).order_by(*_ordered(_MEMBER_SORT[sort.field], sort, memberships.c.user_id)))
        count = select(func.count()).select_from(memberships).where(where)
        return await _page(self._c, rows, count, page, lambda r: MemberView(
            r.user_id, r.email, r.name, ClientRole(r.role), r.added_at))


# -- tasks and comments ----------------------------------------------------------------------------

def _task(row: Any) -> Task:
    return Task(
        id=row.id, client_id=row.client_id, name=row.name, task_type=TaskType(row.task_type),
        status=TaskStatus(row.status), priority=Priority(row.priority), created_by=row.created_by,
        assignees=[UserId(uuid.UUID(a)) for a in row.assignees], due_date=row.due_date,
        description=row.description, related_object_id=row.related_object_id,
        related_object_type=row.related_object_type, created_at=row.created_at,
        updated_at=row.updated_at, completed_by=row.completed_by, completed_at=row.completed_at,
        version=row.version,
    )


def _task_values(task: Task) -> dict[str, Any]:
    return {
        "client_id": task.client_id, "name": task.name, "name_key": name_key(task.name),
        "task_type": task.task_type.value, "status": task.status.value,
        "priority": task.priority.value, "created_by": task.created_by,
        "assignees": [str(a) for a in task.assignees], "due_date": task.due_date,
        "description": task.description, "related_object_id": task.related_object_id,
        "related_object_type": task.related_object_type, "completed_by": task.completed_by,
        "completed_at": task.completed_at, "created_at": task.created_at,
        "updated_at": task.updated_at,
    }


_PRIORITY_RANK = case({p.value: rank for p, rank in PRIORITY_RANK.items()}, value=tasks.c.priority)
_TASK_SORT: Mapping[str, Any] = {
    "created_at": tasks.c.created_at, "updated_at": tasks.c.updated_at, "name": tasks.c.name_key,
    "due_date": tasks.c.due_date, "priority": _PRIORITY_RANK,
}


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def _assigned(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(task_assignees.c.task_id == tasks.c.id, condition)


def _task_conditions(q: TaskQuery) -> list[ColumnElement[bool]]:
    c = tasks.c
    conds: list[ColumnElement[bool]] = []
    if q.visible_to is not None:
        conds.append(c.client_id.in_(
            select(memberships.c.client_id).where(memberships.c.user_id == q.visible_to)))
    if q.client_id is not None:
        conds.append(c.client_id == q.client_id)
    if q.status is not None:
        conds.append(c.status == q.status.value)
    if q.task_type is not None:
        conds.append(c.task_type == q.task_type.value)
    if q.priority is not None:
        conds.append(c.priority == q.priority.value)
    if q.assigned_to is not None:
        conds.append(_assigned(task_assignees.c.user_id == q.assigned_to))
    if q.assigned_to_other_than is not None:
        conds.append(_assigned(task_assignees.c.user_id != q.assigned_to_other_than))
    if q.assignee_id is not None:
        conds.append(_assigned(task_assignees.c.user_id == q.assignee_id))
    if q.text is not None:
        conds.append(or_(c.name.icontains(q.text, autoescape=True),
                         c.description.icontains(q.text, autoescape=True)))
    if q.due_before is not None:
        # The last representable day has no next day: every due date is on or before it.
        conds.append(c.due_date < _day_start(q.due_before) + timedelta(days=1)
                     if q.due_before < date.max else c.due_date.is_not(None))
    if q.due_after is not None:
        conds.append(c.due_date >= _day_start(q.due_after))
    return conds


class SqlTaskRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, task: Task) -> None:
        await self.add_many([task])

    async def add_many(self, new_tasks: Sequence[Task]) -> None:
        if not new_tasks:
            return
        try:
            await self._c.execute(insert(tasks), [
                {"id": t.id, "version": t.version, **_task_values(t)} for t in new_tasks])
            links = [{"task_id": t.id, "user_id": a} for t in new_tasks for a in t.assignees]
            if links:
                await self._c.execute(insert(task_assignees), links)
        except IntegrityError as e:
            raise _integrity_error(e, "task already exists") from None

    async def get(self, task_id: TaskId) -> Task | None:
        row = (await self._c.execute(select(tasks).where(tasks.c.id == task_id))).first()
        return _task(row) if row else None

    async def save(self, task: Task) -> None:
        result = await self._c.execute(
            update(tasks).where(tasks.c.id == task.id, tasks.c.version == task.version)
            .values(version=task.version + 1, **_task_values(task)))
        if result.rowcount == 0:
            if await self.get(task.id) is None:
                raise NotFound("task not found")
            raise Conflict("the task was changed by someone else; reload and try again")
        task.version += 1
        await self._c.execute(delete(task_assignees).where(task_assignees.c.task_id == task.id))
        if task.assignees:
            await self._c.execute(insert(task_assignees),
                                  [{"task_id": task.id, "user_id": a} for a in task.assignees])

    async def delete(self, task_id: TaskId) -> None:
        # Comments and assignee links go with the task (ON DELETE CASCADE).
        result = await self._c.execute(delete(tasks).where(tasks.c.id == task_id))
        if result.rowcount == 0:
            raise NotFound("task not found")

    async def list(self, query: TaskQuery, page: PageRequest, sort: SortSpec) -> Page[Task]:
        conds = _task_conditions(query)
        order = _ordered(_TASK_SORT[sort.field], sort, tasks.c.id, nulls_last=sort.field == "due_date")
        rows = select(tasks).where(*conds).order_by(*order)
        count = select(func.count()).select_from(tasks).where(*conds)
        return await _page(self._c, rows, count, page, _task)


_COMMENT_VIEW = (select(comments, users.c.name.label("user_name"), users.c.email.label("user_email"))
                 .select_from(comments.join(users, users.c.id == comments.c.user_id)))


def _comment_view(row: Any) -> CommentView:
    return CommentView(id=row.id, task_id=row.task_id, comment=row.comment, user_id=row.user_id,
                       user_name=row.user_name, user_email=row.user_email, created_at=row.created_at,
                       updated_at=row.updated_at)


class SqlCommentRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, comment: Comment) -> None:
        try:
            await self._c.execute(insert(comments).values(
                id=comment.id, task_id=comment.task_id, user_id=comment.user_id,
                comment=comment.comment, created_at=comment.created_at, updated_at=comment.updated_at))
        except IntegrityError as e:
            raise _integrity_error(e, "comment already exists") from None

    async def get(self, comment_id: CommentId) -> Comment | None:
        row = (await self._c.execute(select(comments).where(comments.c.id == comment_id))).first()
        return Comment(id=row.id, task_id=row.task_id, user_id=row.user_id, comment=row.comment,
                       created_at=row.created_at, updated_at=row.updated_at) if row else None

    async def save(self, comment: Comment) -> None:
        result = await self._c.execute(update(comments).where(comments.c.id == comment.id).values(
            comment=comment.comment, updated_at=comment.updated_at))
        if result.rowcount == 0:
            raise NotFound("comment not found")

    async def delete(self, comment_id: CommentId) -> None:
        result = await self._c.execute(delete(comments).where(comments.c.id == comment_id))
        if result.rowcount == 0:
            raise NotFound("comment not found")

    async def view(self, comment_id: CommentId) -> CommentView | None:
        row = (await self._c.execute(_COMMENT_VIEW.where(comments.c.id == comment_id))).first()
        return _comment_view(row) if row else None

    async def list(self, task_id: TaskId, page: PageRequest) -> Page[CommentView]:
        where = comments.c.task_id == task_id
        rows = _COMMENT_VIEW.where(where).order_by(comments.c.created_at, comments.c.id)
        count = select(func.count()).select_from(comments).where(where)
        return await _page(self._c, rows, count, page, _comment_view)


# -- the storage -----------------------------------------------------------------------------------

class SqlTransaction:
    def __init__(self, conn: AsyncConnection) -> None:
        self.connection = conn
        self.users = SqlUserRepo(conn)
        self.clients = SqlClientRepo(conn)
        self.members = SqlMemberRepo(conn)
        self.tasks = SqlTaskRepo(conn)
        self.comments = SqlCommentRepo(conn)


class SqlStorage:
    """The Storage port on an AsyncEngine. The engine's lifetime is the caller's (see `close`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time. Queueing this process's writers here is fair and costs
        # nothing; SQLite's busy timeout then only arbitrates between processes.
        self._write_turn = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[SqlTransaction]:
        if write and self._sqlite:
            async with self._write_turn:
                async with self._transaction(write=True) as tx:
                    yield tx
        else:
            async with self._transaction(write=write) as tx:
                yield tx

    @asynccontextmanager
    async def _transaction(self, *, write: bool) -> AsyncIterator[SqlTransaction]:
        try:
            async with self.engine.connect() as conn:
                if write and self._sqlite:
                    conn = await conn.execution_options(**{SQLITE_WRITE_OPTION: True})
                async with conn.begin():
                    yield SqlTransaction(conn)
        except OperationalError as e:
            raise Unavailable(f"the database is unavailable: {type(e.orig).__name__}") from e
        except DBAPIError as e:
            if e.connection_invalidated:
                raise Unavailable("lost the database connection") from e
            raise

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()

    async def reset(self) -> None:
        """Delete every row (tests reuse one database across hypothesis examples)."""
        async with self.transaction() as tx:
            for table in (comments, task_assignees, tasks, memberships, clients, users):
                await tx.connection.execute(delete(table))


__all__ = ["SqlStorage", "SqlTransaction"]
