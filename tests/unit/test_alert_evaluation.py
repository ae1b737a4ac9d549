"""Alert evaluation: an entity fires exactly when a plain recomputation says it should."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from catalyst_core.alerts.evaluation import (
    Window,
    entity_key,
    evaluate,
    level_filter,
    window_of,
)
from catalyst_core.alerts.model import Condition, DataLevel, Operator
from catalyst_core.metrics.levels import LevelTotals
from catalyst_core.metrics.registry import BASE_NAMES, DERIVED_METRICS, METRIC_NAMES, Totals, total

WINDOW = Window(date(2026, 5, 1), date(2026, 5, 7))
_DERIVED = {m.name: m for m in DERIVED_METRICS}
_MONEY = {"spend", "revenue"}


def plain_metric(values: dict[str, int], name: str) -> Fraction | float | None:
    """The metric from its definition, with Python's Fraction and infinity (None: undefined)."""
    def base(metric: str) -> Fraction:
        scale = 1_000_000 if metric in _MONEY else 1
        return Fraction(values[metric], scale)
    if name in BASE_NAMES:
        return base(name)
    m = _DERIVED[name]
    top, bottom = base(m.numerator), base(m.denominator)
    if bottom == 0:
        return None if top == 0 else float("inf")
    return top / bottom * m.factor


def plain_fires(condition: Condition, metric: Fraction | float | None,
                average: Fraction | float | None) -> bool:
    if metric is None:
        return False
    value = Fraction(condition.value)
    op = condition.operator
    if op.against_average:
        if average is None or average == float("inf"):
            return False
        factor = (1 + value / 100) if op is Operator.PERCENT_ABOVE_AVERAGE else (1 - value / 100)
        if factor < 0:
            return False
        threshold = average * factor
        return metric > threshold if op is Operator.PERCENT_ABOVE_AVERAGE else metric < threshold
    return {Operator.GREATER_THAN: metric > value, Operator.LESS_THAN: metric < value,
            Operator.GREATER_THAN_OR_EQUAL: metric >= value,
            Operator.LESS_THAN_OR_EQUAL: metric <= value, Operator.EQUAL: metric == value}[op]


amounts = st.one_of(st.integers(0, 5), st.integers(0, 10**7), st.integers(0, 10**15))
totals = st.builds(lambda vs: Totals(tuple(vs), 1), st.lists(amounts, min_size=len(BASE_NAMES),
                                                              max_size=len(BASE_NAMES)))
values = st.one_of(st.sampled_from(["0", "0.5", "1", "5", "20", "100", "150"]).map(Decimal),
                   st.decimals(0, 10**6, places=3))


@st.composite
def ad_lines(draw: st.DrawFn) -> list[LevelTotals]:
    count = draw(st.integers(0, 12))
    return [LevelTotals("facebook", f"c{i % 3}", None, f"s{i % 5}", None, f"a{i}", f"Ad {i}",
                        draw(totals)) for i in range(count)]


@settings(max_examples=400, deadline=None)
@given(lines=ad_lines(), field=st.sampled_from(METRIC_NAMES), op=st.sampled_from(list(Operator)),
       value=values, min_spend=st.sampled_from([Decimal(0), Decimal("0.000001"), Decimal(10)]))
async def test_an_entity_fires_exactly_when_the_plain_arithmetic_says_so(
        lines: list[LevelTotals], field: str, op: Operator, value: Decimal,
        min_spend: Decimal) -> None:
    condition = Condition(field, op, value, 7, min_spend)
    found = {f.entity_key for f in await evaluate(condition, DataLevel.AD, WINDOW, lines)}
    account = {name: sum(line.totals[name] for line in lines) for name in BASE_NAMES}
    average = plain_metric(account, field)
    expected = set()
    for line in lines:
        mine = {name: line.totals[name] for name in BASE_NAMES}
        if Fraction(mine["spend"], 1_000_000) < min_spend:
            continue
        if plain_fires(condition, plain_metric(mine, field), average):
            expected.add(entity_key(DataLevel.AD, line))
    assert found == expected
    # Storage may filter the lines first (LevelFilter, pushed down into SQL): the same findings.
    account_totals = total(line.totals for line in lines)
    where = level_filter(condition, account_totals)
    kept = [] if where is None else [line for line in lines if where.keeps(line.totals)]
    assert {f.entity_key for f in await evaluate(condition, DataLevel.AD, WINDOW, kept,
                                           account_totals)} == expected


async def test_alert_data_names_the_entity_the_metric_and_the_window() -> None:
    line = LevelTotals("google", "c1", "Summer", "s1", "Set", "a1", "Sale ad",
                       Totals.of({"spend": 100_000_000, "landing_page_views": 2}))
    other = LevelTotals("google", "c1", "Summer", "s1", "Set", "a2", "Other",
                        Totals.of({"spend": 10_000_000, "landing_page_views": 8}))
    condition = Condition("cplpv", Operator.GREATER_THAN, Decimal(20))
    [finding] = await evaluate(condition, DataLevel.AD, WINDOW, [line, other])
    assert finding.alert_data == {
        "level": "ad", "platform": "google", "campaign_id": "c1", "campaign_name": "Summer",
        "adset_id": "s1", "adset_name": "Set", "ad_id": "a1", "ad_name": "Sale ad",
        "cplpv": 50.0, "spend": 100.0, "account_average": 11.0, "threshold": 20.0,
        "window_start": "2026-05-01", "window_end": "2026-05-07"}


async def test_percent_operators_compare_with_the_account_ratio_not_a_mean_of_ratios() -> None:
    # Account CPLPV = 110 / 10 = 11; 20 % above is 13.2. Mean of the two ads' ratios would be 26.25.
    a = LevelTotals(None, None, None, None, None, None, None,
                    Totals.of({"spend": 100_000_000, "landing_page_views": 2}))
    b = LevelTotals(None, None, None, None, None, None, None,
                    Totals.of({"spend": 10_000_000, "landing_page_views": 8}))
    above = Condition("cplpv", Operator.PERCENT_ABOVE_AVERAGE, Decimal(20))
    [finding] = await evaluate(above, DataLevel.ACCOUNT, WINDOW, [a, b])
    assert finding.alert_data["threshold"] == 13.2 and finding.alert_data["cplpv"] == 50.0


async def test_spend_without_landing_page_views_is_an_infinitely_high_cplpv() -> None:
    line = LevelTotals("meta", "c", None, "s", None, "a", None, Totals.of({"spend": 5_000_000}))
    high = Condition("cplpv", Operator.GREATER_THAN, Decimal(1))
    low = Condition("cplpv", Operator.LESS_THAN, Decimal(1))
    [finding] = await evaluate(high, DataLevel.AD, WINDOW, [line])
    assert finding.alert_data["cplpv"] is None
    assert await evaluate(low, DataLevel.AD, WINDOW, [line]) == []


def test_the_window_is_the_whole_days_before_today_in_the_alerts_time_zone() -> None:
    condition = Condition("ctr", Operator.LESS_THAN, Decimal("0.01"), window_days=7)
    # 03:00 UTC on 10 May is still 9 May in Los Angeles.
    now = datetime(2026, 5, 10, 3, tzinfo=UTC)
    assert window_of(condition, "UTC", now) == Window(date(2026, 5, 3), date(2026, 5, 9))
    assert window_of(condition, "America/Los_Angeles", now) == Window(date(2026, 5, 2),
                                                                      date(2026, 5, 8))
