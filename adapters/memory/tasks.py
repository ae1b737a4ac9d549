"""The task and comment repositories of MemoryStorage."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any

import attrs

from catalyst_adapters.memory.base import _Journal, _page, _sorted
from catalyst_adapters.ordering import name_key, text_key
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import ClientId, CommentId, TaskId
from catalyst_core.paging import Page, PageRequest, SortSpec
from catalyst_core.tasks.model import Comment, CommentView, Task, TaskQuery

if TYPE_CHECKING:
    from catalyst_adapters.memory.storage import _Tables


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
