"""Totals per entity at one level of an ad account (campaign, ad set, ad or the whole account):
what alerts evaluate."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from attrs import frozen

from catalyst_core.metrics.model import EntityTotals, Level
from catalyst_core.metrics.registry import Totals, ratio_plan


@frozen
class LevelTotals:
    """The totals of one entity at a level of the account over a range: the ids and newest names of
    that level and those above it (None for the levels below it; all None for the whole account).
    Ad sets count within their campaign and ads within their ad set, as `EntityTotals` does."""

    platform: str | None
    campaign_id: str | None
    campaign_name: str | None
    adset_id: str | None
    adset_name: str | None
    ad_id: str | None
    ad_name: str | None
    totals: Totals


@frozen
class LevelFilter:
    """A coarse filter that storage may apply to the lines of `level_totals` before handing them
    over (so a database sends only the few lines an alert could fire on): keep the lines that spent
    at least `min_spend` (micros, exact) and whose `metric` is at least `at_least` and at most
    `at_most` (each optional; x/0 with x > 0 is infinitely high, 0/0 is neither, so it passes
    neither bound). Storage may compare in floating point and may keep lines that fail it, never
    drop one that passes: callers widen the bounds by a relative slack far above float error and
    decide exactly themselves."""

    min_spend: int = 0
    metric: str | None = None
    at_least: float | None = None
    at_most: float | None = None

    def keeps(self, totals: Totals) -> bool:
        """The filter in Python, as storage applies it (the memory adapter uses this)."""
        if totals["spend"] < self.min_spend:
            return False
        if self.metric is None:
            return True
        numerator, n_mult, denominator, d_mult = ratio_plan(self.metric)
        top = float(totals[numerator]) * n_mult
        bottom = float(d_mult if denominator is None else totals[denominator] * d_mult)
        if bottom == 0:  # x/0 is infinitely high; 0/0 is undefined and passes no bound
            return self.at_most is None and (top > 0 or self.at_least is None)
        return ((self.at_least is None or top >= self.at_least * bottom)
                and (self.at_most is None or top <= self.at_most * bottom))


# The id fields that identify an entity at each level (None: the whole account).
LEVEL_KEYS: dict[Level | None, tuple[str, ...]] = {
    None: (),
    Level.CAMPAIGN: ("platform", "campaign_id"),
    Level.ADSET: ("platform", "campaign_id", "adset_id"),
    Level.AD: ("platform", "campaign_id", "adset_id", "ad_id"),
}
_LEVEL_NAMES: dict[Level | None, tuple[str, ...]] = {
    None: (),
    Level.CAMPAIGN: ("campaign_name",),
    Level.ADSET: ("campaign_name", "adset_name"),
    Level.AD: ("campaign_name", "adset_name", "ad_name"),
}


def level_totals_of(lines: Iterable[EntityTotals], level: Level | None) -> list[LevelTotals]:
    """The definition of `PerformanceRepo.level_totals`: the per-ad lines summed per entity of the
    level, sorted by the level's ids (code point order)."""
    keys, names = LEVEL_KEYS[level], _LEVEL_NAMES[level]
    groups: dict[tuple[str, ...], tuple[dict[str, Any], list[Totals]]] = {}
    for line in lines:
        key = tuple(getattr(line, k) for k in keys)
        if key not in groups:
            groups[key] = ({name: getattr(line, name) for name in (*keys, *names)}, [])
        groups[key][1].append(line.totals)
    result = []
    for key in sorted(groups):
        fields, parts = groups[key]
        summed = parts[0]
        for part in parts[1:]:
            summed = summed + part
        result.append(LevelTotals(**{**dict.fromkeys(_ALL_LEVEL_FIELDS), **fields}, totals=summed))
    return result


_ALL_LEVEL_FIELDS = ("platform", "campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id",
                     "ad_name")
