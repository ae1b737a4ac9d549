"""The alert and alert-instance repositories of MemoryStorage.

They answer what the SQL adapter answers: the same errors where the schema's keys and its partial
unique index would refuse a write, the same orders, and copies in and out. Lookups scan the
dictionaries, which suits the data sizes of tests."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from catalyst_core.alerts.model import (
    Alert,
    AlertId,
    AlertInstance,
    InstanceId,
    InstanceQuery,
    InstanceStatus,
)
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import ClientId, UserId
from catalyst_core.paging import OffsetPage, OffsetRequest

if TYPE_CHECKING:
    from catalyst_adapters.memory.storage import _Journal, _Tables

_TRIGGERED = InstanceStatus.TRIGGERED


def _visible_clients(t: _Tables, user_id: UserId | None) -> set[ClientId] | None:
    if user_id is None:
        return None
    return {cid for (cid, uid) in t.members if uid == user_id}


class MemoryAlertRepo:
    def __init__(self, t: _Tables, j: _Journal) -> None:
        self._t, self._j = t, j

    def _check_references(self, alert: Alert) -> None:
        if alert.client_id not in self._t.clients or alert.created_by not in self._t.users:
            raise NotFound("a referenced record does not exist")

    async def add(self, alert: Alert) -> None:
        await self.add_many([alert])

    async def add_many(self, alerts: Sequence[Alert]) -> None:
        # Everything is checked before anything is written, as the one INSERT of SQL does.
        new: set[AlertId] = set()
        for alert in alerts:
            if alert.id in self._t.alerts or alert.id in new:
                raise Conflict("alert already exists")
            self._check_references(alert)
            new.add(alert.id)
        for alert in alerts:
            self._j.put(self._t.alerts, alert.id, alert)

    async def get(self, alert_id: AlertId, *, for_update: bool = False) -> Alert | None:
        # Transactions of MemoryStorage take turns, so every read is as good as locked.
        return copy.deepcopy(self._t.alerts.get(alert_id))

    async def save(self, alert: Alert) -> None:
        if alert.id not in self._t.alerts:
            raise NotFound("alert not found")
        self._check_references(alert)
        self._j.put(self._t.alerts, alert.id, alert)

    async def delete(self, alert_id: AlertId) -> None:
        if alert_id not in self._t.alerts:
            raise NotFound("alert not found")
        for instance_id in [i.id for i in self._t.alert_instances.values() if i.alert_id == alert_id]:
            self._j.pop(self._t.alert_instances, instance_id)
        self._j.pop(self._t.alerts, alert_id)

    async def count(self, client_id: ClientId) -> int:
        return sum(1 for a in self._t.alerts.values() if a.client_id == client_id)

    async def list(self, client_id: ClientId | None, visible_to: UserId | None) -> list[Alert]:
        visible = _visible_clients(self._t, visible_to)
        rows = [a for a in self._t.alerts.values()
                if (client_id is None or a.client_id == client_id)
                and (visible is None or a.client_id in visible)]
        return [copy.deepcopy(a) for a in sorted(rows, key=lambda a: (a.created_at, a.id))]

    async def due(self, now: datetime, limit: int) -> list[Alert]:
        rows = [a for a in self._t.alerts.values()
                if a.is_enabled and a.next_run_at is not None and a.next_run_at <= now]
        rows.sort(key=lambda a: (a.next_run_at, a.id))
        return [copy.deepcopy(a) for a in rows[:limit]]

    async def claim(self, alert_id: AlertId, expected: datetime, next_run_at: datetime,
                    now: datetime) -> bool:
        stored = self._t.alerts.get(alert_id)
        if stored is None or stored.next_run_at is None or stored.next_run_at != expected:
            return False
        self._j.put(self._t.alerts, alert_id,
                    attrs.evolve(stored, next_run_at=next_run_at, last_run_at=now))
        return True


class MemoryAlertInstanceRepo:
    def __init__(self, t: _Tables, j: _Journal) -> None:
        self._t, self._j = t, j

    def _check_references(self, instance: AlertInstance) -> None:
        t = self._t
        if (instance.alert_id not in t.alerts or instance.client_id not in t.clients
                or (instance.task_id is not None and instance.task_id not in t.tasks)
                or (instance.resolved_by is not None and instance.resolved_by not in t.users)):
            raise NotFound("a referenced record does not exist")

    def _triggered_keys(self, alert_ids: Iterable[AlertId], *, besides: InstanceId | None = None
                        ) -> set[tuple[AlertId, str]]:
        """(alert, entity key) of the stored triggered instances of these alerts: the partial
        unique index of SQL."""
        wanted = set(alert_ids)
        return {(i.alert_id, i.entity_key) for i in self._t.alert_instances.values()
                if i.alert_id in wanted and i.status is _TRIGGERED and i.id != besides}

    async def add(self, instance: AlertInstance) -> None:
        await self.add_many([instance])

    async def add_many(self, instances: Sequence[AlertInstance]) -> None:
        taken = self._triggered_keys(i.alert_id for i in instances)
        new: set[InstanceId] = set()
        for instance in instances:
            if instance.id in self._t.alert_instances or instance.id in new:
                raise Conflict("alert instance already exists")
            self._check_references(instance)
            if instance.status is _TRIGGERED:
                key = (instance.alert_id, instance.entity_key)
                if key in taken:
                    raise Conflict("a triggered instance of this alert and entity already exists")
                taken.add(key)
            new.add(instance.id)
        for instance in instances:
            self._j.put(self._t.alert_instances, instance.id, instance)

    async def get(self, instance_id: InstanceId, *, for_update: bool = False) -> AlertInstance | None:
        return copy.deepcopy(self._t.alert_instances.get(instance_id))

    async def save_seen(self, instances: Sequence[AlertInstance]) -> None:
        for instance in instances:
            stored = self._t.alert_instances.get(instance.id)
            if stored is None or stored.status is not _TRIGGERED:
                continue
            updated = attrs.evolve(
                stored, alert_name=instance.alert_name, alert_data=instance.alert_data,
                last_seen_at=instance.last_seen_at, trigger_count=instance.trigger_count,
                version=stored.version + 1)
            self._j.put(self._t.alert_instances, instance.id, updated)
            instance.version = updated.version

    async def save(self, instance: AlertInstance) -> None:
        stored = self._t.alert_instances.get(instance.id)
        if stored is None:
            raise NotFound("alert instance not found")
        if stored.version != instance.version:
            raise Conflict("the alert instance was changed by someone else; reload and try again")
        self._check_references(instance)
        if instance.status is _TRIGGERED and (instance.alert_id, instance.entity_key) in \
                self._triggered_keys([instance.alert_id], besides=instance.id):
            raise Conflict("a triggered instance of this alert and entity already exists")
        instance.version += 1
        self._j.put(self._t.alert_instances, instance.id, instance)

    async def triggered(self, alert_id: AlertId, entity_keys: Sequence[str]
                        ) -> dict[str, AlertInstance]:
        keys = set(entity_keys)
        return {i.entity_key: copy.deepcopy(i) for i in self._t.alert_instances.values()
                if i.alert_id == alert_id and i.status is _TRIGGERED and i.entity_key in keys}

    async def list(self, query: InstanceQuery, page: OffsetRequest) -> OffsetPage[AlertInstance]:
        visible = _visible_clients(self._t, query.visible_to)
        rows = [i for i in self._t.alert_instances.values()
                if (visible is None or i.client_id in visible)
                and (query.client_id is None or i.client_id == query.client_id)
                and (query.alert_id is None or i.alert_id == query.alert_id)
                and (query.status is None or i.status is query.status)]
        rows.sort(key=lambda i: (i.triggered_at, i.id), reverse=True)
        chosen = rows[page.offset:page.offset + page.limit]
        return OffsetPage(items=[copy.deepcopy(i) for i in chosen], total_items=len(rows),
                          request=page)
