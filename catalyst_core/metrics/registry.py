"""The metric registry: the base metrics stored per ad and day, and the ratios derived from them.

This is the single place a metric is added; reports (and alerts) read it. Base metrics are summed
exactly: counts as integers, money as integer micros (millionths), so a sum never rounds. A derived
metric is the ratio of two summed totals over the whole period, never an average of daily ratios,
computed as one exact fraction and rounded once to a float; a zero denominator gives None."""

from __future__ import annotations

import enum
import operator
from collections.abc import Iterable, Mapping
from decimal import Decimal

from attrs import frozen

MICROS = 1_000_000  # money is stored and summed in millionths of the currency unit


class Unit(enum.StrEnum):
    COUNT = "count"
    MONEY = "money"
    RATIO = "ratio"


@frozen
class BaseMetric:
    """A value stored on every performance row and summed over periods and entities."""

    name: str
    unit: Unit
    description: str

    @property
    def scale(self) -> int:
        """Stored units per reported unit (micros per currency unit for money)."""
        return MICROS if self.unit is Unit.MONEY else 1


@frozen
class DerivedMetric:
    """`numerator / denominator * factor`, from the summed base metrics of a period."""

    name: str
    numerator: str
    denominator: str
    unit: Unit
    description: str
    factor: int = 1


BASE_METRICS: tuple[BaseMetric, ...] = (
    BaseMetric("spend", Unit.MONEY, "what the ads cost"),
    BaseMetric("impressions", Unit.COUNT, "times an ad was shown"),
    BaseMetric("clicks", Unit.COUNT, "clicks on an ad"),
    BaseMetric("landing_page_views", Unit.COUNT, "landing-page loads after a click"),
    BaseMetric("leads", Unit.COUNT, "leads attributed to an ad"),
    BaseMetric("conversions", Unit.COUNT, "conversions attributed to an ad"),
    BaseMetric("revenue", Unit.MONEY, "revenue attributed to an ad"),
)

DERIVED_METRICS: tuple[DerivedMetric, ...] = (
    DerivedMetric("ctr", "clicks", "impressions", Unit.RATIO, "click-through rate (a fraction)"),
    DerivedMetric("cpc", "spend", "clicks", Unit.MONEY, "cost per click"),
    DerivedMetric("cpm", "spend", "impressions", Unit.MONEY, "cost per thousand impressions",
                  factor=1000),
    DerivedMetric("cplpv", "spend", "landing_page_views", Unit.MONEY, "cost per landing-page view"),
    DerivedMetric("cpl", "spend", "leads", Unit.MONEY, "cost per lead"),
    DerivedMetric("cpa", "spend", "conversions", Unit.MONEY, "cost per conversion (acquisition)"),
    DerivedMetric("roas", "revenue", "spend", Unit.RATIO, "return on ad spend (revenue / spend)"),
    DerivedMetric("conversion_rate", "conversions", "clicks", Unit.RATIO,
                  "conversions per click (a fraction)"),
)

BASE_NAMES: tuple[str, ...] = tuple(m.name for m in BASE_METRICS)
DERIVED_NAMES: tuple[str, ...] = tuple(m.name for m in DERIVED_METRICS)
METRIC_NAMES: tuple[str, ...] = BASE_NAMES + DERIVED_NAMES
MONEY_METRICS: frozenset[str] = frozenset(m.name for m in BASE_METRICS if m.unit is Unit.MONEY)
_POSITION = {name: i for i, name in enumerate(BASE_NAMES)}
_BASE = {m.name: m for m in BASE_METRICS}
_DERIVED = {m.name: m for m in DERIVED_METRICS}

Fraction = tuple[int, int]  # (numerator, denominator) of an exact ratio; the denominator may be 0


@frozen
class Totals:
    """Summed base metrics in the registry's order (money in micros) and how many rows they hold."""

    values: tuple[int, ...] = (0,) * len(BASE_METRICS)
    rows: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(tuple(map(operator.add, self.values, other.values)), self.rows + other.rows)

    def __getitem__(self, name: str) -> int:
        return self.values[_POSITION[name]]

    @classmethod
    def of(cls, amounts: Mapping[str, int], rows: int = 1) -> Totals:
        """Totals from stored amounts by metric name (money in micros); absent metrics are 0."""
        return cls(tuple(amounts.get(name, 0) for name in BASE_NAMES), rows)


ZERO = Totals()


def money_from_micros(micros: int) -> Decimal:
    """The one Decimal form of money (six places), whichever storage it comes from."""
    return Decimal(micros).scaleb(-6)


def total(parts: Iterable[Totals]) -> Totals:
    """The sum of `parts`, summed column by column (at C speed: a growth report sums ~2,000 days)."""
    parts = list(parts)
    if not parts:
        return ZERO
    return Totals(tuple(map(sum, zip(*(p.values for p in parts), strict=True))),
                  sum(p.rows for p in parts))


def is_metric(name: str) -> bool:
    return name in _BASE or name in _DERIVED


def _plan(name: str) -> tuple[int, int, int | None, int]:
    """(numerator position, its multiplier, denominator position or None, its multiplier): the
    metric is values[n] * nm / (values[d] * dm), or values[n] * nm / dm for a base metric."""
    base = _BASE.get(name)
    if base is not None:
        return _POSITION[name], 1, None, base.scale
    derived = _DERIVED[name]
    top, bottom = _BASE[derived.numerator], _BASE[derived.denominator]
    # (n / n_scale) / (d / d_scale) * factor, kept as one fraction of integers.
    return _POSITION[top.name], bottom.scale * derived.factor, _POSITION[bottom.name], top.scale


def ratio_plan(name: str) -> tuple[str, int, str | None, int]:
    """How a metric is computed from summed stored values, by name: `(numerator, nm, denominator,
    dm)` means `sum(numerator) * nm / (sum(denominator) * dm)`, or `sum(numerator) * nm / dm`
    when `denominator` is None (a base metric). For storage that filters on a metric itself."""
    n, n_mult, d, d_mult = _plan(name)
    return BASE_NAMES[n], n_mult, None if d is None else BASE_NAMES[d], d_mult


# Worked out once: reports compute every metric of thousands of lines.
_PLAN = {name: _plan(name) for name in METRIC_NAMES}
_PLANS = tuple(_PLAN.items())


def exact(totals: Totals, name: str) -> Fraction:
    """A metric of `totals` as an exact fraction in reporting units (money in currency units)."""
    n, n_mult, d, d_mult = _PLAN[name]
    v = totals.values
    return v[n] * n_mult, d_mult if d is None else v[d] * d_mult


def reported(totals: Totals, name: str) -> int | Decimal | float | None:
    """The metric as reported: counts as int, money as an exact Decimal, ratios as the float
    nearest the exact ratio (Python's int / int rounds correctly), None over a zero denominator."""
    return _reported(totals.values, *_PLAN[name])


def _reported(v: tuple[int, ...], n: int, n_mult: int, d: int | None, d_mult: int
              ) -> int | Decimal | float | None:
    if d is None:  # a base metric: money is scaled, counts are not
        return v[n] if d_mult == 1 else money_from_micros(v[n])
    denominator = v[d] * d_mult
    return v[n] * n_mult / denominator if denominator else None


def values(totals: Totals) -> dict[str, int | Decimal | float | None]:
    """Every metric of the registry, base and derived, by name."""
    v = totals.values
    return {name: _reported(v, *plan) for name, plan in _PLANS}


def change(current: Totals, previous: Totals | None, name: str) -> float | None:
    """The percent change of one metric from `previous` to `current` (12.5 means +12.5 %), from the
    exact fractions; None without a previous value, or when either value is undefined or the
    previous one is zero."""
    if previous is None:
        return None
    a, b = exact(current, name)
    c, d = exact(previous, name)
    if b == 0 or c == 0 or d == 0:
        return None
    # (a/b - c/d) / (c/d) * 100 == (a*d - c*b) * 100 / (b*c)
    return (a * d - c * b) * 100 / (b * c)


def changes(current: Totals, previous: Totals | None) -> dict[str, float | None]:
    if previous is None:
        return dict.fromkeys(METRIC_NAMES)
    return {name: change(current, previous, name) for name in METRIC_NAMES}
