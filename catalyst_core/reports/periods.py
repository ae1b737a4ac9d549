"""Report ranges and their buckets: whole days, ISO weeks (Monday first) and calendar months."""

from __future__ import annotations

import enum
from datetime import date, timedelta

from catalyst_core.errors import InvalidInput
from catalyst_core.metrics.model import EARLIEST_DATE, LATEST_DATE

DEFAULT_RANGE_DAYS = 30
MAX_RANGE_DAYS = 3 * 365 + 1  # three years, one of them a leap year
_DAY = timedelta(days=1)


class Period(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


def report_range(start: date | None, end: date | None, *, today: date) -> tuple[date, date]:
    """The inclusive range a report covers. `end` defaults to yesterday, since today's data is
    still arriving (as ad platforms' own "last 30 days"), or to DEFAULT_RANGE_DAYS days after a
    later `start`; `start` defaults to DEFAULT_RANGE_DAYS days up to `end`. Problems are named
    after the dates the caller gave."""
    given_end = end is not None
    if end is None:
        yesterday = today - _DAY
        end = yesterday if start is None or start <= yesterday \
            else start + (DEFAULT_RANGE_DAYS - 1) * _DAY
    if start is None:
        start = max(end - (DEFAULT_RANGE_DAYS - 1) * _DAY, EARLIEST_DATE)
    problems = {}
    for name, value in (("start_date", start), ("end_date", end)):
        if not EARLIEST_DATE <= value <= LATEST_DATE:
            problems[name] = f"must be between {EARLIEST_DATE} and {LATEST_DATE}"
    if not problems:
        blamed = "end_date" if given_end else "start_date"
        if end < start:
            problems["end_date"] = "must not be before start_date"
        elif (end - start).days + 1 > MAX_RANGE_DAYS:
            problems[blamed] = (f"the range may span at most {MAX_RANGE_DAYS} days (three years)"
                                + ("" if given_end else f"; without end_date it runs to {end}"))
    if problems:
        raise InvalidInput(problems)
    return start, end


def preceding_range(start: date, end: date) -> tuple[date, date]:
    """The range of the same length that ends the day before `start`."""
    return start - (end - start + _DAY), start - _DAY


def _bucket_end(day: date, period: Period) -> date:
    if period is Period.DAILY:
        return day
    if period is Period.WEEKLY:
        return day + timedelta(days=6 - day.weekday())
    next_month = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return next_month - _DAY


def buckets(start: date, end: date, period: Period) -> list[tuple[date, date]]:
    """The period's buckets over the inclusive range, the first and last clipped to it."""
    found = []
    day = start
    while day <= end:
        last = min(_bucket_end(day, period), end)
        found.append((day, last))
        day = last + _DAY
    return found
