"""Alerts and alert instances, with the lifecycle rules that keep them consistent.

An alert watches one metric of the registry at one level of the ad account (ad, ad set, campaign or
the whole account) over a window of whole days. Each entity that breaks the condition is recorded
as an alert instance; while that instance is still `triggered`, a new firing for the same entity
updates it instead of opening another."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import datetime, time
from decimal import Decimal
from typing import Any, NewType

from attrs import define, frozen

from catalyst_core.errors import Conflict
from catalyst_core.ids import ClientId, TaskId, UserId
from catalyst_core.tasks.model import Priority, TaskType

AlertId = NewType("AlertId", uuid.UUID)
InstanceId = NewType("InstanceId", uuid.UUID)

MAX_ALERT_NAME = 200
MAX_ALERT_DESCRIPTION = 2_000
MAX_RESOLUTION_NOTES = 10_000
MAX_ALERTS_PER_CLIENT = 200
MAX_WINDOW_DAYS = 366
DEFAULT_WINDOW_DAYS = 7


class Operator(enum.StrEnum):
    GREATER_THAN = "greater_than"
    LESS_THAN = "less_than"
    GREATER_THAN_OR_EQUAL = "greater_than_or_equal"
    LESS_THAN_OR_EQUAL = "less_than_or_equal"
    EQUAL = "equal"
    PERCENT_ABOVE_AVERAGE = "percent_above_average"
    PERCENT_BELOW_AVERAGE = "percent_below_average"

    @property
    def against_average(self) -> bool:
        return self in (Operator.PERCENT_ABOVE_AVERAGE, Operator.PERCENT_BELOW_AVERAGE)


class DataLevel(enum.StrEnum):
    AD = "ad"
    ADSET = "adset"
    CAMPAIGN = "campaign"
    ACCOUNT = "account"


class FrequencyType(enum.StrEnum):
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"


class Weekday(enum.StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def number(self) -> int:
        """Monday 0 .. Sunday 6, as date.weekday() counts."""
        return list(Weekday).index(self)


class InstanceStatus(enum.StrEnum):
    TRIGGERED = "triggered"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


@frozen
class Condition:
    """`field operator value` per entity over the `window_days` whole days before today; entities
    that spent less than `min_spend` in the window are not considered. For the percent operators
    `value` is a percent of the account average (20: 20 % above or below it)."""

    field: str
    operator: Operator
    value: Decimal
    window_days: int = DEFAULT_WINDOW_DAYS
    min_spend: Decimal = Decimal(0)


@frozen
class Action:
    """What a new instance does besides being recorded: optionally open a task."""

    create_task: bool = False
    assignees: tuple[UserId, ...] = ()
    task_type: TaskType = TaskType.REVIEW_REPORT
    priority: Priority = Priority.HIGH


@frozen
class Frequency:
    """When the scheduler runs the alert: every hour on the hour, daily at `at`, or weekly on `day`
    at `at`, all in the IANA `timezone`."""

    type: FrequencyType = FrequencyType.DAILY
    at: time = time(5, 0)
    timezone: str = "UTC"
    day: Weekday | None = None


@define
class Alert:
    id: AlertId
    client_id: ClientId
    name: str
    description: str | None
    alert_type: str
    is_enabled: bool
    is_default: bool
    data_level: DataLevel
    condition: Condition
    action: Action
    data_source: str
    frequency: Frequency
    created_by: UserId
    created_at: datetime
    updated_at: datetime
    # The next slot the scheduler runs this alert at (None while disabled), and the last run.
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None

    @property
    def thresholds(self) -> dict[str, Decimal]:
        """`custom_config.thresholds` of the wire: the condition's value under its metric."""
        return {self.condition.field: self.condition.value}


@define
class AlertInstance:
    """One offending entity of one alert. `entity_key` identifies the entity within the alert
    (its level and ids); `alert_data` is what the latest firing saw."""

    id: InstanceId
    alert_id: AlertId
    client_id: ClientId
    alert_name: str
    entity_key: str
    alert_data: Mapping[str, Any]
    status: InstanceStatus
    triggered_at: datetime
    last_seen_at: datetime
    trigger_count: int = 1
    task_id: TaskId | None = None
    resolved_at: datetime | None = None
    resolved_by: UserId | None = None
    resolution_notes: str | None = None
    # Bumped on every save; storage refuses a stale save (two concurrent decisions: one wins).
    version: int = 1

    def seen_again(self, alert_data: Mapping[str, Any], *, alert_name: str, now: datetime) -> None:
        self.alert_data, self.alert_name = alert_data, alert_name
        self.last_seen_at = now
        self.trigger_count += 1

    def close(self, status: InstanceStatus, *, by: UserId, now: datetime,
              notes: str | None = None) -> None:
        """Resolve or dismiss: only a triggered instance moves, and only once."""
        if self.status is not InstanceStatus.TRIGGERED:
            raise Conflict(f"alert instance is already {self.status.value}")
        self.status, self.resolved_by, self.resolved_at = status, by, now
        self.resolution_notes = notes


@frozen
class InstanceQuery:
    """Filters of the instance list. `visible_to` limits to the clients a user belongs to (None: all)."""

    visible_to: UserId | None = None
    client_id: ClientId | None = None
    alert_id: AlertId | None = None
    status: InstanceStatus | None = None
