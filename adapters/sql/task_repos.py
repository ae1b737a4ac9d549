"""SQL repositories of tasks and comments."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import attrs
from sqlalchemy import (
    any_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from catalyst_adapters.ordering import name_key, text_key
from catalyst_adapters.sql.bulk import execute_many, execute_one
from catalyst_adapters.sql.inline import entity_builder, hot, uuid_from_text
from catalyst_adapters.sql.queries import fetch_page, integrity_error, off_loop, ordered
from catalyst_adapters.sql.tables import (
    comments,
    memberships,
    task_assignees,
    task_counts,
    tasks,
    users,
)
from catalyst_adapters.sql.text_search import contains
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import CommentId, TaskId, UserId
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

# -- tasks and comments ----------------------------------------------------------------------------

# The columns a task is read from (hot statements give plain tuples: adapters/sql/inline.py). _task
# matches them to Task's fields by name, so the order of those fields does not matter here
# (tests/contract/test_fast_lane_switch.py reorders them).
_TASK_COLUMN_NAMES = (
    "id", "client_id", "name", "task_type", "status", "priority", "created_by", "assignees",
    "due_date", "description", "related_object_id", "related_object_type", "created_at",
    "updated_at", "completed_by", "completed_at", "version")
_TASK_COLUMNS = tuple(tasks.c[name] for name in _TASK_COLUMN_NAMES)
# Enum(value) costs ~0.7 µs in Python 3.11, a dict lookup ~0.03 (bench/private_apis.py).
_TASK_TYPES: Mapping[str, TaskType] = {t.value: t for t in TaskType}
_STATUSES: Mapping[str, TaskStatus] = {s.value: s for s in TaskStatus}
_PRIORITIES: Mapping[str, Priority] = {p.value: p for p in Priority}


def _task_builder(cls: type[Task]) -> Callable[[Any], Task]:
    return entity_builder(cls, _TASK_COLUMN_NAMES, {
        "task_type": _TASK_TYPES.__getitem__, "status": _STATUSES.__getitem__,
        "priority": _PRIORITIES.__getitem__,
        "assignees": lambda assignees: list(map(uuid_from_text, assignees))})


_task = _task_builder(Task)


_TASK_BY_ID = hot(select(*_TASK_COLUMNS).where(tasks.c.id == bindparam("id")))
_TASK_BY_ID_FOR_UPDATE = hot(_TASK_BY_ID.with_for_update())


def _task_values(task: Task) -> dict[str, Any]:
    return {
        "client_id": task.client_id, "name": task.name, "name_key": name_key(task.name),
        "task_type": task.task_type.value, "status": task.status.value,
        "priority": task.priority.value, "created_by": task.created_by,
        "assignees": [str(a) for a in task.assignees], "due_date": task.due_date,
        "description": task.description, "description_key": text_key(task.description),
        "related_object_id": task.related_object_id,
        "related_object_type": task.related_object_type, "completed_by": task.completed_by,
        "completed_at": task.completed_at, "created_at": task.created_at,
        "updated_at": task.updated_at,
    }


_INSERT_TASK = insert(tasks)
# Every column but id and version comes from _task_values, by name.
_TASK_VALUE_COLUMNS = tuple(c.name for c in tasks.c if c.name not in ("id", "version"))
_INSERT_TASK_COLUMNS = ("id", "version", *_TASK_VALUE_COLUMNS)
_INSERT_ASSIGNEE = insert(task_assignees)
# A save, by prepared statements (bulk.execute_one): building an UPDATE per call and running it
# through SQLAlchemy cost more than twice a create (bench/writes.py).
_UPDATE_TASK = update(tasks).where(
    tasks.c.id == bindparam("old_id"), tasks.c.version == bindparam("old_version"),
).values(version=bindparam("new_version", type_=tasks.c.version.type),
         **{c: bindparam(f"new_{c}", type_=tasks.c[c].type) for c in _TASK_VALUE_COLUMNS})
_UPDATE_TASK_COLUMNS = ("old_id", "old_version", "new_version",
                        *(f"new_{c}" for c in _TASK_VALUE_COLUMNS))
_DELETE_ASSIGNEES = delete(task_assignees).where(task_assignees.c.task_id == bindparam("task_id"))

_PRIORITY_RANK = case({p.value: rank for p, rank in PRIORITY_RANK.items()}, value=tasks.c.priority)
_TASK_SORT: Mapping[str, Any] = {
    "created_at": tasks.c.created_at, "updated_at": tasks.c.updated_at, "name": tasks.c.name_key,
    "due_date": tasks.c.due_date, "priority": _PRIORITY_RANK,
}


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def _assigned(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(task_assignees.c.task_id == tasks.c.id, condition)


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
    # The casefolded query inside the casefolded name or description, code point by code point:
    # the same answer as the memory adapter's `in` (text_search.py says why not lower() and LIKE).
    "text": lambda c: or_(contains(c.name_key, bindparam("text")),
                          contains(c.description_key, bindparam("text"))),
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
        values["text"] = q.text.casefold()
    if q.due_before is not None:
        if q.due_before < date.max:
            values["due_before"] = _day_start(q.due_before) + timedelta(days=1)
        else:  # the last representable day has no next day: any due date is on or before it
            values["has_due_date"] = True
    if q.due_after is not None:
        values["due_after"] = _day_start(q.due_after)
    return values


@attrs.frozen
class _ListStatements:
    """The statements of one shape of task list. With `counted`, each row of `rows` ends with the
    list's total (from the kept counts, read in the same statement: one query per page, and a total
    from the same snapshot as the rows); `count` is then needed only for a page past the end."""

    rows: Any
    count: Any
    counted: bool


# SQLite's own row key: its tables are B-trees keyed by it, and every index entry ends with it.
_ROWID = literal_column("tasks.rowid")


@functools.cache
def _task_list_statements(shape: tuple[str, ...], sort_field: str, order: Order,
                          by_rowid: bool = False, by_key: bool = False) -> _ListStatements:
    """`by_rowid` (SQLite): the page is found first, then only its rows are read. Walking past the
    offset costs SQLite the same few steps per skipped entry either way, but the plain form also
    takes each skipped entry's table position from the index (a page 25 deep skips 480), and a
    sort that the index does not give carries only (sort key, rowid) rather than whole rows.

    `by_key` (PostgreSQL, shapes an index covers: `key_first`): the page's ids first, from the
    index alone (an index-only scan), then its rows by primary key, sorted again (20 rows). The
    plain form fetches every skipped row from the table: a page 50 deep read ~1,000 scattered
    rows, ~0.6 ms of the database's CPU against ~0.1 (docs/benchmarks.md, "PostgreSQL")."""
    conds = [_TASK_CONDITIONS[name](tasks.c) for name in shape]
    sort = SortSpec(field=sort_field, order=order)
    ordering = ordered(_TASK_SORT[sort_field], sort, tasks.c.id, nulls_last=sort_field == "due_date")

    def ordered_page(*columns: Any) -> Any:
        return (select(*columns).select_from(tasks).where(*conds).order_by(*ordering)
                .limit(bindparam("limit")).offset(bindparam("offset")))

    def page_of(*columns: Any) -> Any:
        if by_key:
            # id = ANY(ARRAY(<the page's ids>)): cheaper for PostgreSQL to plan than a join to the
            # same subquery (0.07 against 0.12 ms a statement), and as cheap to run.
            keys = func.array(ordered_page(tasks.c.id).correlate(None).scalar_subquery())
            return select(*columns).select_from(tasks).where(tasks.c.id == any_(keys)).order_by(*ordering)
        if not by_rowid:
            return ordered_page(*columns)
        keys = ordered_page(_ROWID.label("task_rowid")).subquery("page")
        # The page's keys are the left side of a LEFT JOIN, which SQLite always runs as the outer
        # loop: rows come out in the keys' order, with no second sort. Every key has its row
        # (one snapshot), so nothing is NULL-extended.
        return select(*columns).select_from(keys.outerjoin(tasks, _ROWID == keys.c.task_rowid))

    if "client_id" in shape and set(shape) <= {"client_id", "status"}:
        # The common lists (a client's tasks, or those in one status) read the kept counts.
        kept = [task_counts.c.client_id == bindparam("client_id")]
        if "status" in shape:
            kept.append(task_counts.c.status == bindparam("status"))
        count = select(func.coalesce(func.sum(task_counts.c.n), 0)).where(*kept)
        total = count.scalar_subquery().label("total")
        return _ListStatements(hot(page_of(*_TASK_COLUMNS, total)), hot(count), counted=True)
    # Other totals cost a scan of what matches: counted apart, and only when the page needs it.
    return _ListStatements(hot(page_of(*_TASK_COLUMNS)),
                           hot(select(func.count()).select_from(tasks).where(*conds)), counted=False)


# The shapes an index serves in the order asked, reading at most offset + limit entries: a client's
# tasks (in one status or all), newest or oldest first. SQLite's inline readers run them on the
# event loop (tens of µs); every other shape sorts or filters rows the index does not bound (up to
# all of a client's, or with `visible_to` every visible client's) and runs off the loop
# (ADR 0001; tests/contract/test_task_list_plans.py checks both sides against the query plans).
INDEXED_SHAPES: frozenset[tuple[str, ...]] = frozenset({("client_id",), ("client_id", "status")})
INDEXED_SORT = "created_at"
# Skipping index entries costs ~50 ns each (bench/loop_lag.py): deeper pages leave the loop.
INLINE_MAX_OFFSET = 2_000


def on_loop(shape: tuple[str, ...], sort_field: str, offset: int) -> bool:
    """Whether a list of this shape is cheap enough to run on the event loop (see INDEXED_SHAPES)."""
    return sort_field == INDEXED_SORT and offset <= INLINE_MAX_OFFSET and shape in INDEXED_SHAPES


def key_first(dialect_name: str, shape: tuple[str, ...], sort_field: str) -> bool:
    """Whether PostgreSQL finds this list's page from an index alone (`by_key` above): the
    shapes of INDEXED_SHAPES, whose indexes hold the sort and the id."""
    return dialect_name == "postgresql" and sort_field == INDEXED_SORT and shape in INDEXED_SHAPES


class SqlTaskRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn
        self._by_rowid = conn.dialect.name == "sqlite"
        self._dialect = conn.dialect.name
        # (id, version, assignees) of the task last loaded: a save of that same version with the
        # same assignees leaves their rows alone (the UPDATE's version check makes it safe even
        # when this repository outlives its transaction, as the brief writer's does).
        self._loaded: tuple[TaskId, int, tuple[UserId, ...]] | None = None

    async def add(self, task: Task) -> None:
        await self.add_many([task])

    async def add_many(self, new_tasks: Sequence[Task]) -> None:
        if not new_tasks:
            return
        self._loaded = None  # an id deleted and added again starts its versions over
        # One prepared statement each (bulk.py): an alert run opens hundreds of tasks at once.
        try:
            await execute_many(self._c, _INSERT_TASK, _INSERT_TASK_COLUMNS, [
                (t.id, t.version, *map(_task_values(t).__getitem__, _TASK_VALUE_COLUMNS))
                for t in new_tasks])
            await execute_many(self._c, _INSERT_ASSIGNEE, ("task_id", "user_id"),
                               [(t.id, a) for t in new_tasks for a in t.assignees])
        except IntegrityError as e:
            raise integrity_error(e, "task already exists") from None

    async def get(self, task_id: TaskId, *, for_update: bool = False) -> Task | None:
        query = _TASK_BY_ID_FOR_UPDATE if for_update else _TASK_BY_ID
        row = (await self._c.execute(query, {"id": task_id})).first()
        if row is None:
            return None
        task = _task(row)
        self._loaded = (task.id, task.version, tuple(task.assignees))
        return task

    async def save(self, task: Task) -> None:
        try:
            values = _task_values(task)
            changed = await execute_one(self._c, _UPDATE_TASK, _UPDATE_TASK_COLUMNS, (
                task.id, task.version, task.version + 1, *map(values.__getitem__, _TASK_VALUE_COLUMNS)))
            if changed == 0:
                if await self.get(task.id) is None:
                    raise NotFound("task not found")
                raise Conflict("the task was changed by someone else; reload and try again")
            if self._loaded != (task.id, task.version, tuple(task.assignees)):
                await execute_one(self._c, _DELETE_ASSIGNEES, ("task_id",), (task.id,))
                await execute_many(self._c, _INSERT_ASSIGNEE, ("task_id", "user_id"),
                                   [(task.id, a) for a in task.assignees])
        except IntegrityError as e:  # an assignee or completed_by that is not a user
            raise integrity_error(e, "an assignee is listed twice") from None
        task.version += 1

    async def delete(self, task_id: TaskId) -> None:
        # Comments and assignee links go with the task (ON DELETE CASCADE).
        self._loaded = None
        result = await self._c.execute(delete(tasks).where(tasks.c.id == task_id))
        if result.rowcount == 0:
            raise NotFound("task not found")

    async def list(self, query: TaskQuery, page: PageRequest, sort: SortSpec) -> Page[Task]:
        values = _task_filter(query)
        shape = tuple(values)
        statements = _task_list_statements(shape, sort.field, sort.order, self._by_rowid,
                                           key_first(self._dialect, shape, sort.field))
        heavy = not on_loop(shape, sort.field, page.offset)
        if not statements.counted:
            return await fetch_page(self._c, statements.rows, statements.count, page, _task,
                                    params=values, heavy=heavy)
        execute = off_loop(self._c) if heavy else self._c.execute
        found = (await execute(
            statements.rows, {**values, "limit": page.limit, "offset": page.offset})).all()
        if found:
            total = found[0][-1]
        elif page.offset == 0:
            total = 0
        else:  # past the end: no row carried the total
            total = (await execute(statements.count, values)).scalar_one()
        return Page(items=[_task(row[:-1]) for row in found], total_items=total, request=page)


# Comments' statements are built once (a comment is written and read back on every add): rows
# come as plain tuples on the loop's fast lane (inline.py), unpacked by position here.
_COMMENT_VIEW = (select(comments.c.id, comments.c.task_id, comments.c.comment, comments.c.user_id,
                        users.c.name.label("user_name"), users.c.email.label("user_email"),
                        comments.c.created_at, comments.c.updated_at)
                 .select_from(comments.join(users, users.c.id == comments.c.user_id)))
_COMMENT_VIEW_BY_ID = hot(_COMMENT_VIEW.where(comments.c.id == bindparam("id")))
_COMMENT_COLUMNS = ("id", "task_id", "user_id", "comment", "created_at", "updated_at")
_COMMENT_BY_ID = hot(select(*(comments.c[c] for c in _COMMENT_COLUMNS))
                     .where(comments.c.id == bindparam("id")))
_comment = entity_builder(Comment, _COMMENT_COLUMNS)
_INSERT_COMMENT = insert(comments)
_UPDATE_COMMENT = update(comments).where(comments.c.id == bindparam("old_id")).values(
    comment=bindparam("new_comment", type_=comments.c.comment.type),
    updated_at=bindparam("new_updated_at", type_=comments.c.updated_at.type))


def _comment_view(row: Any) -> CommentView:
    id_, task_id, comment, user_id, user_name, user_email, created_at, updated_at = row
    return CommentView(id=id_, task_id=task_id, comment=comment, user_id=user_id,
                       user_name=user_name, user_email=user_email, created_at=created_at,
                       updated_at=updated_at)


class SqlCommentRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn

    async def add(self, comment: Comment) -> None:
        try:
            await execute_one(self._c, _INSERT_COMMENT, _COMMENT_COLUMNS, (
                comment.id, comment.task_id, comment.user_id, comment.comment, comment.created_at,
                comment.updated_at))
        except IntegrityError as e:
            raise integrity_error(e, "comment already exists") from None

    async def get(self, comment_id: CommentId) -> Comment | None:
        row = (await self._c.execute(_COMMENT_BY_ID, {"id": comment_id})).first()
        return _comment(row) if row else None

    async def save(self, comment: Comment) -> None:
        changed = await execute_one(self._c, _UPDATE_COMMENT, ("old_id", "new_comment", "new_updated_at"),
                                    (comment.id, comment.comment, comment.updated_at))
        if changed == 0:
            raise NotFound("comment not found")

    async def delete(self, comment_id: CommentId) -> None:
        result = await self._c.execute(delete(comments).where(comments.c.id == comment_id))
        if result.rowcount == 0:
            raise NotFound("comment not found")

    async def view(self, comment_id: CommentId) -> CommentView | None:
        row = (await self._c.execute(_COMMENT_VIEW_BY_ID, {"id": comment_id})).first()
        return _comment_view(row) if row else None

    async def list(self, task_id: TaskId, page: PageRequest) -> Page[CommentView]:
        where = comments.c.task_id == task_id
        rows = _COMMENT_VIEW.where(where).order_by(comments.c.created_at, comments.c.id)
        count = select(func.count()).select_from(comments).where(where)
        return await fetch_page(self._c, rows, count, page, _comment_view)
