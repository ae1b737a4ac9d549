"""How the default scorer words the factors that moved a lead's score (its explanation)."""

from __future__ import annotations

from typing import Any

from catalyst_adapters.scoring_signals import _SENIORITY_LABELS, _duration, _plural, _shown

# Factor indexes, in the order ties are listed.
(_PAGE_VIEWS, _TIME, _FORMS, _OPENS, _CLICKS, _SENIORITY_F, _SIZE, _INDUSTRY, _COUNTRY_F, _RECENCY,
 _PRICING, _DEMO) = range(12)


def _say(factor: int, key: Any, c: Any) -> str:
    """One factor in words; `key` is what the phrase depends on (see WeightedScorer.score()), `c`
    the compiled settings (scoring._Compiled)."""
    if factor == _PAGE_VIEWS:
        return _plural(key, "page view", "page views")
    if factor == _TIME:
        return _duration(key)
    if factor == _FORMS:
        return _plural(key, "form submission", "form submissions")
    if factor == _OPENS:
        return _plural(key, "email open", "email opens")
    if factor == _CLICKS:
        return _plural(key, "email click", "email clicks")
    if factor == _PRICING:
        return _plural(key, "pricing page view", "pricing page views")
    if factor == _DEMO:
        return "requested a demo"
    if factor == _RECENCY:
        if key < 1:
            return "active in the last day"
        if key < 7:
            return f"last active {_plural(key, 'day', 'days')} ago"
        return f"no activity for {_plural(key, 'day', 'days')}"
    if factor == _SENIORITY_F:
        seniority, from_title = key
        fits = "matches" if seniority in c.seniorities else "is outside"
        what = "title" if from_title else "seniority"
        return f"{_SENIORITY_LABELS[seniority]} {what} {fits} the ideal customer"
    if factor == _SIZE:
        fits = "fits" if c.size_min <= key <= c.size_max else "is outside"
        return f"company size {int(key):,} {fits} the ideal customer ({c.size_text})"
    if factor == _INDUSTRY:
        fits = "matches" if key.lower() in c.industries else "is outside"
        return f"industry {_shown(key)} {fits} the ideal customer"
    fits = "matches" if key in c.countries else "is outside"
    return f"country {key} {fits} the ideal customer"
