"""The metric registry: exact sums, ratios of totals (never averages of ratios), undefined ratios,
money to the micro, and percent changes with their null rules (DESIGN.md §8 "Reports")."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalyst_core.metrics.model import MAX_CLIENT_MONEY_MICROS
from catalyst_core.metrics.registry import (
    BASE_NAMES,
    DERIVED_METRICS,
    DERIVED_NAMES,
    METRIC_NAMES,
    MICROS,
    ZERO,
    Totals,
    change,
    changes,
    exact,
    is_metric,
    money_from_micros,
    reported,
    total,
    values,
)

# The ratios as DESIGN.md and the product define them, in reporting units (money in currency units).
RATIOS = {
    "ctr": lambda t: Fraction(t["clicks"], t["impressions"]),
    "cpc": lambda t: Fraction(t["spend"], MICROS * t["clicks"]),
    "cpm": lambda t: Fraction(t["spend"] * 1000, MICROS * t["impressions"]),
    "cplpv": lambda t: Fraction(t["spend"], MICROS * t["landing_page_views"]),
    "cpl": lambda t: Fraction(t["spend"], MICROS * t["leads"]),
    "cpa": lambda t: Fraction(t["spend"], MICROS * t["conversions"]),
    "roas": lambda t: Fraction(t["revenue"], t["spend"]),
    "conversion_rate": lambda t: Fraction(t["conversions"], t["clicks"]),
}


def day(**amounts: int) -> Totals:
    return Totals.of(amounts)


def test_the_registry_names_every_metric_once() -> None:
    assert BASE_NAMES == ("spend", "impressions", "clicks", "landing_page_views", "leads", "conversions",
                          "revenue")
    assert set(DERIVED_NAMES) == set(RATIOS)
    assert len(set(METRIC_NAMES)) == len(METRIC_NAMES) == len(BASE_NAMES) + len(DERIVED_NAMES)
    assert all(is_metric(name) for name in METRIC_NAMES)
    assert not is_metric("cost") and not is_metric("")
    assert all(m.numerator in BASE_NAMES and m.denominator in BASE_NAMES for m in DERIVED_METRICS)


def test_totals_add_up_exactly_and_count_rows() -> None:
    a, b = day(spend=1, clicks=2), day(spend=10**30, impressions=7)
    assert (a + b)["spend"] == 10**30 + 1 and (a + b).rows == 2
    assert total([a, b, ZERO]) == a + b and total([]) == ZERO == Totals()
    assert ZERO.rows == 0 and set(ZERO.values) == {0}
    assert Totals.of({"leads": 3}, rows=5)["leads"] == 3 and Totals.of({}, rows=5).rows == 5


def test_ratios_come_from_totals_not_from_averages_of_daily_ratios() -> None:
    monday = day(spend=1_000_000, impressions=2, clicks=1, landing_page_views=1, leads=1, conversions=1,
                 revenue=4_000_000)
    tuesday = day(spend=99_000_000, impressions=98, clicks=0, landing_page_views=9, leads=0, conversions=0,
                  revenue=0)
    week = values(monday + tuesday)
    assert week["ctr"] == 0.01  # 1 click in 100 impressions; the mean of 0.5 and 0 would be 0.25
    assert week["cpc"] == 100.0  # 100.00 spent for one click
    assert week["cpm"] == 1000.0  # 100.00 for 100 impressions: 1000.00 per thousand
    assert week["cplpv"] == 10.0 and week["cpl"] == 100.0 and week["cpa"] == 100.0
    assert week["roas"] == 0.04 and week["conversion_rate"] == 1.0
    assert values(tuesday)["ctr"] == 0.0


@pytest.mark.parametrize("name", list(RATIOS))
def test_a_zero_denominator_gives_none_never_zero_or_an_error(name: str) -> None:
    assert reported(ZERO, name) is None
    everything_but = {m: 5 for m in BASE_NAMES}
    denominator = next(m.denominator for m in DERIVED_METRICS if m.name == name)
    everything_but[denominator] = 0
    assert values(Totals.of(everything_but))[name] is None


def test_base_metrics_are_reported_exactly() -> None:
    # The largest money a client may hold (MAX_CLIENT_MONEY_MICROS), to the micro.
    largest = MAX_CLIENT_MONEY_MICROS - 1
    shown = values(day(spend=1, revenue=largest, impressions=10**40, clicks=3))
    assert isinstance(shown["spend"], Decimal) and str(shown["spend"]) == "0.000001"
    assert str(shown["revenue"]) == "999999999999.999999"
    assert shown["impressions"] == 10**40 and isinstance(shown["impressions"], int)
    assert str(values(ZERO)["spend"]) == "0.000000"  # money always in six places, zero too
    assert money_from_micros(1_234_567) == Decimal("1.234567")
    assert money_from_micros(10**15).as_tuple().exponent == -6


def test_exact_gives_each_metric_as_one_fraction_in_reporting_units() -> None:
    t = day(spend=3_000_000, impressions=4, clicks=2, revenue=6_000_000)
    assert exact(t, "spend") == (3_000_000, MICROS)
    assert exact(t, "clicks") == (2, 1)
    for name, ratio in RATIOS.items():
        numerator, denominator = exact(t, name)
        if denominator:
            assert Fraction(numerator, denominator) == ratio(t), name


big = st.integers(0, 10**30)


@given(spend=big, impressions=big, clicks=big, lpv=big, leads=big, conversions=big, revenue=big)
def test_every_ratio_is_the_float_nearest_its_exact_value(spend: int, impressions: int, clicks: int, lpv: int,
                                                        leads: int, conversions: int, revenue: int) -> None:
    t = Totals.of({"spend": spend, "impressions": impressions, "clicks": clicks, "landing_page_views": lpv,
                   "leads": leads, "conversions": conversions, "revenue": revenue})
    shown = values(t)
    assert set(shown) == set(METRIC_NAMES)
    for name, ratio in RATIOS.items():
        try:
            expected = float(ratio(t))  # Fraction -> float rounds correctly, once
        except ZeroDivisionError:
            expected = None
        assert shown[name] == expected, name


# -- changes -------------------------------------------------------------------------------------

def test_the_first_bucket_has_no_change() -> None:
    assert set(changes(day(spend=5), None).values()) == {None}
    assert set(changes(day(spend=5), None)) == set(METRIC_NAMES)


def test_change_is_a_percent_of_the_previous_value() -> None:
    before, after = day(spend=8_000_000, clicks=4, impressions=100), day(spend=9_000_000, clicks=0,
                                                                          impressions=300)
    assert change(after, before, "spend") == 12.5
    assert change(after, before, "clicks") == -100.0
    assert change(after, before, "impressions") == 200.0
    assert change(before, before, "spend") == 0.0
    assert change(after, before, "ctr") == -100.0  # 4 % down to 0 %
    assert change(after, before, "cpc") is None  # no clicks now: cost per click is undefined


def test_no_change_from_a_previous_value_of_zero_or_none() -> None:
    zero_before, now = day(clicks=0, impressions=10), day(clicks=5, impressions=10, spend=1)
    assert change(now, zero_before, "clicks") is None  # from zero: no percent
    assert change(now, zero_before, "ctr") is None  # ratio 0 before
    assert change(now, zero_before, "spend") is None
    assert change(now, ZERO, "cpc") is None  # the ratio was undefined before
    assert change(ZERO, ZERO, "spend") is None


@given(a=st.integers(0, 10**25), b=st.integers(0, 10**25), c=st.integers(0, 10**25),
       d=st.integers(0, 10**25))
def test_changes_are_exact_percentages_rounded_once(a: int, b: int, c: int, d: int) -> None:
    now, before = day(clicks=a, impressions=b), day(clicks=c, impressions=d)
    got = changes(now, before)
    assert got["clicks"] == (None if c == 0 else float(Fraction(a - c, c) * 100))
    if b == 0 or d == 0 or c == 0:
        assert got["ctr"] is None
    else:
        was, is_ = Fraction(c, d), Fraction(a, b)
        assert got["ctr"] == float((is_ - was) / was * 100)
