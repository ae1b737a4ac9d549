"""Shapes of tasks and comments."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from attrs import field, frozen

from catalyst_api.inputs import checked
from catalyst_api.wire import parse_datetime
from catalyst_core.auth.model import check_name
from catalyst_core.changes import UNCHANGED
from catalyst_core.errors import InvalidInput
from catalyst_core.tasks.model import (
    MAX_DESCRIPTION,
    MAX_RELATED_ID,
    MAX_RELATED_TYPE,
    MAX_TASK_NAME,
    CommentView,
    Priority,
    Task,
    TaskChanges,
    TaskStatus,
    TaskType,
    check_assignees,
    check_comment,
    check_optional_text,
)


def _text(name: str, limit: int) -> Any:
    return field(default=None, metadata=checked(lambda v: check_optional_text(v, name, limit)))


# The core's own checks of each field, run while the body is read (see `checked`): one 422 names
# a field of the wrong type and a name too long together.
_NAME = checked(lambda v: check_name(v, max_length=MAX_TASK_NAME))
_ASSIGNEES = checked(check_assignees)


@frozen
class ClientScope:
    """`?client_id=` on endpoints that also accept it in the body."""

    client_id: uuid.UUID | None = None


@frozen
class CreateTaskBody:
    name: str = field(metadata=_NAME)
    client_id: uuid.UUID | None = None
    task_type: TaskType = TaskType.OTHER
    priority: Priority = Priority.MEDIUM
    assignees: list[uuid.UUID] = field(factory=list, metadata=_ASSIGNEES)
    due_date: str | None = field(default=None, metadata=checked(lambda v: due_date(v)))
    description: str | None = _text("description", MAX_DESCRIPTION)
    related_object_id: str | None = _text("related_object_id", MAX_RELATED_ID)
    related_object_type: str | None = _text("related_object_type", MAX_RELATED_TYPE)


@frozen
class UpdateTaskBody:
    name: str | None = field(default=None, metadata=_NAME)
    task_type: TaskType | None = None
    priority: Priority | None = None
    # TaskChanges refuses a final status (complete and cancel are actions of their own).
    status: TaskStatus | None = field(default=None, metadata=checked(lambda v: TaskChanges(status=v)))
    assignees: list[uuid.UUID] | None = field(default=None, metadata=_ASSIGNEES)
    due_date: str | None = field(default=None, metadata=checked(lambda v: due_date(v)))
    description: str | None = _text("description", MAX_DESCRIPTION)
    related_object_id: str | None = _text("related_object_id", MAX_RELATED_ID)
    related_object_type: str | None = _text("related_object_type", MAX_RELATED_TYPE)


@frozen
class FinishTaskBody:
    completed_by: uuid.UUID | None = None


@frozen
class CommentBody:
    comment: str = field(metadata=checked(check_comment))


# The fields a PATCH may set to null, which clears them; the others must not be null.
NULLABLE_TASK_FIELDS = ("due_date", "description", "related_object_id", "related_object_type")


def due_date(raw: str | None) -> datetime | None:
    """A date (midnight UTC) or a date-time; `None` clears it."""
    if raw is None:
        return None
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time.min, tzinfo=UTC)
        return parse_datetime(raw)
    except ValueError:
        raise InvalidInput({"due_date": "must be a date (YYYY-MM-DD) or an ISO-8601 date-time"}) from None


def task_changes(patch: UpdateTaskBody, present: set[str]) -> TaskChanges:
    """Fields absent from the body stay unchanged; a nullable field sent as null is cleared."""

    def nullable(name: str, value: Any) -> Any:
        return value if name in present else UNCHANGED

    return TaskChanges(
        name=patch.name, task_type=patch.task_type, priority=patch.priority, status=patch.status,
        assignees=patch.assignees,
        due_date=nullable("due_date", due_date(patch.due_date)),
        description=nullable("description", patch.description),
        related_object_id=nullable("related_object_id", patch.related_object_id),
        related_object_type=nullable("related_object_type", patch.related_object_type),
    )


def present_task(t: Task) -> dict[str, Any]:
    return {
        "id": t.id, "client_id": t.client_id, "name": t.name, "task_type": t.task_type,
        "status": t.status, "priority": t.priority, "created_by": t.created_by,
        "assignees": t.assignees, "due_date": t.due_date, "description": t.description,
        "related_object_id": t.related_object_id, "related_object_type": t.related_object_type,
        "completed_by": t.completed_by, "completed_at": t.completed_at,
        "created_at": t.created_at, "updated_at": t.updated_at,
    }


def present_comment(c: CommentView) -> dict[str, Any]:
    return {"id": c.id, "task_id": c.task_id, "comment": c.comment, "user_id": c.user_id,
            "user_name": c.user_name, "user_email": c.user_email, "created_at": c.created_at,
            "updated_at": c.updated_at}
