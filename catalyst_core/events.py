"""Events the core hands to the Notifier after a transaction commits."""

from __future__ import annotations

from datetime import datetime

from attrs import frozen

from catalyst_core.ids import ClientId, CommentId, TaskId, UserId


@frozen(kw_only=True)
class Event:
    occurred_at: datetime

    @property
    def kind(self) -> str:
        return type(self).__name__


@frozen(kw_only=True)
class TaskAssigned(Event):
    """Sent for the users newly assigned to a task (not those already on it)."""

    task_id: TaskId
    client_id: ClientId
    assignees: tuple[UserId, ...]
    by: UserId


@frozen(kw_only=True)
class TaskCompleted(Event):
    task_id: TaskId
    client_id: ClientId
    by: UserId


@frozen(kw_only=True)
class TaskCancelled(Event):
    task_id: TaskId
    client_id: ClientId
    by: UserId


@frozen(kw_only=True)
class CommentAdded(Event):
    comment_id: CommentId
    task_id: TaskId
    client_id: ClientId
    by: UserId
