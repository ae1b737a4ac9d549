"""Evaluating an alert's condition on the totals of its level: which entities fire, and what each
instance records about them.

Comparisons are exact: the metric is the fraction of two summed totals (metrics.registry.exact)
and the threshold the exact value the caller sent, so an entity fires exactly when the plain
arithmetic says it should, whatever the storage. A ratio over a zero denominator with a positive
numerator (spend with no landing-page views) is infinitely high: it fires `greater_than` and
`percent_above_average` and nothing else; 0/0 is undefined and never fires."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from attrs import frozen

from catalyst_core.alerts.model import Condition, DataLevel, Operator
from catalyst_core.cooperative import map_sliced
from catalyst_core.metrics.levels import LEVEL_KEYS, LevelFilter, LevelTotals
from catalyst_core.metrics.model import Level
from catalyst_core.metrics.registry import MICROS, Totals, exact, reported, total

_LEVELS: dict[DataLevel, Level | None] = {
    DataLevel.AD: Level.AD, DataLevel.ADSET: Level.ADSET, DataLevel.CAMPAIGN: Level.CAMPAIGN,
    DataLevel.ACCOUNT: None,
}
_NAMES = {"campaign_id": "campaign_name", "adset_id": "adset_name", "ad_id": "ad_name"}

Fraction = tuple[int, int]


def storage_level(level: DataLevel) -> Level | None:
    """The level `PerformanceRepo.level_totals` groups by (None: the whole account)."""
    return _LEVELS[level]


@frozen
class Window:
    """The inclusive range of local dates an evaluation reads."""

    start: date
    end: date


def window_of(condition: Condition, timezone: str, now: datetime) -> Window:
    """The `window_days` whole days before today in the alert's time zone (today's data is still
    arriving, so it is left out)."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    return Window(today - timedelta(days=condition.window_days), today - timedelta(days=1))


@frozen
class Finding:
    """One entity that breaks the condition: its key within the alert, and the instance's data."""

    entity_key: str
    alert_data: dict[str, Any]


def entity_key(level: DataLevel, line: LevelTotals) -> str:
    """A stable text key for the entity (its level and ids, as a JSON list)."""
    ids = [getattr(line, k) for k in LEVEL_KEYS[_LEVELS[level]]]
    return json.dumps([level.value, *ids], ensure_ascii=False, separators=(",", ":"))


def _ratio(value: Decimal) -> Fraction:
    n, d = value.as_integer_ratio()
    return n, d


def _compare(a: Fraction, b: Fraction) -> int | None:
    """The sign of a - b for non-negative fractions whose denominators may be zero (x/0 with x > 0
    is +infinity, 0/0 is undefined: None)."""
    (an, ad), (bn, bd) = a, b
    if (ad == 0 and an == 0) or (bd == 0 and bn == 0):
        return None
    if ad == 0 or bd == 0:
        return (ad == 0) - (bd == 0)
    difference = an * bd - bn * ad
    return (difference > 0) - (difference < 0)


_ABSOLUTE = {
    Operator.GREATER_THAN: lambda s: s > 0,
    Operator.LESS_THAN: lambda s: s < 0,
    Operator.GREATER_THAN_OR_EQUAL: lambda s: s >= 0,
    Operator.LESS_THAN_OR_EQUAL: lambda s: s <= 0,
    Operator.EQUAL: lambda s: s == 0,
}


def threshold_of(condition: Condition, average: Fraction) -> Fraction | None:
    """What the metric is compared with: the value itself, or for the percent operators the
    account average moved by `value` percent (None when the average is undefined or infinite, or
    the threshold would be negative)."""
    p, q = _ratio(condition.value)
    if not condition.operator.against_average:
        return p, q
    a, b = average
    if b == 0:
        return None
    factor = 100 * q + p if condition.operator is Operator.PERCENT_ABOVE_AVERAGE else 100 * q - p
    if factor < 0:
        return None
    return a * factor, b * 100 * q


# How far the coarse filter handed to storage is widened: far above the error of comparing in
# floating point (about 1e-15 relative), so it never drops a line that fires exactly.
FILTER_SLACK = 1e-9


def level_filter(condition: Condition, account: Totals) -> LevelFilter | None:
    """What storage may filter on before handing the level's lines over: the spend floor, and the
    metric on the side of the threshold that can fire. None when nothing can fire (the threshold
    is undefined: a percent of an undefined or infinite average)."""
    threshold = threshold_of(condition, exact(account, condition.field))
    if threshold is None:
        return None
    p, q = _ratio(condition.min_spend)
    min_spend = -(-p * MICROS // q)  # the smallest whole number of micros at or above it
    bound = threshold[0] / threshold[1]
    low, high = bound * (1 - FILTER_SLACK), bound * (1 + FILTER_SLACK)
    operator = condition.operator
    if operator in (Operator.GREATER_THAN, Operator.GREATER_THAN_OR_EQUAL,
                    Operator.PERCENT_ABOVE_AVERAGE):
        return LevelFilter(min_spend, condition.field, at_least=low)
    if operator in (Operator.LESS_THAN, Operator.LESS_THAN_OR_EQUAL, Operator.PERCENT_BELOW_AVERAGE):
        return LevelFilter(min_spend, condition.field, at_most=high)
    return LevelFilter(min_spend, condition.field, at_least=low, at_most=high)


def fires(condition: Condition, metric: Fraction, threshold: Fraction) -> bool:
    sign = _compare(metric, threshold)
    if sign is None:
        return False
    if condition.operator is Operator.PERCENT_ABOVE_AVERAGE:
        return sign > 0
    if condition.operator is Operator.PERCENT_BELOW_AVERAGE:
        return sign < 0
    return bool(_ABSOLUTE[condition.operator](sign))


def spends_enough(totals: Totals, min_spend: Decimal) -> bool:
    p, q = _ratio(min_spend)
    return totals["spend"] * q >= p * MICROS


def _number(value: Any) -> Any:
    """Plain JSON numbers for the instance's data (money as the nearest float)."""
    if isinstance(value, Decimal):
        return float(value)
    return value


Judged = tuple[int, Finding] | None  # (spend in micros, finding) of a line that fires


async def evaluate(condition: Condition, level: DataLevel, window: Window,
                   lines: Sequence[LevelTotals], account: Totals | None = None) -> list[Finding]:
    """The entities among `lines` (the level's totals over the window) that fire, highest spend
    first (ties by key). The account average is the ratio over the whole account's `totals` in the
    window: give them when `lines` were filtered; by default, the sum of the lines. An ad-level
    alert may judge thousands of lines: on the event loop a slice at a time
    (catalyst_core.cooperative)."""
    judge = _judge(condition, level, window, lines, account)
    return [] if judge is None else _ranked(await map_sliced(judge, lines))


def _judge(condition: Condition, level: DataLevel, window: Window, lines: Sequence[LevelTotals],
           account: Totals | None) -> Callable[[LevelTotals], Judged] | None:
    """What judges one line, or None when nothing can fire (no threshold: no account average)."""
    if account is None:
        account = total(line.totals for line in lines)
    average = exact(account, condition.field)
    threshold = threshold_of(condition, average)
    if threshold is None:
        return None
    common = {
        "account_average": _number(reported(account, condition.field)),
        "threshold": threshold[0] / threshold[1],
        "window_start": window.start.isoformat(), "window_end": window.end.isoformat(),
    }

    def judge(line: LevelTotals) -> Judged:
        if not spends_enough(line.totals, condition.min_spend):
            return None
        if not fires(condition, exact(line.totals, condition.field), threshold):
            return None
        return line.totals["spend"], Finding(entity_key(level, line),
                                             _alert_data(condition, level, line, common))

    return judge


def _ranked(judged: Sequence[Judged]) -> list[Finding]:
    """The findings among judged lines, highest spend first (ties by key)."""
    fired = [pair for pair in judged if pair is not None]
    fired.sort(key=lambda pair: (-pair[0], pair[1].entity_key))
    return [finding for _, finding in fired]


def _alert_data(condition: Condition, level: DataLevel, line: LevelTotals,
                common: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"level": level.value}
    for key in LEVEL_KEYS[_LEVELS[level]]:
        data[key] = getattr(line, key)
        if key in _NAMES:
            data[_NAMES[key]] = getattr(line, _NAMES[key])
    data[condition.field] = _number(reported(line.totals, condition.field))
    data["spend"] = _number(reported(line.totals, "spend"))
    data.update(common)
    return data
