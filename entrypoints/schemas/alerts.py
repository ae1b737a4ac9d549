"""Shapes of alerts and alert instances on the wire."""

from __future__ import annotations

import uuid
from typing import Any

from attrs import frozen

from catalyst_api.wire import encoded_list
from catalyst_core.alerts.config import config_wire
from catalyst_core.alerts.evaluation import Finding
from catalyst_core.alerts.model import Alert, AlertInstance, InstanceStatus
from catalyst_core.alerts.service import TestResult, TriggerResult, config_of
from catalyst_core.paging import OffsetPage, OffsetRequest


@frozen
class AlertScope:
    """`?client_id=`: which client's alerts (optional on lists and on an alert's own endpoints,
    where it must then name the alert's client)."""

    client_id: uuid.UUID | None = None


@frozen
class InstanceListQuery:
    """The instance list's filters (its paging is OffsetQuery)."""

    client_id: uuid.UUID | None = None
    alert_id: uuid.UUID | None = None
    status: InstanceStatus | None = None


@frozen
class OffsetQuery:
    """`?limit=&offset=`; the bounds are checked by OffsetRequest (422 past them)."""

    limit: int = 50
    offset: int = 0

    def offset_request(self) -> OffsetRequest:
        return OffsetRequest(limit=self.limit, offset=self.offset)


@frozen
class ResolveBody:
    resolution_notes: str | None = None


def present_alert(alert: Alert) -> dict[str, Any]:
    wire = config_wire(config_of(alert))
    return {
        "alert_id": alert.id, "client_id": alert.client_id, "name": alert.name,
        "description": alert.description, "alert_type": alert.alert_type,
        "is_enabled": alert.is_enabled, "is_default": alert.is_default,
        "data_level": alert.data_level, "data_source": alert.data_source,
        "condition_config": wire["condition_config"], "action_config": wire["action_config"],
        "custom_config": {"frequency": wire["frequency"], "thresholds": alert.thresholds},
        "next_run_at": alert.next_run_at, "last_run_at": alert.last_run_at,
        "created_by": alert.created_by, "created_at": alert.created_at,
        "updated_at": alert.updated_at,
    }


def present_instance(i: AlertInstance) -> dict[str, Any]:
    return {
        "id": i.id, "alert_id": i.alert_id, "alert_name": i.alert_name, "client_id": i.client_id,
        "triggered_at": i.triggered_at, "last_seen_at": i.last_seen_at,
        "trigger_count": i.trigger_count, "alert_data": i.alert_data, "status": i.status,
        "task_id": i.task_id, "resolved_at": i.resolved_at, "resolved_by": i.resolved_by,
        "resolution_notes": i.resolution_notes,
    }


def present_instances(page: OffsetPage[AlertInstance]) -> dict[str, Any]:
    return {"instances": [present_instance(i) for i in page.items], "total_items": page.total_items,
            "limit": page.request.limit, "offset": page.request.offset}


def present_trigger(result: TriggerResult) -> dict[str, Any]:
    return {"alert_name": result.alert_name, "instances_created": result.instances_created,
            "instances_updated": result.instances_updated,
            "instances_skipped": result.instances_skipped,
            "message": "Alert triggered successfully"}


async def present_test(result: TestResult) -> dict[str, Any]:
    findings: list[Finding] = list(result.findings)
    return {"alert_name": result.alert_name, "would_fire": result.would_fire,
            "instances": await encoded_list(lambda f: f.alert_data, findings)}
