"""A client's lead scoring settings from their wire form, checked in one pass (one InvalidInput
names every bad field), and back. An update is the stored settings with the caller's keys merged
in (nested objects key by key), checked as a whole again."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId, UserId
from catalyst_core.leads.model import (
    COMPONENTS,
    IdealCustomer,
    ScoringSettings,
    Thresholds,
    Weights,
)
from catalyst_core.validation import Bad, Problems, int_between, object_of

# The seniority levels a job title is read as (the default scorer's vocabulary), most senior first.
SENIORITIES = ("owner", "c_level", "vp", "director", "manager", "senior", "entry", "intern")
MAX_LIST = 100
MAX_ITEM = 100
MAX_COMPANY_SIZE = 10_000_000
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_TOP = frozenset({"weights", "ideal_customer", "thresholds"})
_IDEAL = frozenset({"seniorities", "company_size", "industries", "countries"})
_SIZE = frozenset({"min", "max"})
_THRESHOLDS = frozenset({"hot", "warm"})


def _fraction(raw: Any) -> float:
    """A number from 0 to 1."""
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) \
            or not 0 <= raw <= 1:
        raise Bad("must be a number from 0 to 1")
    return float(raw)


def _weight(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) \
            or not 0 <= raw <= 1_000:
        raise Bad("must be a number from 0 to 1000")
    return float(raw)


def _words(normalise: Callable[[str], str], allowed: Callable[[str], bool], what: str
           ) -> Callable[[Any], tuple[str, ...]]:
    def check(raw: Any) -> tuple[str, ...]:
        if not isinstance(raw, list) or len(raw) > MAX_LIST:
            raise Bad(f"must be a list of at most {MAX_LIST} {what}")
        items = []
        for item in raw:
            if not isinstance(item, str) or "\x00" in item or not item.strip() \
                    or len(item) > MAX_ITEM or not allowed(normalise(item)):
                raise Bad(f"must be a list of {what}")
            items.append(normalise(item))
        return tuple(dict.fromkeys(items))
    return check


_seniorities = _words(lambda s: s.strip().lower(), lambda s: s in SENIORITIES,
                      "seniorities: " + ", ".join(SENIORITIES))
_industries = _words(lambda s: " ".join(s.split()).lower(), lambda s: True, "industries")
_countries = _words(lambda s: s.strip().upper(), lambda s: bool(_COUNTRY.match(s)),
                    "ISO 3166 two-letter country codes")


def parse_settings(client_id: ClientId, raw: Any, *, by: UserId | None = None,
                   at: datetime | None = None) -> ScoringSettings:
    if not isinstance(raw, Mapping):
        raise InvalidInput({"body": "must be a JSON object"})
    problems = Problems()
    top = object_of(problems, "", raw, _TOP)
    defaults = ScoringSettings(client_id)
    w = object_of(problems, "weights", top.get("weights"), frozenset(COMPONENTS))
    weights = [problems.take(f"weights.{name}", _weight, w.get(name, getattr(defaults.weights, name)))
               for name in COMPONENTS]
    if None not in weights and sum(weights) == 0:
        problems.add("weights", "must not all be zero")
    ideal = object_of(problems, "ideal_customer", top.get("ideal_customer"), _IDEAL)
    d = defaults.ideal_customer
    size = object_of(problems, "ideal_customer.company_size", ideal.get("company_size"), _SIZE)
    size_check = int_between(0, MAX_COMPANY_SIZE)
    low = problems.take("ideal_customer.company_size.min", size_check, size.get("min", d.company_size_min))
    high = problems.take("ideal_customer.company_size.max", size_check, size.get("max", d.company_size_max))
    if low is not None and high is not None and low > high:
        problems.add("ideal_customer.company_size", "min must not be above max")
    seniorities = problems.take("ideal_customer.seniorities", _seniorities,
                                ideal.get("seniorities", list(d.seniorities)))
    industries = problems.take("ideal_customer.industries", _industries,
                               ideal.get("industries", list(d.industries)))
    countries = problems.take("ideal_customer.countries", _countries,
                              ideal.get("countries", list(d.countries)))
    t = object_of(problems, "thresholds", top.get("thresholds"), _THRESHOLDS)
    hot = problems.take("thresholds.hot", _fraction, t.get("hot", defaults.thresholds.hot))
    warm = problems.take("thresholds.warm", _fraction, t.get("warm", defaults.thresholds.warm))
    if hot is not None and warm is not None and not warm < hot:
        problems.add("thresholds", "warm must be below hot")
    if problems.fields:
        raise InvalidInput(problems.fields)
    return ScoringSettings(
        client_id, Weights(*weights),
        IdealCustomer(seniorities, low, high, industries, countries),
        Thresholds(hot, warm), updated_at=at, updated_by=by)


def settings_wire(settings: ScoringSettings) -> dict[str, Any]:
    ideal = settings.ideal_customer
    return {
        "weights": {name: getattr(settings.weights, name) for name in COMPONENTS},
        "ideal_customer": {
            "seniorities": list(ideal.seniorities), "industries": list(ideal.industries),
            "countries": list(ideal.countries),
            "company_size": {"min": ideal.company_size_min, "max": ideal.company_size_max}},
        "thresholds": {"hot": settings.thresholds.hot, "warm": settings.thresholds.warm},
    }


def merged_settings(current: ScoringSettings, patch: Any, *, by: UserId, at: datetime
                    ) -> ScoringSettings:
    """`current` with a partial update: nested objects merge key by key, the rest replaces."""
    if not isinstance(patch, Mapping):
        raise InvalidInput({"body": "must be a JSON object"})
    merged = settings_wire(current)
    for key, value in patch.items():
        if key in merged and isinstance(value, Mapping):
            inner = dict(merged[key])
            for k, v in value.items():
                inner[k] = {**inner[k], **v} if isinstance(inner.get(k), Mapping) \
                    and isinstance(v, Mapping) else v
            merged[key] = inner
        else:
            merged[key] = value
    return parse_settings(current.client_id, merged, by=by, at=at)
