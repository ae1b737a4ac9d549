"""Use cases of alerts and their instances: configuration, runs (manual, test, scheduled), and
resolving or dismissing what they found. Each is one transaction; events leave after commit."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from attrs import frozen

from catalyst_core.access import require, role_in, role_over
from catalyst_core.alerts import firing
from catalyst_core.alerts.config import AlertConfig, default_configs, merged_config, parse_config
from catalyst_core.alerts.evaluation import (
    Finding,
    evaluate,
    level_filter,
    storage_level,
    window_of,
)
from catalyst_core.alerts.model import (
    MAX_ALERTS_PER_CLIENT,
    MAX_RESOLUTION_NOTES,
    Alert,
    AlertId,
    AlertInstance,
    DataLevel,
    InstanceId,
    InstanceQuery,
    InstanceStatus,
)
from catalyst_core.alerts.schedule import first_slot, next_slot
from catalyst_core.auth.model import Actor
from catalyst_core.clients.model import ClientRole
from catalyst_core.errors import Conflict, InvalidInput, NotFound
from catalyst_core.events import AlertInstanceClosed, Event, TaskCancelled, TaskCompleted
from catalyst_core.ids import ClientId, IdFactory, UserId
from catalyst_core.metrics.registry import ZERO
from catalyst_core.notifications import Publisher
from catalyst_core.paging import OffsetPage, OffsetRequest
from catalyst_core.ports import Clock, Notifier, Storage, Transaction
from catalyst_core.tasks.model import TaskStatus

log = logging.getLogger("catalyst.alerts")


@frozen
class TriggerResult:
    alert_name: str
    instances_created: int
    instances_updated: int
    instances_skipped: int


@frozen
class TestResult:
    alert_name: str
    findings: Sequence[Finding]

    @property
    def would_fire(self) -> bool:
        return bool(self.findings)


@frozen
class InstanceFilters:
    client_id: ClientId | None = None
    alert_id: AlertId | None = None
    status: InstanceStatus | None = None


@frozen
class SchedulerPass:
    """One pass of the scheduler: alerts it ran (claimed), and what they opened."""

    ran: int
    instances_created: int
    failed: int


def new_alert(config: AlertConfig, *, alert_id: AlertId, client_id: ClientId, created_by: UserId,
              now: datetime, is_default: bool = False) -> Alert:
    return Alert(
        id=alert_id, client_id=client_id, name=config.name, description=config.description,
        alert_type=config.alert_type, is_enabled=config.is_enabled, is_default=is_default,
        data_level=config.data_level, condition=config.condition, action=config.action,
        data_source=config.data_source, frequency=config.frequency, created_by=created_by,
        created_at=now, updated_at=now,
        next_run_at=first_slot(config.frequency, now) if config.is_enabled else None)


def config_of(alert: Alert) -> AlertConfig:
    return AlertConfig(alert.name, alert.description, alert.alert_type, alert.is_enabled,
                       alert.data_level, alert.condition, alert.action, alert.data_source,
                       alert.frequency)


def _notes(raw: str | None) -> str | None:
    if raw is None:
        return None
    if "\x00" in raw:
        raise InvalidInput({"resolution_notes": "must not contain U+0000"})
    notes = raw.strip()
    if len(notes) > MAX_RESOLUTION_NOTES:
        raise InvalidInput({"resolution_notes": f"must be at most {MAX_RESOLUTION_NOTES} characters"})
    return notes or None


class AlertsService:
    def __init__(self, storage: Storage, clock: Clock, notifier: Notifier, ids: IdFactory) -> None:
        self.storage, self.clock, self.ids = storage, clock, ids
        self.publisher = Publisher(notifier, ids)

    # -- configuration ---------------------------------------------------------------------------

    async def list(self, actor: Actor, client_id: ClientId | None = None) -> list[Alert]:
        async with self.storage.transaction(write=False) as tx:
            if client_id is not None:
                await role_in(tx, actor, client_id)
                return await tx.alerts.list(client_id, None)
            visible_to = None if actor.is_platform_admin else actor.user_id
            return await tx.alerts.list(None, visible_to)

    async def get(self, actor: Actor, alert_id: AlertId, client_id: ClientId | None = None) -> Alert:
        async with self.storage.transaction(write=False) as tx:
            alert, _ = await self._visible(tx, actor, alert_id, client_id)
        return alert

    async def create(self, actor: Actor, client_id: ClientId, raw: Any) -> Alert:
        config = parse_config(raw)
        now = self.clock.now()
        alert = new_alert(config, alert_id=AlertId(self.ids()), client_id=client_id,
                          created_by=actor.user_id, now=now)
        async with self.storage.transaction() as tx:
            require(await role_in(tx, actor, client_id), ClientRole.ADMIN, "creating alerts")
            await self._check_assignees(tx, client_id, config)
            await tx.clients.get(client_id, for_update=True)  # the count below holds under concurrency
            if await tx.alerts.count(client_id) >= MAX_ALERTS_PER_CLIENT:
                raise Conflict(f"a client has at most {MAX_ALERTS_PER_CLIENT} alerts")
            await tx.alerts.add(alert)
        return alert

    async def update(self, actor: Actor, alert_id: AlertId, client_id: ClientId | None,
                     patch: Any) -> Alert:
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            alert, role = await self._visible(tx, actor, alert_id, client_id, for_update=True)
            require(role, ClientRole.ADMIN, "changing alerts")
            config = merged_config(config_of(alert), patch)
            await self._check_assignees(tx, alert.client_id, config)
            schedule_changed = (config.frequency != alert.frequency
                                or config.is_enabled != alert.is_enabled)
            alert.name, alert.description = config.name, config.description
            alert.alert_type, alert.is_enabled = config.alert_type, config.is_enabled
            alert.data_level, alert.condition = config.data_level, config.condition
            alert.action, alert.data_source = config.action, config.data_source
            alert.frequency, alert.updated_at = config.frequency, now
            if schedule_changed:
                alert.next_run_at = first_slot(config.frequency, now) if config.is_enabled else None
            await tx.alerts.save(alert)
        return alert

    async def delete(self, actor: Actor, alert_id: AlertId, client_id: ClientId | None) -> None:
        async with self.storage.transaction() as tx:
            _, role = await self._visible(tx, actor, alert_id, client_id, for_update=True)
            require(role, ClientRole.ADMIN, "deleting alerts")
            await tx.alerts.delete(alert_id)

    # -- runs --------------------------------------------------------------------------------------

    async def trigger(self, actor: Actor, alert_id: AlertId,
                      client_id: ClientId | None = None) -> TriggerResult:
        """Run the alert now and record what it finds (its schedule is unchanged)."""
        async with self.storage.transaction(write=False) as tx:
            alert, role = await self._visible(tx, actor, alert_id, client_id)
            require(role, ClientRole.MEMBER, "triggering alerts")
        now = self.clock.now()
        result = await self._run(alert, now=now, by=actor.user_id)
        if result is None:
            raise NotFound("alert not found")  # deleted while it was being evaluated
        return result

    async def test(self, actor: Actor, alert_id: AlertId,
                   client_id: ClientId | None = None) -> TestResult:
        """Evaluate the alert now; store and notify nothing."""
        async with self.storage.transaction(write=False) as tx:
            alert, role = await self._visible(tx, actor, alert_id, client_id)
            require(role, ClientRole.MEMBER, "testing alerts")
        return TestResult(alert.name, await self._evaluate(alert, self.clock.now()))

    async def run_due(self, *, limit: int = 100) -> SchedulerPass:
        """One scheduler pass: claim each due alert's slot (atomic in storage, so concurrent
        schedulers run it once) and run it. A claim moves the alert to its next slot after now,
        so a scheduler that was down runs each alert once, not once per missed slot."""
        now = self.clock.now()
        async with self.storage.transaction(write=False) as tx:
            due = await tx.alerts.due(now, limit)
        ran = created = failed = 0
        for alert in due:
            assert alert.next_run_at is not None
            async with self.storage.transaction() as tx:
                claimed = await tx.alerts.claim(alert.id, alert.next_run_at,
                                                next_slot(alert.frequency, now), now)
            if not claimed:
                continue
            ran += 1
            try:
                result = await self._run(alert, now=now, by=None)
            except Exception:
                # One broken alert must not stop the others; the next slot tries again.
                failed += 1
                log.exception("alert %s of client %s failed to run", alert.id, alert.client_id)
                continue
            created += result.instances_created if result else 0
        return SchedulerPass(ran, created, failed)

    async def _evaluate(self, alert: Alert, now: datetime) -> list[Finding]:
        """The alert's findings now. The account's totals come first (the daily rollup: a few
        rows); the level's lines then come filtered in storage to the few that could fire (the
        spend floor and the threshold's side), and are decided exactly here."""
        window, level = window_of(alert.condition, alert.frequency.timezone, now), alert.data_level
        async with self.storage.transaction(write=False) as tx:
            accounts = await tx.performance.level_totals(alert.client_id, window.start, window.end,
                                                         None)
            account = accounts[0].totals if accounts else ZERO
            if level is DataLevel.ACCOUNT:
                lines = accounts
            else:
                where = level_filter(alert.condition, account)
                if where is None:
                    return []
                lines = await tx.performance.level_totals(
                    alert.client_id, window.start, window.end, storage_level(level), where=where)
        return await evaluate(alert.condition, level, window, lines, account)

    async def _run(self, alert: Alert, *, now: datetime, by: UserId | None) -> TriggerResult | None:
        findings = await self._evaluate(alert, now)
        async with self.storage.transaction() as tx:
            # The lock makes runs of one alert take turns; the configuration read here is the one
            # the instances are recorded under (it may have changed while evaluating).
            current = await tx.alerts.get(alert.id, for_update=True)
            if current is None:
                return None
            result = await firing.record(tx, current, findings, ids=self.ids, now=now, by=by)
            await self.publisher.stage(tx, result.events)
        await self.publisher.publish(result.events)
        return TriggerResult(current.name, result.opened, result.updated, result.skipped)

    # -- instances ---------------------------------------------------------------------------------

    async def list_instances(self, actor: Actor, filters: InstanceFilters,
                             page: OffsetRequest) -> OffsetPage[AlertInstance]:
        async with self.storage.transaction(write=False) as tx:
            if filters.client_id is not None:
                await role_in(tx, actor, filters.client_id)
            if filters.alert_id is not None:
                await self._visible(tx, actor, filters.alert_id, None)
            visible_to = None if actor.is_platform_admin or filters.client_id else actor.user_id
            query = InstanceQuery(visible_to=visible_to, client_id=filters.client_id,
                                  alert_id=filters.alert_id, status=filters.status)
            return await tx.alert_instances.list(query, page)

    async def get_instance(self, actor: Actor, instance_id: InstanceId) -> AlertInstance:
        async with self.storage.transaction(write=False) as tx:
            instance, _ = await self._visible_instance(tx, actor, instance_id)
        return instance

    async def resolve(self, actor: Actor, instance_id: InstanceId,
                      notes: str | None = None) -> AlertInstance:
        """Resolve a triggered instance, completing its open task."""
        return await self._close(actor, instance_id, InstanceStatus.RESOLVED, _notes(notes))

    async def dismiss(self, actor: Actor, instance_id: InstanceId) -> AlertInstance:
        """Dismiss a triggered instance, cancelling its open task."""
        return await self._close(actor, instance_id, InstanceStatus.DISMISSED, None)

    async def _close(self, actor: Actor, instance_id: InstanceId, status: InstanceStatus,
                     notes: str | None) -> AlertInstance:
        now = self.clock.now()
        events: list[Event] = []
        async with self.storage.transaction() as tx:
            instance, role = await self._visible_instance(tx, actor, instance_id, for_update=True)
            require(role, ClientRole.MEMBER, f"marking alert instances {status.value}")
            instance.close(status, by=actor.user_id, now=now, notes=notes)
            await tx.alert_instances.save(instance)
            events.append(AlertInstanceClosed(
                occurred_at=now, instance_id=instance.id, alert_id=instance.alert_id,
                client_id=instance.client_id, status=status.value, by=actor.user_id))
            if instance.task_id is not None:
                task = await tx.tasks.get(instance.task_id, for_update=True)
                if task is not None and not task.status.is_final:
                    done = TaskStatus.COMPLETED if status is InstanceStatus.RESOLVED \
                        else TaskStatus.CANCELLED
                    task.finish(done, by=actor.user_id, now=now)
                    await tx.tasks.save(task)
                    kind = TaskCompleted if done is TaskStatus.COMPLETED else TaskCancelled
                    events.append(kind(occurred_at=now, task_id=task.id, client_id=task.client_id,
                                       by=actor.user_id))
            await self.publisher.stage(tx, events)
        await self.publisher.publish(events)
        return instance

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    async def _visible(tx: Transaction, actor: Actor, alert_id: AlertId, client_id: ClientId | None,
                       *, for_update: bool = False) -> tuple[Alert, ClientRole]:
        """The alert and the actor's role in its client; NotFound when the actor may not see it or
        it belongs to another client than the one named."""
        alert = await tx.alerts.get(alert_id, for_update=for_update)
        if alert is None or (client_id is not None and alert.client_id != client_id):
            raise NotFound("alert not found")
        return alert, await role_over(tx, actor, alert.client_id, "alert not found")

    @staticmethod
    async def _visible_instance(tx: Transaction, actor: Actor, instance_id: InstanceId, *,
                                for_update: bool = False) -> tuple[AlertInstance, ClientRole]:
        instance = await tx.alert_instances.get(instance_id, for_update=for_update)
        if instance is None:
            raise NotFound("alert instance not found")
        return instance, await role_over(tx, actor, instance.client_id, "alert instance not found")

    @staticmethod
    async def _check_assignees(tx: Transaction, client_id: ClientId, config: AlertConfig) -> None:
        assignees = list(config.action.assignees)
        if assignees:
            strangers = await tx.members.non_members(client_id, assignees)
            if strangers:
                raise InvalidInput({"action_config.assignees": "not members of this client: "
                                    + ", ".join(map(str, strangers))})


def default_alerts(client_id: ClientId, created_by: UserId, now: datetime,
                   ids: IdFactory) -> list[Alert]:
    """The default alerts of a new client (`is_default`), ready to store."""
    return [new_alert(config, alert_id=AlertId(ids()), client_id=client_id, created_by=created_by,
                      now=now, is_default=True) for config in default_configs()]

