"""The default scorer (WeightedScorer), as properties: bounds, determinism, monotonicity, weights,
input checks. Worked examples and explanations, and FixedScorer: test_scorer_examples.py."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from catalyst_adapters.scoring import WeightedScorer
from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId
from catalyst_core.leads.model import COMPONENTS, IdealCustomer, ScoringSettings, Weights
from catalyst_core.leads.settings import SENIORITIES
from catalyst_core.ports import ScoreResult

CLIENT = ClientId(uuid.UUID(int=1))
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DEFAULTS = ScoringSettings(CLIENT)
SCORER = WeightedScorer()

WHOLE_KEYS = ("page_views", "form_submissions", "email_opens", "email_clicks", "pricing_page_views")
ENGAGEMENT_KEYS = ("page_views", "time_on_site", "form_submissions", "email_opens", "email_clicks")
TITLES = ("CEO", "Founder", "VP Marketing", "Marketing Director", "Head of Sales", "Sales Manager",
          "Senior Engineer", "Junior Analyst", "Marketing Intern", "Engineer", "", "   ")
INDUSTRIES = ("SaaS", "retail", "Health  Care", "fintech", "Manufacturing")
COUNTRIES = ("US", "de", "Fr", "GB", "nl")


def score(raw: dict[str, Any], scoring: ScoringSettings = DEFAULTS, now: datetime = NOW) -> ScoreResult:
    return SCORER.score(raw, scoring, now=now)


def problems(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        score(raw)
    return caught.value.fields


# -- strategies -----------------------------------------------------------------------------------

whole = st.one_of(st.integers(0, 10**6), st.integers(0, 10**20),
                  st.integers(0, 10**6).map(float))
amount = st.one_of(st.floats(0, 1e6, allow_nan=False, allow_infinity=False), st.integers(0, 10**7),
                   st.floats(0, 1e300, allow_nan=False, allow_infinity=False))
timestamps = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2027, 1, 1),
                          timezones=st.sampled_from([UTC, None]))

leads = st.fixed_dictionaries({}, optional={
    "page_views": whole, "time_on_site": amount, "form_submissions": whole, "email_opens": whole,
    "email_clicks": whole, "pricing_page_views": whole, "demo_requested": st.booleans(),
    "job_title": st.one_of(st.sampled_from(TITLES), st.text(max_size=40)),
    "seniority": st.sampled_from((*SENIORITIES, "C-Level", " VP ")),
    "company_size": whole,
    "industry": st.sampled_from(INDUSTRIES),
    "country": st.sampled_from(COUNTRIES),
    "last_activity_at": timestamps.map(lambda t: t.isoformat()),
    "days_since_last_activity": amount,
    "utm_campaign": st.text(max_size=10),
})

weight = st.one_of(st.just(0.0), st.floats(0, 1000, allow_nan=False))
weights = st.tuples(weight, weight, weight).filter(lambda w: sum(w) > 0).map(lambda w: Weights(*w))
ideal_customers = st.builds(
    lambda seniorities, low, span, industries, countries: IdealCustomer(
        tuple(seniorities), low, low + span, tuple(" ".join(i.split()).lower() for i in industries),
        tuple(c.upper() for c in countries)),
    st.lists(st.sampled_from(SENIORITIES), unique=True, max_size=4), st.integers(0, 5_000),
    st.integers(0, 100_000), st.lists(st.sampled_from(INDUSTRIES), unique=True, max_size=3),
    st.lists(st.sampled_from(COUNTRIES), unique=True, max_size=3))
scoring_settings = st.builds(lambda w, i: ScoringSettings(CLIENT, w, i), weights, ideal_customers)


# -- properties -----------------------------------------------------------------------------------

@settings(max_examples=300)
@given(leads, scoring_settings)
def test_every_score_and_component_stays_in_0_1_and_the_explanation_is_never_empty(
        raw: dict[str, Any], scoring: ScoringSettings) -> None:
    result = score(raw, scoring)
    assert 0.0 <= result.score <= 1.0
    assert set(result.components) == set(COMPONENTS)
    assert all(0.0 <= v <= 1.0 and math.isfinite(v) for v in result.components.values())
    assert 1 <= len(result.explanation) <= 3
    assert all(isinstance(line, str) and line for line in result.explanation)


@given(leads, scoring_settings)
def test_scoring_is_deterministic(raw: dict[str, Any], scoring: ScoringSettings) -> None:
    first = score(raw, scoring)
    assert score(dict(raw), scoring) == first
    assert WeightedScorer().score(dict(raw), scoring, now=NOW) == first


@given(leads, scoring_settings, st.dictionaries(st.text(max_size=12), st.none() | st.integers() | st.text()
                                                 | st.lists(st.integers(), max_size=3), max_size=4))
def test_unknown_keys_are_ignored(raw: dict[str, Any], scoring: ScoringSettings,
                                  extra: dict[str, Any]) -> None:
    known = set(leads_keys())
    noisy = {k: v for k, v in extra.items() if k not in known} | raw
    assert score(noisy, scoring) == score(raw, scoring)


def leads_keys() -> tuple[str, ...]:
    return ("page_views", "time_on_site", "form_submissions", "email_opens", "email_clicks",
            "pricing_page_views", "demo_requested", "job_title", "seniority", "company_size",
            "industry", "country", "last_activity_at", "days_since_last_activity")


REASONS = {
    "engagement": re.compile(r"^[\d,]+ (page views?|form submissions?|email)|on site$"),
    "demographic": re.compile(r"ideal customer"),
    "behavioral": re.compile(r"demo|pricing|activ"),
}


def not_lower(before: ScoreResult, after: ScoreResult) -> None:
    assert after.score >= before.score
    for name in COMPONENTS:
        assert after.components[name] >= before.components[name], name


@pytest.mark.parametrize("key", WHOLE_KEYS)
@settings(max_examples=150)
@given(raw=leads, scoring=scoring_settings, base=whole, more=whole)
def test_more_of_a_counted_signal_never_lowers_the_score(key: str, raw: dict[str, Any],
                                                         scoring: ScoringSettings, base: Any,
                                                         more: Any) -> None:
    not_lower(score(raw | {key: base}, scoring), score(raw | {key: base + more}, scoring))
    absent = {k: v for k, v in raw.items() if k != key}
    not_lower(score(absent, scoring), score(absent | {key: more}, scoring))


@settings(max_examples=200)
@given(raw=leads, scoring=scoring_settings, base=amount, more=amount)
def test_more_time_on_site_never_lowers_the_score(raw: dict[str, Any], scoring: ScoringSettings,
                                                  base: Any, more: Any) -> None:
    not_lower(score(raw | {"time_on_site": base}, scoring),
              score(raw | {"time_on_site": base + more}, scoring))


@given(raw=leads, scoring=scoring_settings)
def test_a_demo_request_never_lowers_the_score(raw: dict[str, Any], scoring: ScoringSettings) -> None:
    not_lower(score(raw | {"demo_requested": False}, scoring),
              score(raw | {"demo_requested": True}, scoring))


@settings(max_examples=200)
@given(raw=leads, scoring=scoring_settings, days=amount, fewer=amount)
def test_fewer_days_since_the_last_activity_never_lowers_the_score(
        raw: dict[str, Any], scoring: ScoringSettings, days: Any, fewer: Any) -> None:
    raw = {k: v for k, v in raw.items() if k != "last_activity_at"}
    assume(fewer <= days)
    not_lower(score(raw | {"days_since_last_activity": days}, scoring),
              score(raw | {"days_since_last_activity": fewer}, scoring))


@settings(max_examples=200)
@given(raw=leads, scoring=scoring_settings, earlier=timestamps, later=timestamps)
def test_a_later_last_activity_never_lowers_the_score(raw: dict[str, Any], scoring: ScoringSettings,
                                                      earlier: datetime, later: datetime) -> None:
    raw = {k: v for k, v in raw.items() if k != "days_since_last_activity"}
    earlier, later = sorted([earlier.replace(tzinfo=UTC), later.replace(tzinfo=UTC)])
    not_lower(score(raw | {"last_activity_at": earlier.isoformat()}, scoring),
              score(raw | {"last_activity_at": later.isoformat()}, scoring))


@settings(max_examples=200)
@given(raw=leads, other=leads, scoring=scoring_settings, zero=st.sampled_from(COMPONENTS))
def test_a_zero_weight_removes_a_components_influence_exactly(
        raw: dict[str, Any], other: dict[str, Any], scoring: ScoringSettings, zero: str) -> None:
    w = {name: getattr(scoring.weights, name) for name in COMPONENTS} | {zero: 0.0}
    assume(sum(w.values()) > 0)
    scoring = ScoringSettings(CLIENT, Weights(**w), scoring.ideal_customer)
    # Feed the zero-weighted component another lead's signals; keep the others' inputs.
    keys = {"engagement": set(ENGAGEMENT_KEYS),
            "demographic": {"job_title", "seniority", "company_size", "industry", "country"},
            "behavioral": {"last_activity_at", "days_since_last_activity", "pricing_page_views",
                           "demo_requested"}}[zero]
    mixed = {k: v for k, v in raw.items() if k not in keys} | {k: v for k, v in other.items() if k in keys}
    assert score(mixed, scoring).score == score(raw, scoring).score
    for line in score(mixed, scoring).explanation:  # nor is it named as a reason
        assert not REASONS[zero].search(line), line


@settings(max_examples=200)
@given(raw=leads, scoring=scoring_settings, factor=st.floats(0.001, 1000))
def test_the_score_is_the_weighted_mean_of_the_components(raw: dict[str, Any], scoring: ScoringSettings,
                                                          factor: float) -> None:
    result = score(raw, scoring)
    weights = scoring.weights.normalised()
    assert result.score == pytest.approx(sum(weights[n] * result.components[n] for n in COMPONENTS),
                                         abs=1e-12)
    w = scoring.weights
    scaled = ScoringSettings(CLIENT, Weights(w.engagement * factor, w.demographic * factor,
                                             w.behavioral * factor), scoring.ideal_customer)
    assume(sum(getattr(scaled.weights, n) for n in COMPONENTS) > 0)
    assert score(raw, scaled).score == pytest.approx(result.score, abs=1e-9)


@pytest.mark.parametrize("only", COMPONENTS)
def test_a_single_weighted_component_is_the_score(only: str) -> None:
    scoring = ScoringSettings(CLIENT, Weights(**{n: (5.0 if n == only else 0.0) for n in COMPONENTS}))
    raw = {"page_views": 7, "job_title": "CTO", "company_size": 3, "days_since_last_activity": 3}
    result = score(raw, scoring)
    assert result.score == result.components[only]


# -- input checks ----------------------------------------------------------------------------------

BAD_VALUES: dict[str, list[Any]] = {
    "page_views": [-1, 1.5, True, "10", float("nan"), float("inf"), [3], {"n": 1}],
    "time_on_site": [-0.5, False, "300", float("nan"), float("-inf"), float("inf")],
    "form_submissions": [-3, 0.1, True],
    "email_opens": [-1, "2"],
    "email_clicks": [2.5, False],
    "pricing_page_views": [-2, "many"],
    "demo_requested": [1, 0, "yes", "true"],
    "job_title": [12, ["CEO"], True],
    "seniority": ["boss", 3, "chief"],
    "company_size": [-10, 12.5, "50", True, float("nan")],
    "industry": [5, ["saas"]],
    "country": ["Germany", "D", "U5", 49, "ÄÖ"],
    "last_activity_at": ["yesterday", 1700000000, "2024-13-01T00:00:00Z", "", True],
    "days_since_last_activity": [-1, "3", True, float("nan")],
}


@pytest.mark.parametrize(("key", "value"), [(k, v) for k, vs in BAD_VALUES.items() for v in vs])
def test_a_known_key_of_the_wrong_type_or_range_is_named(key: str, value: Any) -> None:
    assert set(problems({key: value, "page_views" if key != "page_views" else "email_opens": 2,
                         "note": object()})) == {f"raw_data.{key}"}


@given(st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in BAD_VALUES.items()}),
       leads)
def test_every_bad_key_is_named_at_once(bad: dict[str, Any], good: dict[str, Any]) -> None:
    assume(bad)
    fields = problems(good | bad)
    assert set(fields) == {f"raw_data.{k}" for k in bad}
    assert all(message.startswith("must ") for message in fields.values())


def test_nulls_and_blank_texts_count_as_absent() -> None:
    empty = score({})
    assert score({k: None for k in leads_keys()}) == empty
    assert score({"job_title": "  ", "industry": "", "country": " ", "seniority": ""}) == empty


def test_boundaries_zero_huge_and_whole_floats() -> None:
    assert score({"page_views": 0, "time_on_site": 0.0, "pricing_page_views": 0}) == score({})
    huge = score({"page_views": 10**18, "form_submissions": 10**400, "time_on_site": 1e300,
                  "email_opens": 10**18, "email_clicks": 10**18, "company_size": 10**30})
    assert huge.components["engagement"] == pytest.approx(1.0, abs=1e-12)
    assert huge.components["engagement"] <= 1.0
    assert score({"page_views": 3.0}) == score({"page_views": 3})
    stale = score({"days_since_last_activity": 10**400})
    assert stale.components["behavioral"] == pytest.approx(0, abs=1e-12)
    assert 0.0 <= huge.score <= 1.0


# -- worked examples ---------------------------------------------------------------------------------
