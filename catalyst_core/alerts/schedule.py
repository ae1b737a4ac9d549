"""When an alert runs: its slots, as instants in UTC, from its frequency in its time zone.

A daily slot is the alert's time of day on each local date; a weekly slot the same on one weekday;
an hourly slot each instant whose local time is on the hour. Daylight-saving changes never skip a
slot or run one twice:
- a time of day that does not exist on a date (the clocks jump over it) runs once, as many minutes
  after the jump as it fell into the gap (02:30 on a spring-forward night runs at 03:30);
- a time of day that exists twice (the clocks fall back over it) runs once, at its first occurrence;
- hourly slots are real hours: a fall-back night has one more of them, a spring-forward night one
  fewer, and every one runs once.
A scheduler asks for the next slot after *now* (not after the missed one), so one that was down
catches up once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from catalyst_core.alerts.model import Frequency, FrequencyType

_QUARTER = timedelta(minutes=15)  # every offset in use today is a multiple of 15 minutes


def slot_on(frequency: Frequency, day: date) -> datetime:
    """The daily or weekly slot on a local date, in UTC (see the module docstring for DST)."""
    zone = ZoneInfo(frequency.timezone)
    # fold=0 is the first of two ambiguous readings; in a gap, zoneinfo reads fold=0 with the
    # offset from before the jump, which lands the same distance past it.
    local = datetime.combine(day, frequency.at, tzinfo=zone)
    return local.astimezone(UTC)


def next_slot(frequency: Frequency, after: datetime) -> datetime:
    """The first slot strictly after `after` (an aware datetime), in UTC."""
    after = after.astimezone(UTC)
    if frequency.type is FrequencyType.HOURLY:
        return _next_hour(ZoneInfo(frequency.timezone), after)
    local_day = after.astimezone(ZoneInfo(frequency.timezone)).date()
    # The slot of the local date before `after`'s can still lie after it only across a gap; start
    # there and walk forward.
    day = local_day - timedelta(days=1)
    while True:
        if frequency.day is None or day.weekday() == frequency.day.number:
            slot = slot_on(frequency, day)
            if slot > after:
                return slot
        day += timedelta(days=1)


def _next_hour(zone: ZoneInfo, after: datetime) -> datetime:
    # Walk UTC quarter hours; the first whose local reading is on the hour is the next slot.
    candidate = after.replace(minute=after.minute - after.minute % 15, second=0, microsecond=0)
    while True:
        candidate += _QUARTER
        local = candidate.astimezone(zone)
        if local.minute == 0 and local.second == 0:
            return candidate


def first_slot(frequency: Frequency, now: datetime) -> datetime:
    """Where a new or re-enabled alert starts: its next slot, never now (DESIGN.md §8)."""
    return next_slot(frequency, now)
