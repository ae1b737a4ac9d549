"""The raw signals of a lead as the default scorer reads them: checked values (every bad key named,
the common case tested first), job titles read as seniorities, and the words explanations use."""

from __future__ import annotations

import math
import re
from typing import Any

from catalyst_core.leads.settings import SENIORITIES

_BIG_INT = 10**15
_BIG = 1e15
_INF = math.inf
_DAY_SECONDS = 86_400.0
_CACHED_TEXT = 200  # longer job titles and industries are not remembered (raw data is <= 16 KiB)

_WHOLE = "must be a whole number of at least 0"
_AMOUNT = "must be a number of at least 0"
_TEXT = "must be text"
_BOOL = "must be true or false"
_SENIORITY = "must be one of " + ", ".join(SENIORITIES)
_COUNTRY = "must be an ISO 3166 two-letter country code"
_WHEN = "must be an ISO 8601 date-time"

# Job title keywords, most senior first: the first rule that matches names the seniority (after
# _ASSISTANT: "Executive Assistant to the CEO" is an entry-level title).
_ASSISTANT = re.compile(r"\bassistant (?:to|of)\b|\bexecutive assistant\b|\bpersonal assistant\b")
_TITLE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (seniority, re.compile(pattern)) for seniority, pattern in (
        ("owner", r"\b(?:co-?)?founder\b|(?<!product )(?<!process )\bowner\b|\bproprietor\b"),
        ("c_level", r"\bc[a-z]{1,2}o\b|\bchief\b|(?<!vice )(?<!vice-)\bpresident\b"
                    r"|\bmanaging director\b|\bexecutive director\b"),
        ("vp", r"\bs?e?vp\b|\bvice[ -]president\b|\bv\.p\."),
        ("director", r"\bdirector\b|\bhead of\b|\bhead\b"),
        ("manager", r"\bmanager\b|\bmgr\b|\bsupervisor\b|\bteam lead\b"),
        ("senior", r"\bsenior\b|\bsr\b|\bprincipal\b|\blead\b|\bstaff\b"),
        ("entry", r"\bjunior\b|\bjr\b|\bassociate\b|\bassistant\b|\bcoordinator\b"
                  r"|\brepresentative\b|\bgraduate\b|\bentry\b"),
        ("intern", r"\bintern\b|\binternship\b|\btrainee\b|\bapprentice\b|\bstudent\b"),
    ))
_SENIORITY_LABELS = {"owner": "Owner-level", "c_level": "C-level", "vp": "VP-level",
                     "director": "Director-level", "manager": "Manager-level",
                     "senior": "Senior-level", "entry": "Entry-level", "intern": "Intern-level"}
_SENIORITY_WORDS = {s: s for s in SENIORITIES} | {
    s.replace("_", "-"): s for s in SENIORITIES} | {s.replace("_", " "): s for s in SENIORITIES}

def seniority_of(title: str) -> str | None:
    """The seniority (of SENIORITIES) a job title reads as, or None when no keyword matches."""
    lowered = " ".join(title.lower().replace(",", " ").split())
    if _ASSISTANT.search(lowered):
        return "entry"
    for seniority, pattern in _TITLE_RULES:
        if pattern.search(lowered):
            return seniority
    return None


def _whole(v: Any) -> float | None:
    """A whole number >= 0 as a float (capped at 1e15), or None when it is not one."""
    cls = v.__class__
    if cls is int:
        if v >= 0:
            return float(v) if v < _BIG_INT else _BIG
        return None
    if cls is float:
        if 0.0 <= v < _INF and v.is_integer():  # NaN fails the comparison
            return v if v < _BIG else _BIG
        return None
    if cls is not bool and isinstance(v, int):  # int subclasses other than bool
        return _whole(int(v))
    return None


def _amount(v: Any) -> float | None:
    """A finite number >= 0 as a float (capped at 1e15), or None when it is not one."""
    cls = v.__class__
    if cls is float:
        if 0.0 <= v < _INF:
            return v if v < _BIG else _BIG
        return None
    if cls is int or (cls is not bool and isinstance(v, int)):
        if v >= 0:
            return float(v) if v < _BIG_INT else _BIG
        return None
    if cls is not bool and isinstance(v, float):
        return _amount(float(v))
    return None


def _plural(n: float, one: str, many: str) -> str:
    count = int(n)
    return f"{count:,} {one if count == 1 else many}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return _plural(seconds, "second", "seconds") + " on site"
    if seconds < 90 * 60:
        return _plural(round(seconds / 60), "minute", "minutes") + " on site"
    return f"{seconds / 3600:,.1f} hours on site"


def _shown(text: str) -> str:
    return text if len(text) <= 60 else text[:59] + "…"


def _count(v: Any, key: str, bad: dict[str, str]) -> float:
    """A whole number of times (absent: 0); a bad value is named in `bad` and counts 0. The common
    case (a plain int in range) is tested first: it is most of what a batch holds."""
    if v is None:
        return 0
    if v.__class__ is int and 0 <= v < _BIG_INT:
        return v  # type: ignore[no-any-return]
    whole = _whole(v)
    if whole is None:
        bad[key] = _WHOLE
        return 0
    return whole


def _seconds(v: Any, key: str, bad: dict[str, str]) -> float:
    """A non-negative amount (absent: 0); a bad value is named in `bad` and counts 0."""
    if v is None:
        return 0
    if (v.__class__ is float or v.__class__ is int) and 0 <= v < _BIG:
        return v  # type: ignore[no-any-return]
    amount = _amount(v)
    if amount is None:
        bad[key] = _AMOUNT
        return 0
    return amount
