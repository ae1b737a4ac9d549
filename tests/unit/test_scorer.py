"""The default scorer (WeightedScorer): bounds, determinism, monotonicity, weights, input checks,
explanations, and worked examples; FixedScorer."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from catalyst_adapters.scoring import FixedScorer, WeightedScorer, seniority_of
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

def test_a_lead_with_no_signals_says_so() -> None:
    result = score({"utm_source": "newsletter"})
    assert result.components == {"engagement": 0.0, "demographic": 0.5, "behavioral": 0.0}
    assert result.score == pytest.approx(0.3 * 0.5)
    assert list(result.explanation) == ["no engagement or fit signals"]


def test_engagement_uses_saturating_curves() -> None:
    # Points x sat(x, k) = x / (x + k): page views 5 (k=5) 0.30 x 1/2; form submissions 1 (k=1)
    # 0.40 x 1/2; time 180 s (k=180) 0.25 x 1/2.
    result = score({"page_views": 5, "form_submissions": 1, "time_on_site": 180})
    assert result.components["engagement"] == pytest.approx(0.5 * (0.30 + 0.40 + 0.25))
    assert result.score == pytest.approx(0.4 * 0.475 + 0.3 * 0.5)
    assert list(result.explanation) == ["1 form submission", "5 page views", "3 minutes on site"]


IDEAL = IdealCustomer(("director", "vp"), 10, 1_000, ("saas",), ("DE", "US"))


def test_a_good_fit_and_a_hot_lead() -> None:
    scoring = ScoringSettings(CLIENT, ideal_customer=IDEAL)
    raw = {"page_views": 15, "time_on_site": 180, "form_submissions": 1, "email_opens": 3,
           "email_clicks": 1, "job_title": "Marketing Director", "company_size": 250,
           "industry": " SaaS ", "country": "de", "days_since_last_activity": 0,
           "pricing_page_views": 1, "demo_requested": False}
    result = score(raw, scoring)
    engagement = 0.30 * 15 / 20 + 0.25 * 0.5 + 0.40 * 0.5 + 0.15 * 0.5 + 0.20 * 0.5
    behavioral = 0.55 * 1.0 + 0.30 * 0.5
    assert engagement == pytest.approx(0.725) and behavioral == pytest.approx(0.7)
    assert result.components["engagement"] == pytest.approx(engagement)
    assert result.components["demographic"] == pytest.approx(1.0)
    assert result.components["behavioral"] == pytest.approx(behavioral)
    assert result.score == pytest.approx(0.4 * 0.725 + 0.3 * 1.0 + 0.3 * 0.7)  # 0.8
    assert scoring.thresholds.label(result.score).value == "hot"
    # Effects: page views 0.4 x 0.30 x 0.75 = 0.09, recency 0.3 x 0.55 x (1 - 0.5) = 0.0825,
    # forms 0.4 x 0.40 x 0.5 = 0.08, seniority 0.3 x 0.35 x (1 - 0.5) = 0.0525, ...
    assert list(result.explanation) == ["15 page views", "active in the last day", "1 form submission"]
    # With the demographic weight up, the fit comes first (company size and industry tie: the
    # factors' fixed order breaks it).
    fit_first = ScoringSettings(CLIENT, Weights(0.2, 0.6, 0.2), IDEAL)
    assert list(score(raw, fit_first).explanation) == [
        "Director-level title matches the ideal customer",
        "company size 250 fits the ideal customer (10 to 1,000 employees)",
        "industry SaaS matches the ideal customer"]


def test_points_are_capped_so_an_all_out_lead_scores_one() -> None:
    raw = {"page_views": 20, "time_on_site": 540, "form_submissions": 5, "email_opens": 9,
           "email_clicks": 3, "job_title": "VP Sales", "company_size": 250, "industry": "saas",
           "country": "US", "days_since_last_activity": 0, "pricing_page_views": 3,
           "demo_requested": True}
    result = score(raw, ScoringSettings(CLIENT, ideal_customer=IDEAL))
    # engagement 0.24 + 0.1875 + 0.3333 + 0.1125 + 0.15 > 1; behaviour 0.55 + 0.225 + 0.45 > 1
    assert result.components == {"engagement": 1.0, "demographic": 1.0, "behavioral": 1.0}
    assert result.score == 1.0
    assert list(result.explanation) == ["requested a demo", "5 form submissions", "20 page views"]


def test_a_stale_misfit_explains_what_held_it_back() -> None:
    scoring = ScoringSettings(CLIENT, ideal_customer=IdealCustomer(countries=("US",)))
    result = score({"job_title": "Marketing Intern", "company_size": 5, "country": "fr",
                    "days_since_last_activity": 90}, scoring)
    # seniority 0, company size 5/10 (as neutral), industry neutral, country 0
    assert result.components["demographic"] == pytest.approx(0.25 * 0.5 + 0.25 * 0.5)
    assert result.components["behavioral"] == pytest.approx(0.55 * 14 / 104)
    # Effects: recency 0.3 x 0.55 x |14/104 - 0.5| = 0.060, seniority 0.3 x 0.35 x 0.5 = 0.0525,
    # country 0.3 x 0.15 x 0.5 = 0.0225; company size 0.
    assert list(result.explanation) == [
        "no activity for 90 days", "Intern-level title is outside the ideal customer",
        "country FR is outside the ideal customer"]
    assert scoring.thresholds.label(result.score).value == "cold"


def test_company_size_outside_the_range_counts_by_ratio() -> None:
    scoring = ScoringSettings(CLIENT, ideal_customer=IdealCustomer((), 10, 1_000))
    def size_fit(n: int) -> float:
        return (score({"company_size": n}, scoring).components["demographic"] - 0.75 * 0.5) / 0.25
    assert size_fit(5) == pytest.approx(0.5)
    assert size_fit(10) == size_fit(1_000) == pytest.approx(1.0)
    assert size_fit(4_000) == pytest.approx(0.25)
    assert size_fit(0) == pytest.approx(0.0)
    assert "company size 4,000 is outside the ideal customer (10 to 1,000 employees)" in \
        score({"company_size": 4_000}, scoring).explanation


def test_empty_lists_in_the_settings_are_neutral() -> None:
    scoring = ScoringSettings(CLIENT, ideal_customer=IdealCustomer((), 10, 1_000, (), ()))
    result = score({"job_title": "CEO", "industry": "saas", "country": "us", "company_size": 50}, scoring)
    assert result.components["demographic"] == pytest.approx(0.35 * 0.5 + 0.25 + 0.25 * 0.5 + 0.15 * 0.5)


def test_recency_from_a_timestamp() -> None:
    def behavioral(raw: dict[str, Any]) -> float:
        return score(raw).components["behavioral"]
    two_weeks_ago = (NOW - timedelta(days=14)).isoformat()
    assert behavioral({"last_activity_at": two_weeks_ago}) == pytest.approx(0.55 * 0.5)
    assert behavioral({"last_activity_at": two_weeks_ago.replace("+00:00", "Z")}) == pytest.approx(0.55 * 0.5)
    naive = (NOW - timedelta(days=14)).replace(tzinfo=None).isoformat()
    assert behavioral({"last_activity_at": naive}) == pytest.approx(0.55 * 0.5)  # no zone: UTC
    future = (NOW + timedelta(days=30)).isoformat()
    assert behavioral({"last_activity_at": future}) == pytest.approx(0.55)  # the future counts as now
    # Both given: the more recent one counts.
    assert behavioral({"last_activity_at": two_weeks_ago, "days_since_last_activity": 0}) == \
        pytest.approx(0.55)
    assert behavioral({"last_activity_at": two_weeks_ago, "days_since_last_activity": 400}) == \
        pytest.approx(0.55 * 0.5)
    assert behavioral({"last_activity_at": "0001-01-01T00:00:00+14:00"}) >= 0.0


def test_a_seniority_overrides_the_title() -> None:
    assert score({"job_title": "Intern", "seniority": "C-Level"}).components == \
        score({"seniority": "c_level"}).components
    assert "C-level seniority matches the ideal customer" in score({"seniority": "c_level"}).explanation


@pytest.mark.parametrize(("title", "seniority"), [
    ("CEO", "c_level"), ("Co-Founder & CEO", "owner"), ("Owner", "owner"), ("President", "c_level"),
    ("Vice President, Sales", "vp"), ("SVP Marketing", "vp"), ("Chief Marketing Officer", "c_level"),
    ("Marketing Director", "director"), ("Head of Growth", "director"), ("Sales Manager", "manager"),
    ("Senior Software Engineer", "senior"), ("Junior Analyst", "entry"), ("Marketing Intern", "intern"),
    ("Executive Assistant to the CEO", "entry"), ("International Sales Director", "director"),
    ("Product Owner", None), ("Engineer", None), ("", None),
])
def test_job_titles_map_to_seniorities(title: str, seniority: str | None) -> None:
    assert seniority_of(title) == seniority
    assert seniority_of(title.upper()) == seniority


# -- FixedScorer ------------------------------------------------------------------------------------

def test_the_fixed_scorer_answers_its_score() -> None:
    result = FixedScorer(0.8).score({"anything": 1}, DEFAULTS, now=NOW)
    assert result == ScoreResult(0.8, {"engagement": 0.8, "demographic": 0.8, "behavioral": 0.8}, ("fixed",))
    parts = {"engagement": 0.1, "demographic": 0.2, "behavioral": 0.3}
    assert FixedScorer(0.5, parts, ["because"]).score({}, DEFAULTS, now=NOW).components == parts
    for bad in (lambda: FixedScorer(1.5), lambda: FixedScorer(0.5, {"engagement": 0.5}),
                lambda: FixedScorer(0.5, explanation=())):
        with pytest.raises(ValueError):
            bad()
