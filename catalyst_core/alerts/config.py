"""An alert's configuration as callers send it: parsed and checked in one pass, so one InvalidInput
names every bad field (`condition_config.operator`, `frequency.timezone`, ...), and nothing is
stored unless all of it is valid.

The input is the JSON object of the wire (a mapping of plain values); an update is the stored
configuration in the same form with the caller's keys merged in, checked as a whole again."""

from __future__ import annotations

import functools
import re
import uuid
import zoneinfo
from collections.abc import Mapping
from datetime import time
from decimal import Decimal
from typing import Any

from attrs import frozen

from catalyst_core.alerts.model import (
    DEFAULT_WINDOW_DAYS,
    MAX_ALERT_DESCRIPTION,
    MAX_ALERT_NAME,
    MAX_WINDOW_DAYS,
    Action,
    Condition,
    DataLevel,
    Frequency,
    FrequencyType,
    Operator,
    Weekday,
)
from catalyst_core.errors import InvalidInput
from catalyst_core.ids import UserId
from catalyst_core.metrics.registry import METRIC_NAMES, is_metric
from catalyst_core.tasks.model import MAX_ASSIGNEES, Priority, TaskType
from catalyst_core.validation import (
    Bad,
    Problems,
    boolean,
    choice,
    decimal_number,
    int_between,
    object_of,
    text,
)

# The data Catalyst evaluates alerts on: its own performance data. The reference's
# `dm_alert.alert_<metric>` names are accepted for the metric they name.
PERFORMANCE_SOURCE = "catalyst.performance"
LEGACY_SOURCE_PREFIX = "dm_alert.alert_"
DATA_SOURCES = (PERFORMANCE_SOURCE, *(LEGACY_SOURCE_PREFIX + name for name in METRIC_NAMES))
MAX_THRESHOLD = Decimal(10) ** 15
# An alert configured without a frequency runs daily at 05:00 UTC, as the reference's example does
# in its own time zone.
DEFAULT_FREQUENCY = {"type": "daily", "time": "05:00", "timezone": "UTC"}
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

_TOP_KEYS = frozenset({"name", "description", "alert_type", "is_enabled", "data_level",
                       "condition_config", "action_config", "data_source", "frequency",
                       "custom_config"})
_CONDITION_KEYS = frozenset({"field", "operator", "value", "window_days", "min_spend"})
_ACTION_KEYS = frozenset({"create_task", "assignees", "task_type", "priority"})
_FREQUENCY_KEYS = frozenset({"type", "time", "timezone", "day"})
_CUSTOM_KEYS = frozenset({"frequency", "thresholds"})


@frozen
class AlertConfig:
    """Everything a caller configures about an alert."""

    name: str
    description: str | None
    alert_type: str
    is_enabled: bool
    data_level: DataLevel
    condition: Condition
    action: Action
    data_source: str
    frequency: Frequency


@functools.cache
def timezones() -> frozenset[str]:
    """The IANA names this system knows (the `tzdata` package keeps them current everywhere)."""
    return frozenset(zoneinfo.available_timezones())


def _threshold(raw: Any) -> Decimal:
    return decimal_number(raw, MAX_THRESHOLD)


def _metric(raw: Any) -> str:
    if not isinstance(raw, str) or not is_metric(raw):
        raise Bad("must be a metric of the registry: " + ", ".join(METRIC_NAMES))
    return raw


def _clock_time(raw: Any) -> time:
    if not isinstance(raw, str) or not _TIME.match(raw):
        raise Bad("must be a time of day as HH:MM (00:00 to 23:59)")
    return time(int(raw[:2]), int(raw[3:]))


def _timezone(raw: Any) -> str:
    if not isinstance(raw, str) or raw not in timezones():
        raise Bad("must be an IANA time zone name, such as America/Los_Angeles")
    return raw


def _assignees(raw: Any) -> tuple[UserId, ...]:
    if not isinstance(raw, list):
        raise Bad("must be a list of user ids")
    ids: list[UserId] = []
    for item in raw:
        try:
            ids.append(UserId(uuid.UUID(item)))
        except (TypeError, ValueError, AttributeError):
            raise Bad("must be a list of user ids") from None
    unique = tuple(dict.fromkeys(ids))
    if len(unique) > MAX_ASSIGNEES:
        raise Bad(f"at most {MAX_ASSIGNEES} assignees")
    return unique


def _condition(problems: Problems, raw: Mapping[str, Any], alert_type: str | None) -> Condition | None:
    p = "condition_config"
    field = problems.take(f"{p}.field", _metric, raw.get("field", alert_type))
    operator = problems.take(f"{p}.operator", choice(Operator), raw.get("operator"))
    value = None
    if "value" not in raw:
        problems.add(f"{p}.value", "is required")
    else:
        value = problems.take(f"{p}.value", _threshold, raw["value"])
    window = problems.take(f"{p}.window_days", int_between(1, MAX_WINDOW_DAYS),
                           raw.get("window_days", DEFAULT_WINDOW_DAYS))
    min_spend = problems.take(f"{p}.min_spend", _threshold, raw.get("min_spend", 0))
    if None in (field, operator, value, window, min_spend):
        return None
    return Condition(field, operator, value, window, min_spend)


def _action(problems: Problems, raw: Mapping[str, Any]) -> Action | None:
    p = "action_config"
    defaults = Action()
    create = problems.take(f"{p}.create_task", boolean, raw.get("create_task", defaults.create_task))
    assignees = problems.take(f"{p}.assignees", _assignees, raw.get("assignees", []))
    task_type = problems.take(f"{p}.task_type", choice(TaskType),
                              raw.get("task_type", defaults.task_type.value))
    priority = problems.take(f"{p}.priority", choice(Priority),
                             raw.get("priority", defaults.priority.value))
    if None in (create, assignees, task_type, priority):
        return None
    return Action(create, assignees, task_type, priority)


def _frequency(problems: Problems, raw: Mapping[str, Any]) -> Frequency | None:
    p = "frequency"
    kind = problems.take(f"{p}.type", choice(FrequencyType), raw.get("type", "daily"))
    timezone = problems.take(f"{p}.timezone", _timezone, raw.get("timezone", "UTC"))
    at, day = time(0, 0), None
    if kind in (FrequencyType.DAILY, FrequencyType.WEEKLY):
        if raw.get("time") is None:
            problems.add(f"{p}.time", f"is required for a {kind.value} alert")
        else:
            at = problems.take(f"{p}.time", _clock_time, raw["time"])
    elif raw.get("time") is not None:
        problems.add(f"{p}.time", "an hourly alert runs on the hour; leave time out")
    if kind is FrequencyType.WEEKLY:
        if raw.get("day") is None:
            problems.add(f"{p}.day", "is required for a weekly alert")
        else:
            day = problems.take(f"{p}.day", choice(Weekday), raw["day"])
    elif raw.get("day") is not None:
        problems.add(f"{p}.day", "only a weekly alert runs on a day of the week")
    if kind is None or timezone is None or at is None or (kind is FrequencyType.WEEKLY and day is None):
        return None
    return Frequency(kind, at, timezone, day)


def _data_source(raw: Any, field: str | None) -> str:
    if raw is None:
        return PERFORMANCE_SOURCE
    if not isinstance(raw, str) or raw not in DATA_SOURCES:
        raise Bad(f"must be {PERFORMANCE_SOURCE} or {LEGACY_SOURCE_PREFIX}<metric>")
    if raw.startswith(LEGACY_SOURCE_PREFIX) and field is not None \
            and raw != LEGACY_SOURCE_PREFIX + field:
        raise Bad(f"{raw} holds another metric than the condition's {field}")
    return raw


def parse_config(raw: Any) -> AlertConfig:
    """A whole configuration from its wire form; InvalidInput names every bad field."""
    problems = Problems()
    top = object_of(problems, "", raw, _TOP_KEYS)
    if not isinstance(raw, Mapping):
        raise InvalidInput({"body": "must be a JSON object"})
    name = problems.take("name", text(MAX_ALERT_NAME, required=True), top.get("name"))
    description = problems.take("description", text(MAX_ALERT_DESCRIPTION, required=False),
                                top.get("description"))
    alert_type = problems.take("alert_type", _metric, top.get("alert_type"))
    is_enabled = problems.take("is_enabled", boolean, top.get("is_enabled", True))
    level = problems.take("data_level", choice(DataLevel), top.get("data_level", "ad"))
    custom = object_of(problems, "custom_config", top.get("custom_config"), _CUSTOM_KEYS)
    condition_raw = dict(object_of(problems, "condition_config", top.get("condition_config"),
                                 _CONDITION_KEYS))
    if "condition_config" not in top:
        problems.add("condition_config", "is required")
    _apply_thresholds(problems, custom.get("thresholds"), condition_raw,
                      condition_raw.get("field", alert_type))
    condition = _condition(problems, condition_raw, alert_type)
    action = _action(problems, object_of(problems, "action_config", top.get("action_config"),
                                       _ACTION_KEYS))
    frequency_raw = {**object_of(problems, "custom_config.frequency", custom.get("frequency"),
                               _FREQUENCY_KEYS),
                     **object_of(problems, "frequency", top.get("frequency"), _FREQUENCY_KEYS)}
    if "frequency" not in top and "frequency" not in custom:
        frequency_raw = dict(DEFAULT_FREQUENCY)
    frequency = _frequency(problems, frequency_raw)
    source = problems.take("data_source", lambda r: _data_source(r, condition and condition.field),
                           top.get("data_source"))
    if problems.fields:
        raise InvalidInput(problems.fields)
    return AlertConfig(name, description, alert_type, is_enabled, level, condition, action, source,
                       frequency)


def _apply_thresholds(problems: Problems, raw: Any, condition: dict[str, Any], field: Any) -> None:
    """`custom_config.thresholds` ({metric: value}, as lists show it) sets the condition's value."""
    if raw is None:
        return
    if not isinstance(raw, Mapping) or len(raw) != 1 or next(iter(raw)) != field:
        problems.add("custom_config.thresholds", f"must be {{{field!s}: value}}, the condition's metric")
        return
    condition["value"] = raw[field]


def config_wire(config: AlertConfig) -> dict[str, Any]:
    """The configuration in its input form: what `parse_config` turns back into `config`."""
    c, a, f = config.condition, config.action, config.frequency
    frequency: dict[str, Any] = {"type": f.type.value, "timezone": f.timezone}
    if f.type is not FrequencyType.HOURLY:
        frequency["time"] = f.at.strftime("%H:%M")
    if f.day is not None:
        frequency["day"] = f.day.value
    return {
        "name": config.name, "description": config.description, "alert_type": config.alert_type,
        "is_enabled": config.is_enabled, "data_level": config.data_level.value,
        "condition_config": {"field": c.field, "operator": c.operator.value, "value": c.value,
                             "window_days": c.window_days, "min_spend": c.min_spend},
        "action_config": {"create_task": a.create_task, "assignees": [str(u) for u in a.assignees],
                          "task_type": a.task_type.value, "priority": a.priority.value},
        "data_source": config.data_source, "frequency": frequency,
    }


_MERGED = ("condition_config", "action_config", "frequency")


def merged_config(current: AlertConfig, patch: Any) -> AlertConfig:
    """`current` with a partial update applied: top-level keys replace, the keys of the nested
    objects replace theirs (so `{"condition_config": {"value": 60}}` tunes only the threshold)."""
    if not isinstance(patch, Mapping):
        raise InvalidInput({"body": "must be a JSON object"})
    merged = config_wire(current)
    if "frequency" in patch or "custom_config" in patch:
        # A new frequency type starts from its own defaults, not from the old type's time or day.
        new_type = _frequency_type(patch)
        if new_type is not None and new_type != merged["frequency"]["type"]:
            merged["frequency"] = {"timezone": merged["frequency"]["timezone"]}
    patch = dict(patch)
    custom = patch.get("custom_config")
    if isinstance(custom, Mapping) and isinstance(custom.get("frequency"), Mapping) \
            and isinstance(patch.get("frequency", {}), Mapping):
        # The list's shape (`custom_config.frequency`) changes the same frequency as `frequency`;
        # folded in here, or the stored top-level frequency would win over it.
        patch["custom_config"] = {k: v for k, v in custom.items() if k != "frequency"}
        patch["frequency"] = {**custom["frequency"], **patch.get("frequency", {})}
    for key, value in patch.items():
        if key in _MERGED and isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return parse_config(merged)


def _frequency_type(patch: Mapping[str, Any]) -> Any:
    for holder in (patch.get("frequency"), (patch.get("custom_config") or {}).get("frequency")
                   if isinstance(patch.get("custom_config"), Mapping) else None):
        if isinstance(holder, Mapping) and "type" in holder:
            return holder["type"]
    return None


def default_configs() -> list[AlertConfig]:
    """The alerts every new client starts with: quiet on tiny budgets (`min_spend`), daily at 05:00
    UTC, recording instances without opening tasks until an admin asks for them."""
    daily = DEFAULT_FREQUENCY
    specs = [
        ("High CPLPV", "Cost per landing-page view above 5 over the last 7 days",
         "cplpv", "greater_than", "5", "50"),
        ("High CPL", "Cost per lead above 100 over the last 7 days",
         "cpl", "greater_than", "100", "100"),
        ("Low CTR", "Click-through rate under 0.5 % over the last 7 days",
         "ctr", "less_than", "0.005", "50"),
    ]
    return [parse_config({"name": name, "description": description, "alert_type": metric,
                          "data_level": "ad", "frequency": daily,
                          "condition_config": {"field": metric, "operator": operator, "value": value,
                                               "window_days": 7, "min_spend": min_spend}})
            for name, description, metric, operator, value, min_spend in specs]
