"""Events the core hands to the Notifier after a transaction commits."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import attrs
from attrs import frozen

from catalyst_core.ids import ClientId, CommentId, TaskId, UserId


@frozen(kw_only=True)
class Event:
    occurred_at: datetime

    @property
    def kind(self) -> str:
        return type(self).__name__

    def payload(self) -> dict[str, Any]:
        """The event's fields as plain JSON values (UUIDs and datetimes as text)."""
        return {f.name: _plain(getattr(self, f.name)) for f in attrs.fields(type(self))}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, tuple | list | frozenset | set):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


@frozen(kw_only=True)
class Delivery:
    """An event waiting in the outbox for a durable notifier: written in the transaction of the
    change that caused it, removed once delivered. `id` is the delivery's stable identity (a
    webhook's `webhook-id`), `attempts` how many deliveries failed so far."""

    id: uuid.UUID
    kind: str
    payload: Mapping[str, Any]
    occurred_at: datetime
    next_attempt_at: datetime
    attempts: int = 0


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


@frozen(kw_only=True)
class AlertFired(Event):
    """An alert run found offending entities: `opened` are new instances, `updated` the ones that
    were still triggered and were seen again."""

    alert_id: uuid.UUID
    alert_name: str
    client_id: ClientId
    opened: tuple[uuid.UUID, ...]
    updated: tuple[uuid.UUID, ...]
    by: UserId | None


@frozen(kw_only=True)
class AlertInstanceClosed(Event):
    """An instance was resolved or dismissed (`status`)."""

    instance_id: uuid.UUID
    alert_id: uuid.UUID
    client_id: ClientId
    status: str
    by: UserId


@frozen(kw_only=True)
class CreativeSubmitted(Event):
    """A creative was submitted for review; its review task went to the client's admins."""

    submission_id: uuid.UUID
    client_id: ClientId
    name: str
    task_id: TaskId | None
    by: UserId


@frozen(kw_only=True)
class CreativeReviewed(Event):
    """A creative was approved or rejected (`status`; `reason` for a rejection). `submitted_by`
    is who should hear of it: the notifier delivers the decision to the submitter."""

    submission_id: uuid.UUID
    client_id: ClientId
    name: str
    status: str
    reason: str | None
    submitted_by: UserId
    by: UserId
