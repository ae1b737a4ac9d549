"""Alert configurations: every bad field named in one error; updates merge and check the whole."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalyst_core.alerts.config import config_wire, default_configs, merged_config, parse_config
from catalyst_core.alerts.model import DataLevel, FrequencyType, Operator, Weekday
from catalyst_core.errors import InvalidInput

REFERENCE_BODY: dict[str, Any] = {
    "name": "High CPLPV Alert",
    "description": "Alert when CPLPV exceeds threshold",
    "alert_type": "cplpv",
    "condition_config": {"field": "cplpv", "operator": "greater_than", "value": 50},
    "action_config": {"create_task": True, "assignees": [], "task_type": "review_report"},
    "data_source": "dm_alert.alert_cplpv",
    "frequency": {"type": "daily", "time": "05:00", "timezone": "America/Los_Angeles"},
}


def problems(raw: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse_config(raw)
    return caught.value.fields


def test_the_reference_body_is_a_valid_configuration() -> None:
    config = parse_config(REFERENCE_BODY)
    assert config.condition.operator is Operator.GREATER_THAN and config.condition.value == 50
    assert config.condition.window_days == 7 and config.condition.min_spend == 0
    assert config.data_level is DataLevel.AD and config.is_enabled
    assert config.frequency.at == time(5) and config.frequency.timezone == "America/Los_Angeles"


def test_every_bad_field_is_named_at_once() -> None:
    found = problems({
        "name": " ", "alert_type": "clicks_per_dollar", "data_level": "keyword",
        "condition_config": {"field": "ctr", "operator": "above", "value": -1, "window_days": 0,
                             "min_spend": "lots", "colour": "red"},
        "action_config": {"create_task": "yes", "assignees": ["not-a-uuid"], "priority": "Urgent"},
        "data_source": "bigquery.table",
        "frequency": {"type": "weekly", "time": "25:00", "timezone": "Mars/Olympus"},
        "extra": 1,
    })
    assert set(found) == {
        "name", "alert_type", "data_level", "condition_config.operator", "condition_config.value",
        "condition_config.window_days", "condition_config.min_spend", "condition_config.colour",
        "action_config.create_task", "action_config.assignees", "action_config.priority",
        "data_source", "frequency.time", "frequency.timezone", "frequency.day", "extra"}


def test_a_legacy_data_source_must_hold_the_conditions_metric() -> None:
    assert "data_source" in problems({**REFERENCE_BODY, "data_source": "dm_alert.alert_ctr"})


@pytest.mark.parametrize(("frequency", "field"), [
    ({"type": "hourly", "time": "05:00"}, "frequency.time"),
    ({"type": "daily"}, "frequency.time"),
    ({"type": "daily", "time": "05:00", "day": "monday"}, "frequency.day"),
    ({"type": "monthly"}, "frequency.type"),
    ({"type": "daily", "time": "5:00"}, "frequency.time"),
])
def test_frequency_rules(frequency: dict[str, Any], field: str) -> None:
    assert field in problems({**REFERENCE_BODY, "frequency": frequency})


@pytest.mark.parametrize("value", [True, None, "NaN", "Infinity", float("inf"), [1], "1e400"])
def test_a_threshold_is_a_finite_number(value: Any) -> None:
    body = {**REFERENCE_BODY, "condition_config": {"operator": "greater_than", "value": value}}
    assert "condition_config.value" in problems(body)


def test_a_body_that_is_not_an_object_is_refused() -> None:
    assert problems(["name"]) == {"body": "must be a JSON object"}


def test_an_update_merges_nested_objects_and_checks_the_whole() -> None:
    config = parse_config(REFERENCE_BODY)
    tuned = merged_config(config, {"condition_config": {"value": "60.5"}, "is_enabled": False})
    assert tuned.condition.value == Decimal("60.5") and tuned.condition.field == "cplpv"
    assert not tuned.is_enabled and tuned.frequency == config.frequency
    weekly = merged_config(config, {"frequency": {"type": "weekly", "day": "friday", "time": "07:30"}})
    assert weekly.frequency.type is FrequencyType.WEEKLY and weekly.frequency.day is Weekday.FRIDAY
    assert weekly.frequency.timezone == "America/Los_Angeles"
    hourly = merged_config(config, {"frequency": {"type": "hourly"}})  # the daily time is dropped
    assert hourly.frequency.type is FrequencyType.HOURLY
    by_threshold = merged_config(config, {"custom_config": {"thresholds": {"cplpv": 42}}})
    assert by_threshold.condition.value == 42
    with pytest.raises(InvalidInput) as caught:
        merged_config(config, {"custom_config": {"thresholds": {"ctr": 1}}, "name": ""})
    assert set(caught.value.fields) == {"custom_config.thresholds", "name"}


def test_default_alerts_are_high_cplpv_high_cpl_and_low_ctr_with_a_spend_floor() -> None:
    defaults = default_configs()
    assert [(c.condition.field, c.condition.operator) for c in defaults] == [
        ("cplpv", Operator.GREATER_THAN), ("cpl", Operator.GREATER_THAN), ("ctr", Operator.LESS_THAN)]
    assert all(c.condition.min_spend > 0 for c in defaults)


text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               min_size=1, max_size=50).filter(lambda s: s.strip() == s and s)


@settings(max_examples=100, deadline=None)
@given(name=text, description=st.none() | text, value=st.decimals(0, 10**6, places=4),
       operator=st.sampled_from(list(Operator)), level=st.sampled_from(list(DataLevel)),
       window=st.integers(1, 366), tz=st.sampled_from(["UTC", "Asia/Kolkata", "Europe/Paris"]))
def test_the_wire_form_of_a_configuration_parses_back_to_it(
        name: str, description: str | None, value: Decimal, operator: Operator, level: DataLevel,
        window: int, tz: str) -> None:
    config = parse_config({**REFERENCE_BODY, "name": name, "description": description,
                           "data_level": level.value, "data_source": None,
                           "frequency": {"type": "daily", "time": "23:59", "timezone": tz},
                           "condition_config": {"operator": operator.value, "value": str(value),
                                                "window_days": window}})
    assert parse_config(config_wire(config)) == config


def test_without_a_frequency_an_alert_runs_daily_at_five_utc() -> None:
    body = {key: value for key, value in REFERENCE_BODY.items() if key != "frequency"}
    frequency = parse_config(body).frequency
    assert (frequency.type, frequency.at, frequency.timezone) == (FrequencyType.DAILY, time(5), "UTC")
