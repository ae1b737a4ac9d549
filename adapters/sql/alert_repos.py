"""SQL repositories of alerts and alert instances.

An alert's condition, action and frequency are JSON objects in their wire form, with thresholds as
decimal text (JSON numbers would pass through floats); the scheduler's compare-and-set is one
UPDATE. At most one triggered instance per alert and entity is the partial unique index on
(alert_id, entity_hash): an entity key may be longer than an index entry can hold, its hash never."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from catalyst_adapters.sql.bulk import execute_many
from catalyst_adapters.sql.queries import integrity_error, off_loop
from catalyst_adapters.sql.tables import alert_instances, alerts, memberships
from catalyst_core.alerts.model import (
    Action,
    Alert,
    AlertId,
    AlertInstance,
    Condition,
    DataLevel,
    Frequency,
    FrequencyType,
    InstanceId,
    InstanceQuery,
    InstanceStatus,
    Operator,
    Weekday,
)
from catalyst_core.errors import Conflict, NotFound
from catalyst_core.ids import ClientId, UserId
from catalyst_core.paging import OffsetPage, OffsetRequest
from catalyst_core.tasks.model import Priority, TaskType

# Bind parameters in a statement stay well under every driver's limit (SQLite 32766, asyncpg 32767).
KEYS_PER_STATEMENT = 500
_TRIGGERED = InstanceStatus.TRIGGERED.value

# -- the JSON form of an alert's parts -------------------------------------------------------------


def _condition_json(c: Condition) -> dict[str, Any]:
    return {"field": c.field, "operator": c.operator.value, "value": str(c.value),
            "window_days": c.window_days, "min_spend": str(c.min_spend)}


def _condition(raw: Mapping[str, Any]) -> Condition:
    return Condition(raw["field"], Operator(raw["operator"]), Decimal(raw["value"]),
                     raw["window_days"], Decimal(raw["min_spend"]))


def _action_json(a: Action) -> dict[str, Any]:
    return {"create_task": a.create_task, "assignees": [str(u) for u in a.assignees],
            "task_type": a.task_type.value, "priority": a.priority.value}


def _action(raw: Mapping[str, Any]) -> Action:
    return Action(raw["create_task"], tuple(UserId(uuid.UUID(u)) for u in raw["assignees"]),
                  TaskType(raw["task_type"]), Priority(raw["priority"]))


def _clock_time(at: time) -> str:
    # The wire's HH:MM; a time with seconds (the model allows one) keeps them.
    return at.strftime("%H:%M") if not (at.second or at.microsecond) else at.isoformat()


def _frequency_json(f: Frequency) -> dict[str, Any]:
    # Unlike the wire, an hourly frequency keeps its time too, so every Frequency reads back equal.
    found: dict[str, Any] = {"type": f.type.value, "time": _clock_time(f.at), "timezone": f.timezone}
    if f.day is not None:
        found["day"] = f.day.value
    return found


def _frequency(raw: Mapping[str, Any]) -> Frequency:
    day = raw.get("day")
    return Frequency(FrequencyType(raw["type"]), time.fromisoformat(raw["time"]), raw["timezone"],
                     None if day is None else Weekday(day))


def _alert_values(alert: Alert) -> dict[str, Any]:
    return {
        "client_id": alert.client_id, "name": alert.name, "description": alert.description,
        "alert_type": alert.alert_type, "is_enabled": alert.is_enabled,
        "is_default": alert.is_default, "data_level": alert.data_level.value,
        "condition": _condition_json(alert.condition), "action": _action_json(alert.action),
        "data_source": alert.data_source, "frequency": _frequency_json(alert.frequency),
        "created_by": alert.created_by, "created_at": alert.created_at,
        "updated_at": alert.updated_at, "next_run_at": alert.next_run_at,
        "last_run_at": alert.last_run_at,
    }


def _alert(row: Any) -> Alert:
    m = row._mapping
    return Alert(
        id=m["id"], client_id=m["client_id"], name=m["name"], description=m["description"],
        alert_type=m["alert_type"], is_enabled=m["is_enabled"], is_default=m["is_default"],
        data_level=DataLevel(m["data_level"]), condition=_condition(m["condition"]),
        action=_action(m["action"]), data_source=m["data_source"],
        frequency=_frequency(m["frequency"]), created_by=m["created_by"],
        created_at=m["created_at"], updated_at=m["updated_at"], next_run_at=m["next_run_at"],
        last_run_at=m["last_run_at"])


def _visible_to(column: Any, user_id: UserId) -> Any:
    return column.in_(select(memberships.c.client_id).where(memberships.c.user_id == user_id))


_ALERT_BY_ID = select(alerts).where(alerts.c.id == bindparam("id"))
_ALERT_BY_ID_FOR_UPDATE = _ALERT_BY_ID.with_for_update()


class SqlAlertRepo:
    def __init__(self, conn: Any) -> None:
        self._c = conn

    async def add(self, alert: Alert) -> None:
        await self.add_many([alert])

    async def add_many(self, new_alerts: Sequence[Alert]) -> None:
        if not new_alerts:
            return
        try:
            await self._c.execute(insert(alerts), [{"id": a.id, **_alert_values(a)} for a in new_alerts])
        except IntegrityError as e:
            raise integrity_error(e, "alert already exists") from None

    async def get(self, alert_id: AlertId, *, for_update: bool = False) -> Alert | None:
        query = _ALERT_BY_ID_FOR_UPDATE if for_update else _ALERT_BY_ID
        row = (await self._c.execute(query, {"id": alert_id})).first()
        return _alert(row) if row else None

    async def save(self, alert: Alert) -> None:
        try:
            result = await self._c.execute(
                update(alerts).where(alerts.c.id == alert.id).values(**_alert_values(alert)))
        except IntegrityError as e:
            raise integrity_error(e, "alert already exists") from None
        if result.rowcount == 0:
            raise NotFound("alert not found")

    async def delete(self, alert_id: AlertId) -> None:
        # The instances go with it (ON DELETE CASCADE).
        result = await self._c.execute(delete(alerts).where(alerts.c.id == alert_id))
        if result.rowcount == 0:
            raise NotFound("alert not found")

    async def count(self, client_id: ClientId) -> int:
        return (await self._c.execute(select(func.count()).select_from(alerts).where(
            alerts.c.client_id == client_id))).scalar_one()

    async def list(self, client_id: ClientId | None, visible_to: UserId | None) -> list[Alert]:
        query = select(alerts)
        if client_id is not None:
            query = query.where(alerts.c.client_id == client_id)
        if visible_to is not None:
            query = query.where(_visible_to(alerts.c.client_id, visible_to))
        # A platform admin's or a member's list spans clients: sorted off the event loop.
        rows = await off_loop(self._c)(query.order_by(alerts.c.created_at, alerts.c.id))
        return [_alert(r) for r in rows.all()]

    async def due(self, now: datetime, limit: int) -> list[Alert]:
        # The index on (next_run_at, id) gives this order; disabled alerts have no next_run_at.
        query = (select(alerts).where(alerts.c.next_run_at <= now, alerts.c.is_enabled)
                 .order_by(alerts.c.next_run_at, alerts.c.id).limit(limit))
        return [_alert(r) for r in (await self._c.execute(query)).all()]

    async def claim(self, alert_id: AlertId, expected: datetime, next_run_at: datetime,
                    now: datetime) -> bool:
        # One statement: the database serialises it against any other claim of the same row.
        result = await self._c.execute(
            update(alerts).where(alerts.c.id == alert_id, alerts.c.next_run_at == expected)
            .values(next_run_at=next_run_at, last_run_at=now))
        return bool(result.rowcount == 1)


# -- instances -------------------------------------------------------------------------------------


def entity_hash(entity_key: str) -> str:
    return hashlib.sha256(entity_key.encode()).hexdigest()


def _instance_values(i: AlertInstance) -> dict[str, Any]:
    return {
        "alert_id": i.alert_id, "client_id": i.client_id, "alert_name": i.alert_name,
        "entity_key": i.entity_key, "entity_hash": entity_hash(i.entity_key),
        "alert_data": dict(i.alert_data), "status": i.status.value, "triggered_at": i.triggered_at,
        "last_seen_at": i.last_seen_at, "trigger_count": i.trigger_count, "task_id": i.task_id,
        "resolved_at": i.resolved_at, "resolved_by": i.resolved_by,
        "resolution_notes": i.resolution_notes,
    }


_INSERT_INSTANCE = insert(alert_instances)
_INSTANCE_VALUE_COLUMNS = tuple(c.name for c in alert_instances.c if c.name not in ("id", "version"))
_INSERT_INSTANCE_COLUMNS = ("id", "version", *_INSTANCE_VALUE_COLUMNS)


def _instance(row: Any) -> AlertInstance:
    m = row._mapping
    return AlertInstance(
        id=m["id"], alert_id=m["alert_id"], client_id=m["client_id"], alert_name=m["alert_name"],
        entity_key=m["entity_key"], alert_data=m["alert_data"], status=InstanceStatus(m["status"]),
        triggered_at=m["triggered_at"], last_seen_at=m["last_seen_at"],
        trigger_count=m["trigger_count"], task_id=m["task_id"], resolved_at=m["resolved_at"],
        resolved_by=m["resolved_by"], resolution_notes=m["resolution_notes"], version=m["version"])


_INSTANCE_BY_ID = select(alert_instances).where(alert_instances.c.id == bindparam("id"))
_INSTANCE_BY_ID_FOR_UPDATE = _INSTANCE_BY_ID.with_for_update()
_DUPLICATE_INSTANCE = "the alert instance, or a triggered instance of its alert and entity, already exists"

# Executed once per instance in one executemany; the new values are named apart from the columns.
_SEEN = (update(alert_instances)
         .where(alert_instances.c.id == bindparam("seen_id"), alert_instances.c.status == _TRIGGERED)
         .values(alert_name=bindparam("seen_name", type_=alert_instances.c.alert_name.type),
                 alert_data=bindparam("seen_data", type_=alert_instances.c.alert_data.type),
                 last_seen_at=bindparam("seen_at", type_=alert_instances.c.last_seen_at.type),
                 trigger_count=bindparam("seen_count", type_=alert_instances.c.trigger_count.type),
                 version=alert_instances.c.version + 1))


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i:i + KEYS_PER_STATEMENT] for i in range(0, len(items), KEYS_PER_STATEMENT)]


class SqlAlertInstanceRepo:
    def __init__(self, conn: Any) -> None:
        self._c = conn

    async def add(self, instance: AlertInstance) -> None:
        await self.add_many([instance])

    async def add_many(self, instances: Sequence[AlertInstance]) -> None:
        if not instances:
            return
        # One prepared statement (bulk.py): a run of an alert opens hundreds of instances at once.
        try:
            await execute_many(self._c, _INSERT_INSTANCE, _INSERT_INSTANCE_COLUMNS, [
                (i.id, i.version, *map(_instance_values(i).__getitem__, _INSTANCE_VALUE_COLUMNS))
                for i in instances])
        except IntegrityError as e:
            raise integrity_error(e, _DUPLICATE_INSTANCE) from None

    async def get(self, instance_id: InstanceId, *, for_update: bool = False) -> AlertInstance | None:
        query = _INSTANCE_BY_ID_FOR_UPDATE if for_update else _INSTANCE_BY_ID
        row = (await self._c.execute(query, {"id": instance_id})).first()
        return _instance(row) if row else None

    async def save_seen(self, instances: Sequence[AlertInstance]) -> None:
        if not instances:
            return
        await self._c.execute(_SEEN, [
            {"seen_id": i.id, "seen_name": i.alert_name, "seen_data": dict(i.alert_data),
             "seen_at": i.last_seen_at, "seen_count": i.trigger_count} for i in instances])
        # The new versions of those that were still triggered, so the callers' objects stay current.
        versions: dict[Any, int] = {}
        for chunk in _chunks([i.id for i in instances]):
            rows = await self._c.execute(
                select(alert_instances.c.id, alert_instances.c.version).where(
                    alert_instances.c.id.in_(chunk), alert_instances.c.status == _TRIGGERED))
            versions.update((row[0], row[1]) for row in rows.all())
        for instance in instances:
            instance.version = versions.get(instance.id, instance.version)

    async def save(self, instance: AlertInstance) -> None:
        try:
            result = await self._c.execute(
                update(alert_instances)
                .where(alert_instances.c.id == instance.id,
                       alert_instances.c.version == instance.version)
                .values(version=instance.version + 1, **_instance_values(instance)))
        except IntegrityError as e:
            raise integrity_error(e, _DUPLICATE_INSTANCE) from None
        if result.rowcount == 0:
            if await self.get(instance.id) is None:
                raise NotFound("alert instance not found")
            raise Conflict("the alert instance was changed by someone else; reload and try again")
        instance.version += 1

    async def triggered(self, alert_id: AlertId, entity_keys: Sequence[str]
                        ) -> dict[str, AlertInstance]:
        keys = set(entity_keys)
        found: dict[str, AlertInstance] = {}
        for chunk in _chunks(sorted({entity_hash(k) for k in keys})):
            rows = await self._c.execute(select(alert_instances).where(
                alert_instances.c.alert_id == alert_id, alert_instances.c.status == _TRIGGERED,
                alert_instances.c.entity_hash.in_(chunk)))
            for row in rows.all():
                instance = _instance(row)
                if instance.entity_key in keys:  # a hash collision would name another key
                    found[instance.entity_key] = instance
        return found

    async def list(self, query: InstanceQuery, page: OffsetRequest) -> OffsetPage[AlertInstance]:
        c = alert_instances.c
        conditions = []
        if query.visible_to is not None:
            conditions.append(_visible_to(c.client_id, query.visible_to))
        if query.client_id is not None:
            conditions.append(c.client_id == query.client_id)
        if query.alert_id is not None:
            conditions.append(c.alert_id == query.alert_id)
        if query.status is not None:
            conditions.append(c.status == query.status.value)
        # Off the event loop where reads run on it (SQLite): across clients the sort is not an
        # index walk, a deep offset walks that far, and counting scans what matches.
        execute = off_loop(self._c)
        rows = (await execute(
            select(alert_instances).where(*conditions)
            .order_by(c.triggered_at.desc(), c.id.desc()).limit(page.limit).offset(page.offset))).all()
        if page.offset == 0 and len(rows) < page.limit:
            total = len(rows)
        else:
            total = (await execute(select(func.count()).select_from(alert_instances)
                                   .where(*conditions))).scalar_one()
        return OffsetPage(items=[_instance(r) for r in rows], total_items=total, request=page)
