"""Lead scoring settings: defaults, every bad field named at once, partial updates merged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId, UserId
from catalyst_core.leads.model import Label, Thresholds, Weights
from catalyst_core.leads.settings import merged_settings, parse_settings, settings_wire

CLIENT = ClientId(uuid.UUID(int=1))
USER = UserId(uuid.UUID(int=2))
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def problems(raw: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse_settings(CLIENT, raw)
    return caught.value.fields


def test_an_empty_body_is_the_defaults_and_the_wire_form_parses_back() -> None:
    settings = parse_settings(CLIENT, {})
    assert settings.weights == Weights() and settings.thresholds == Thresholds()
    assert parse_settings(CLIENT, settings_wire(settings)) == settings


def test_every_bad_field_is_named_at_once() -> None:
    found = problems({
        "weights": {"engagement": -1, "demographic": "high", "behavioral": True, "charm": 1},
        "ideal_customer": {"seniorities": ["wizard"], "company_size": {"min": 50, "max": "big"},
                           "countries": ["USA"], "industries": [""]},
        "thresholds": {"hot": 1.5, "warm": None},
        "colour": "red",
    })
    assert set(found) == {
        "weights.engagement", "weights.demographic", "weights.behavioral", "weights.charm",
        "ideal_customer.seniorities", "ideal_customer.company_size.max", "ideal_customer.countries",
        "ideal_customer.industries", "thresholds.hot", "thresholds.warm", "colour"}


def test_rules_between_fields() -> None:
    assert set(problems({"weights": {"engagement": 0, "demographic": 0, "behavioral": 0}})) == {"weights"}
    assert set(problems({"thresholds": {"hot": 0.5, "warm": 0.5}})) == {"thresholds"}
    assert set(problems({"ideal_customer": {"company_size": {"min": 500, "max": 10}}})) == {
        "ideal_customer.company_size"}
    assert problems([]) == {"body": "must be a JSON object"}


def test_values_are_normalised() -> None:
    ideal = parse_settings(CLIENT, {"ideal_customer": {
        "seniorities": [" VP ", "vp", "Director"], "countries": ["us", "De"],
        "industries": ["  Retail   Banking "]}}).ideal_customer
    assert ideal.seniorities == ("vp", "director") and ideal.countries == ("US", "DE")
    assert ideal.industries == ("retail banking",)


def test_an_update_merges_nested_objects_and_records_who_and_when() -> None:
    current = parse_settings(CLIENT, {"thresholds": {"hot": 0.8, "warm": 0.5}})
    updated = merged_settings(current, {"weights": {"engagement": 0},
                                        "ideal_customer": {"company_size": {"max": 50}}},
                              by=USER, at=NOW)
    assert updated.weights == Weights(0, 0.3, 0.3)
    assert (updated.ideal_customer.company_size_min, updated.ideal_customer.company_size_max) == (10, 50)
    assert updated.thresholds == Thresholds(0.8, 0.5)
    assert (updated.updated_by, updated.updated_at) == (USER, NOW)
    with pytest.raises(InvalidInput) as caught:
        merged_settings(current, {"thresholds": {"warm": 0.9}}, by=USER, at=NOW)
    assert set(caught.value.fields) == {"thresholds"}


@pytest.mark.parametrize(("score", "label"), [(0.0, Label.COLD), (0.39, Label.COLD), (0.4, Label.WARM),
                                              (0.69, Label.WARM), (0.7, Label.HOT), (1.0, Label.HOT)])
def test_labels_come_from_the_thresholds(score: float, label: Label) -> None:
    assert Thresholds().label(score) is label
