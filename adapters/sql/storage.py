"""SqlStorage: the Storage port over SQLAlchemy Core, on SQLite and PostgreSQL alike.

Every repository works on the one connection of its transaction. Statements are dialect-neutral;
the few differences (write locks, collations) live in engine.py and types.py."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from catalyst_adapters.ordering import name_key
from catalyst_adapters.sql.engine import SQLITE_WRITE_OPTION, create_sqlite_reader
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


async def _page(conn: Any, rows_query: Any, count_query: Any, page: PageRequest, mapper: Any, *,
                params: dict[str, Any] | None = None, heavy: bool = False) -> Page[Any]:
    """One page: the rows, then the count unless the first page already holds everything.

    With `params`, the queries carry bound parameters (`limit` and `offset` too); without, the
    page is applied to `rows_query` here. `heavy` statements (their cost grows with the data)
    leave the event loop on inline readers."""
    execute = getattr(conn, "execute_offloaded", conn.execute) if heavy else conn.execute
    if page.offset > _MAX_SQL_OFFSET:
        rows = []  # an offset no database can bind (64-bit) is past the end of any list
    elif params is None:
        rows = (await execute(rows_query.limit(page.limit).offset(page.offset))).all()
    else:
        rows = (await execute(rows_query, {**params, "limit": page.limit, "offset": page.offset})).all()
    if page.offset == 0 and len(rows) < page.limit:
        total = len(rows)
    else:
        total = (await execute(count_query, params)).scalar_one()
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


# Statements run on every request, built once (building a Core statement costs more than an
# indexed lookup); values are bound at execution.
_USER_BY_ID = select(users).where(users.c.id == bindparam("id"))
_USER_BY_EMAIL = select(users).where(users.c.email == bindparam("email"))
_MEMBERSHIP = select(memberships).where(memberships.c.client_id == bindparam("client_id"),
                                        memberships.c.user_id == bindparam("user_id"))


class SqlUserRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, user: User) -> None:
        try:
            await self._c.execute(insert(users).values(id=user.id, **_user_values(user)))
        except IntegrityError as e:
            raise _integrity_error(e, "a user with this email already exists") from None

    async def get(self, user_id: UserId) -> User | None:
        row = (await self._c.execute(_USER_BY_ID, {"id": user_id})).first()
        return _user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = (await self._c.execute(_USER_BY_EMAIL, {"email": email})).first()
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
        row = (await self._c.execute(_MEMBERSHIP, {"client_id": client_id, "user_id": user_id})).first()
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

# The task columns in the order _task unpacks them: a page of tasks is read on every list request,
# so rows are unpacked positionally and enums looked up in their value maps (docs/benchmarks.md).
_TASK_COLUMNS = tuple(tasks.c[name] for name in (
    "id", "client_id", "name", "task_type", "status", "priority", "created_by", "assignees",
    "due_date", "description", "related_object_id", "related_object_type", "created_at",
    "updated_at", "completed_by", "completed_at", "version"))
_TASK_TYPES: Mapping[str, TaskType] = TaskType._value2member_map_  # type: ignore[assignment]
_STATUSES: Mapping[str, TaskStatus] = TaskStatus._value2member_map_  # type: ignore[assignment]
_PRIORITIES: Mapping[str, Priority] = Priority._value2member_map_  # type: ignore[assignment]


def _task(row: Any) -> Task:
    (id_, client_id, name, task_type, status, priority, created_by, assignees, due_date, description,
     related_id, related_type, created_at, updated_at, completed_by, completed_at, version) = row
    return Task(
        id=id_, client_id=client_id, name=name, task_type=_TASK_TYPES[task_type],
        status=_STATUSES[status], priority=_PRIORITIES[priority], created_by=created_by,
        assignees=[UserId(uuid.UUID(a)) for a in assignees], due_date=due_date,
        description=description, related_object_id=related_id, related_object_type=related_type,
        created_at=created_at, updated_at=updated_at, completed_by=completed_by,
        completed_at=completed_at, version=version,
    )


_TASK_BY_ID = select(*_TASK_COLUMNS).where(tasks.c.id == bindparam("id"))


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


def _like_pattern(text_: str) -> str:
    """A LIKE pattern matching `text_` anywhere, with %, _ and the escape character literal."""
    escaped = text_.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


# Each filter of TaskQuery as a condition on bound parameters. Statements are built once per
# combination of filters and sort (see _task_list_statements): building a Core statement costs
# more than running an indexed query, so the hot path only binds values.
_TASK_CONDITIONS: Mapping[str, Any] = {
    "visible_to": lambda c: c.client_id.in_(
        select(memberships.c.client_id).where(memberships.c.user_id == bindparam("visible_to"))),
    "client_id": lambda c: c.client_id == bindparam("client_id"),
    "status": lambda c: c.status == bindparam("status"),
    "task_type": lambda c: c.task_type == bindparam("task_type"),
    "priority": lambda c: c.priority == bindparam("priority"),
    "assigned_to": lambda c: _assigned(task_assignees.c.user_id == bindparam("assigned_to")),
    "assigned_to_other_than": lambda c: _assigned(
        task_assignees.c.user_id != bindparam("assigned_to_other_than")),
    "assignee_id": lambda c: _assigned(task_assignees.c.user_id == bindparam("assignee_id")),
    "text": lambda c: or_(func.lower(c.name).like(bindparam("text"), escape="/"),
                          func.lower(c.description).like(bindparam("text"), escape="/")),
    "due_before": lambda c: c.due_date < bindparam("due_before"),
    "has_due_date": lambda c: c.due_date.is_not(None),
    "due_after": lambda c: c.due_date >= bindparam("due_after"),
}


def _task_filter(q: TaskQuery) -> dict[str, Any]:
    """The values to bind, keyed by the names of the conditions that apply."""
    values: dict[str, Any] = {}
    for name in ("visible_to", "client_id", "assigned_to", "assigned_to_other_than", "assignee_id"):
        if getattr(q, name) is not None:
            values[name] = getattr(q, name)
    for name in ("status", "task_type", "priority"):
        if getattr(q, name) is not None:
            values[name] = getattr(q, name).value
    if q.text is not None:
        values["text"] = _like_pattern(q.text)
    if q.due_before is not None:
        if q.due_before < date.max:
            values["due_before"] = _day_start(q.due_before) + timedelta(days=1)
        else:  # the last representable day has no next day: any due date is on or before it
            values["has_due_date"] = True
    if q.due_after is not None:
        values["due_after"] = _day_start(q.due_after)
    return values


@functools.cache
def _task_list_statements(shape: tuple[str, ...], sort_field: str, order: Order) -> tuple[Any, Any]:
    conds = [_TASK_CONDITIONS[name](tasks.c) for name in shape]
    sort = SortSpec(field=sort_field, order=order)
    ordering = _ordered(_TASK_SORT[sort_field], sort, tasks.c.id, nulls_last=sort_field == "due_date")
    rows = (select(*_TASK_COLUMNS).where(*conds).order_by(*ordering)
            .limit(bindparam("limit")).offset(bindparam("offset")))
    return rows, select(func.count()).select_from(tasks).where(*conds)


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
        row = (await self._c.execute(_TASK_BY_ID, {"id": task_id})).first()
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
        values = _task_filter(query)
        rows, count = _task_list_statements(tuple(values), sort.field, sort.order)
        # A text search scans the client's tasks; everything else is an index range.
        return await _page(self._c, rows, count, page, _task, params=values,
                           heavy=query.text is not None)


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

class InlineConnection:
    """The part of AsyncConnection the repositories use, over a synchronous SQLite connection that
    runs on the event loop. `execute_offloaded` is for statements whose cost grows with the data
    (text search): they run on a worker thread instead."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self._c.execute(statement, parameters)

    async def execute_offloaded(self, statement: Any, parameters: Any = None) -> Any:
        return await asyncio.to_thread(lambda: self._c.execute(statement, parameters).freeze()())


class SqlTransaction:
    def __init__(self, conn: AsyncConnection | InlineConnection) -> None:
        self.connection = conn
        self.users = SqlUserRepo(conn)
        self.clients = SqlClientRepo(conn)
        self.members = SqlMemberRepo(conn)
        self.tasks = SqlTaskRepo(conn)
        self.comments = SqlCommentRepo(conn)


READS_WAIT_FOR_WRITER = 0.05


class SqlStorage:
    """The Storage port on an AsyncEngine. The engine's lifetime is the caller's (see `close`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._reader = create_sqlite_reader(engine.url) if self._sqlite else None
        # SQLite has one writer at a time. Queueing this process's writers here is fair and costs
        # nothing; SQLite's busy timeout then only arbitrates between processes.
        self._write_turn = asyncio.Lock()
        # Set while no write transaction is open. Reads run on the loop without pausing, so under
        # a flood of reads every step of a writer (a callback from its aiosqlite thread) would wait
        # for a whole turn of the loop full of reads; reads wait for the open writer instead, up to
        # READS_WAIT_FOR_WRITER seconds (docs/adr/0001).
        self._no_writer = asyncio.Event()
        self._no_writer.set()

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[SqlTransaction]:
        if write and self._sqlite:
            async with self._write_turn:
                self._no_writer.clear()
                try:
                    async with self._transaction(write=True) as tx:
                        yield tx
                finally:
                    self._no_writer.set()
        elif not write and self._reader is not None:
            await self._give_way_to_writer()
            async with self._inline_read() as tx:
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

    async def _give_way_to_writer(self) -> None:
        if not self._no_writer.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(READS_WAIT_FOR_WRITER):
                    await self._no_writer.wait()

    @asynccontextmanager
    async def _inline_read(self) -> AsyncIterator[SqlTransaction]:
        assert self._reader is not None
        try:
            with self._reader.connect() as conn:
                yield SqlTransaction(InlineConnection(conn))
        except OperationalError as e:
            raise Unavailable(f"the database is unavailable: {type(e.orig).__name__}") from e

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.dispose()
        await self.engine.dispose()

    async def reset(self) -> None:
        """Delete every row (tests reuse one database across hypothesis examples)."""
        async with self.transaction() as tx:
            for table in (comments, task_assignees, tasks, memberships, clients, users):
                await tx.connection.execute(delete(table))


__all__ = ["SqlStorage", "SqlTransaction"]
