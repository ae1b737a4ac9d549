"""The default scorer (WeightedScorer) by worked examples: curves, fit, recency, titles and the
explanation each gives; and FixedScorer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from catalyst_adapters.scoring import seniority_of
from catalyst_adapters.scoring_fixed import FixedScorer
from catalyst_core.leads.model import IdealCustomer, ScoringSettings, Weights
from catalyst_core.ports import ScoreResult
from tests.unit.test_scorer import CLIENT, DEFAULTS, NOW, score


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
