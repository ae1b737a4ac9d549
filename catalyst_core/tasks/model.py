"""Tasks and comments, with the lifecycle rules that keep them consistent."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime

from attrs import define, field, frozen

from catalyst_core.changes import UNCHANGED, Unchanged
from catalyst_core.errors import Conflict, InvalidInput
from catalyst_core.ids import ClientId, CommentId, TaskId, UserId

MAX_TASK_NAME = 255
MAX_DESCRIPTION = 10_000
MAX_RELATED_ID = 255
MAX_RELATED_TYPE = 64
MAX_COMMENT = 10_000
MAX_ASSIGNEES = 50


class TaskStatus(enum.StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.CANCELLED)


class TaskType(enum.StrEnum):
    REVIEW_CREATIVE = "review_creative"
    REVIEW_REPORT = "review_report"
    OTHER = "other"


class Priority(enum.StrEnum):
    """Wire values as in the reference; `rank` orders them Backlog < Low < Medium < High."""

    BACKLOG = "Backlog"
    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"

    @property
    def rank(self) -> int:
        return PRIORITY_RANK[self]


PRIORITY_RANK = {Priority.BACKLOG: 0, Priority.LOW: 1, Priority.MEDIUM: 2, Priority.HIGH: 3}

# The kinds of objects Catalyst itself links tasks to; callers may use other types too.
RELATED_CREATIVE_SUBMISSION = "creative_submission"
RELATED_ALERT_INSTANCE = "alert_instance"

TASK_SORT_FIELDS = ("created_at", "updated_at", "name", "due_date", "priority")


@define
class Task:
    id: TaskId
    client_id: ClientId
    name: str
    task_type: TaskType
    status: TaskStatus
    priority: Priority
    created_by: UserId
    assignees: list[UserId]
    due_date: datetime | None
    description: str | None
    related_object_id: str | None
    related_object_type: str | None
    created_at: datetime
    updated_at: datetime
    completed_by: UserId | None = None
    completed_at: datetime | None = None
    # Bumped on every save; storage refuses a save whose version is stale (optimistic locking).
    version: int = 1

    def _ensure_open(self) -> None:
        if self.status.is_final:
            raise Conflict(f"task is {self.status.value} and can no longer change")

    def edit(self, changes: TaskChanges, *, now: datetime) -> list[UserId]:
        """Apply `changes`; returns the assignees that are new to the task."""
        self._ensure_open()
        added: list[UserId] = []
        if changes.assignees is not None:
            added = [a for a in changes.assignees if a not in self.assignees]
            self.assignees = list(changes.assignees)
        for name in ("name", "task_type", "priority", "status"):
            value = getattr(changes, name)
            if value is not None:
                setattr(self, name, value)
        for name in ("due_date", "description", "related_object_id", "related_object_type"):
            value = getattr(changes, name)
            if value is not UNCHANGED:
                setattr(self, name, value)
        self.updated_at = now
        return added

    def finish(self, status: TaskStatus, *, by: UserId, now: datetime) -> None:
        """Complete or cancel: both are final and record who and when."""
        self._ensure_open()
        self.status, self.completed_by, self.completed_at = status, by, now
        self.updated_at = now


def _check_status(value: TaskStatus | None) -> TaskStatus | None:
    if value is not None and value.is_final:
        raise InvalidInput({"status": "use the complete or cancel action to finish a task"})
    return value


@frozen
class TaskChanges:
    """A partial update. Non-nullable fields use None for 'unchanged'; nullable ones use UNCHANGED."""

    name: str | None = None
    task_type: TaskType | None = None
    priority: Priority | None = None
    status: TaskStatus | None = field(default=None, converter=_check_status)
    assignees: Sequence[UserId] | None = None
    due_date: datetime | Unchanged | None = UNCHANGED
    description: str | Unchanged | None = UNCHANGED
    related_object_id: str | Unchanged | None = UNCHANGED
    related_object_type: str | Unchanged | None = UNCHANGED


@frozen
class NewTask:
    """What a caller supplies to create a task."""

    client_id: ClientId
    name: str
    task_type: TaskType = TaskType.OTHER
    priority: Priority = Priority.MEDIUM
    assignees: Sequence[UserId] = ()
    due_date: datetime | None = None
    description: str | None = None
    related_object_id: str | None = None
    related_object_type: str | None = None


@frozen
class TaskQuery:
    """Filters of the task list. `visible_to` limits to the clients a user belongs to (None: all)."""

    visible_to: UserId | None = None
    client_id: ClientId | None = None
    status: TaskStatus | None = None
    task_type: TaskType | None = None
    priority: Priority | None = None
    assigned_to: UserId | None = None
    assigned_to_other_than: UserId | None = None
    assignee_id: UserId | None = None
    text: str | None = None
    due_before: date | None = None
    due_after: date | None = None


@define
class Comment:
    id: CommentId
    task_id: TaskId
    user_id: UserId
    comment: str
    created_at: datetime
    updated_at: datetime


@frozen
class CommentView:
    """A comment with its author's name and email, as lists show it."""

    id: CommentId
    task_id: TaskId
    comment: str
    user_id: UserId
    user_name: str
    user_email: str
    created_at: datetime
    updated_at: datetime


def check_comment(raw: str) -> str:
    text = raw.strip()
    if not text:
        raise InvalidInput({"comment": "must not be empty"})
    if len(text) > MAX_COMMENT:
        raise InvalidInput({"comment": f"must be at most {MAX_COMMENT} characters"})
    return text


def check_optional_text(raw: str | None, field: str, max_length: int) -> str | None:
    if raw is None:
        return None
    if len(raw) > max_length:
        raise InvalidInput({field: f"must be at most {max_length} characters"})
    return raw


def check_assignees(assignees: Sequence[UserId]) -> list[UserId]:
    unique = list(dict.fromkeys(assignees))
    if len(unique) > MAX_ASSIGNEES:
        raise InvalidInput({"assignees": f"at most {MAX_ASSIGNEES} assignees"})
    return unique
