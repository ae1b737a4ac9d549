"""`catalyst demo`: a demo agency in the configured database, made through the use cases.

A platform admin, a few colleagues, three clients with members in every role, tasks, and 90 days of
synthetic ad performance (ending yesterday by the container's clock; the plan is in demo_data.py).
Only the password is random. A database that already holds the demo is left as it is."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from attrs import frozen

from catalyst_api.demo_data import (
    ADMIN_EMAIL,
    ADMIN_NAME,
    CLIENTS,
    DAYS,
    DOMAIN,
    PEOPLE,
    SEED,
    TaskPlan,
    performance_rows,
)
from catalyst_core.auth.model import Actor, GlobalRole, User
from catalyst_core.errors import Conflict
from catalyst_core.ids import ClientId, UserId
from catalyst_core.metrics.model import MAX_ROWS_PER_BATCH
from catalyst_core.tasks.model import NewTask, TaskChanges, TaskStatus

__all__ = ["ADMIN_EMAIL", "Demo", "create_demo"]


# -- making it --------------------------------------------------------------------------------------

@frozen
class CreatedClient:
    id: ClientId
    name: str
    members: int
    tasks: int
    rows: int
    alert_instances: int = 0


@frozen
class Demo:
    """What `create_demo` did: `created` False when the database already held the demo."""

    created: bool
    password: str | None = None
    users: int = 0
    clients: tuple[CreatedClient, ...] = ()
    first_day: date | None = None
    last_day: date | None = None


def _due(now: datetime, in_days: int | None) -> datetime | None:
    if in_days is None:
        return None
    return datetime.combine(now.date() + timedelta(days=in_days), time(17, 0), tzinfo=UTC)


async def create_demo(container: Any, *, days: int = DAYS, seed: int = SEED) -> Demo:
    """Make the demo agency through the use cases; nothing when its admin already exists."""
    auth, clients, tasks, metrics = (container.auth(), container.clients(), container.tasks(),
                                     container.metrics())
    password = secrets.token_urlsafe(12)
    try:
        admin = await auth.register(ADMIN_EMAIL, password, ADMIN_NAME, role=GlobalRole.ADMIN)
    except Conflict:
        return Demo(created=False)
    users: dict[str, User] = {}
    for person in PEOPLE:
        users[person.key] = await auth.register(person.email, password, person.name)

    as_admin = Actor(admin.id, GlobalRole.ADMIN)
    now = container.clock().now()
    last_day = now.date() - timedelta(days=1)  # today's data is still arriving
    first_day = last_day - timedelta(days=days - 1)
    made = []
    for plan in CLIENTS:
        view = await clients.create(as_admin, plan.name, f"https://{DOMAIN}/logos/{plan.slug}.png")
        client_id = view.client.id
        for key, role in plan.members:
            await clients.add_member(as_admin, client_id, users[key].email, role)
        for task_plan in plan.tasks:
            await _make_task(tasks, client_id, task_plan, users, now)
        rows = 0
        batch: list[dict[str, Any]] = []
        for row in performance_rows(plan, first_day, days, seed):
            batch.append(row)
            if len(batch) == MAX_ROWS_PER_BATCH:
                await metrics.ingest(as_admin, client_id, batch)
                rows, batch = rows + len(batch), []
        if batch:
            await metrics.ingest(as_admin, client_id, batch)
            rows += len(batch)
        # The default alerts run once now, so their instances show what went bad last week.
        instances = 0
        for alert in await container.alerts().list(as_admin, client_id):
            instances += (await container.alerts().trigger(as_admin, alert.id, client_id)
                          ).instances_created
        made.append(CreatedClient(client_id, plan.name, len(plan.members) + 1, len(plan.tasks), rows,
                                  instances))
    return Demo(created=True, password=password, users=len(users) + 1, clients=tuple(made),
                first_day=first_day, last_day=last_day)


async def _make_task(tasks: Any, client_id: ClientId, plan: TaskPlan, users: dict[str, User],
                     now: datetime) -> None:
    creator = Actor(users[plan.creator].id, GlobalRole.MEMBER)
    assignees: list[UserId] = [users[key].id for key in plan.assignees]
    task = await tasks.create(creator, NewTask(
        client_id=client_id, name=plan.name, task_type=plan.task_type, priority=plan.priority,
        assignees=assignees, due_date=_due(now, plan.due_in_days), description=plan.description))
    finisher = Actor(assignees[0] if assignees else creator.user_id, GlobalRole.MEMBER)
    if plan.status is TaskStatus.IN_PROGRESS:
        await tasks.update(finisher, task.id, TaskChanges(status=TaskStatus.IN_PROGRESS))
    elif plan.status is TaskStatus.COMPLETED:
        await tasks.complete(finisher, task.id)
    elif plan.status is TaskStatus.CANCELLED:
        await tasks.cancel(creator, task.id)
