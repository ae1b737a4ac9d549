"""What one run of an alert writes: new instances (each with its task when the alert asks for one)
and updates to the instances still triggered for the same entities."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from attrs import frozen

from catalyst_core.alerts.evaluation import Finding
from catalyst_core.alerts.model import Alert, AlertInstance, InstanceId, InstanceStatus
from catalyst_core.events import AlertFired, Event, TaskAssigned
from catalyst_core.ids import IdFactory, TaskId, UserId
from catalyst_core.ports import Transaction
from catalyst_core.tasks.model import (
    MAX_TASK_NAME,
    RELATED_ALERT_INSTANCE,
    Task,
    TaskStatus,
)

# Instances opened by one run at most: an alert on every ad of a large account must not open
# tens of thousands of tasks at once. The rest are reported as `instances_skipped`.
MAX_NEW_INSTANCES_PER_RUN = 1_000


@frozen
class Firing:
    """The outcome of one run: how many instances were opened and updated, and the events."""

    opened: int
    updated: int
    skipped: int
    events: tuple[Event, ...]


def _task_name(alert: Alert, finding: Finding) -> str:
    data = finding.alert_data
    entity = next((data[k] for k in ("ad_name", "ad_id", "adset_name", "adset_id", "campaign_name",
                                     "campaign_id") if data.get(k)), "the account")
    name = f"{alert.name}: {entity}"
    return name if len(name) <= MAX_TASK_NAME else name[:MAX_TASK_NAME - 1] + "…"


def _task_description(alert: Alert, finding: Finding) -> str:
    data = finding.alert_data
    field = alert.condition.field
    return (f"{field} was {data.get(field)} over {data['window_start']} to {data['window_end']} "
            f"(threshold {data['threshold']}, account average {data['account_average']}).")


async def record(tx: Transaction, alert: Alert, findings: Sequence[Finding], *, ids: IdFactory,
                 now: datetime, by: UserId | None) -> Firing:
    """Write one run's findings. The caller holds the alert's lock and committed nothing yet."""
    open_ = await tx.alert_instances.triggered(alert.id, [f.entity_key for f in findings])
    seen, new = [], []
    for finding in findings:
        instance = open_.get(finding.entity_key)
        if instance is not None:
            instance.seen_again(finding.alert_data, alert_name=alert.name, now=now)
            seen.append(instance)
        else:
            new.append(finding)
    skipped = max(0, len(new) - MAX_NEW_INSTANCES_PER_RUN)
    new = new[:MAX_NEW_INSTANCES_PER_RUN]
    events: list[Event] = []
    assignees: list[UserId] = []
    if alert.action.create_task and new:
        # Only current members are assigned: someone named when the alert was configured may have
        # left the client since.
        strangers = set(await tx.members.non_members(alert.client_id, list(alert.action.assignees)))
        assignees = [a for a in alert.action.assignees if a not in strangers]
    instances, tasks = [], []
    for finding in new:
        instance = AlertInstance(
            id=InstanceId(ids()), alert_id=alert.id, client_id=alert.client_id,
            alert_name=alert.name, entity_key=finding.entity_key, alert_data=finding.alert_data,
            status=InstanceStatus.TRIGGERED, triggered_at=now, last_seen_at=now)
        if alert.action.create_task:
            task = Task(
                id=TaskId(ids()), client_id=alert.client_id, name=_task_name(alert, finding),
                task_type=alert.action.task_type, status=TaskStatus.PENDING,
                priority=alert.action.priority, created_by=by or alert.created_by,
                assignees=list(assignees), due_date=None,
                description=_task_description(alert, finding),
                related_object_id=str(instance.id), related_object_type=RELATED_ALERT_INSTANCE,
                created_at=now, updated_at=now)
            instance.task_id = task.id
            tasks.append(task)
            if assignees:
                events.append(TaskAssigned(occurred_at=now, task_id=task.id, client_id=task.client_id,
                                           assignees=tuple(assignees), by=task.created_by))
        instances.append(instance)
    if tasks:
        await tx.tasks.add_many(tasks)
    if instances:
        await tx.alert_instances.add_many(instances)
    if seen:
        await tx.alert_instances.save_seen(seen)
    if instances or seen:
        events.insert(0, AlertFired(occurred_at=now, alert_id=alert.id, alert_name=alert.name,
                                    client_id=alert.client_id,
                                    opened=tuple(i.id for i in instances),
                                    updated=tuple(i.id for i in seen), by=by))
    return Firing(len(instances), len(seen), skipped, tuple(events))
