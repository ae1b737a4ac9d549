"""The alert schedule across time zones and daylight-saving changes: no slot skipped, none twice."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from catalyst_core.alerts.model import Frequency, FrequencyType, Weekday
from catalyst_core.alerts.schedule import next_slot

# Zones with every kind of change: none, one hour each way on either hemisphere, half an hour
# (Lord Howe), quarter-hour offsets (Chatham, Kathmandu), half-hour offsets (Kolkata).
ZONES = ["UTC", "America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin",
         "Australia/Sydney", "Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham",
         "Asia/Kathmandu", "Asia/Kolkata", "America/St_Johns"]
instants = st.datetimes(min_value=datetime(2021, 1, 1), max_value=datetime(2030, 12, 31),
                        timezones=st.just(UTC))
times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 30, 45, 59]))


def _walk(frequency: Frequency, start: datetime, count: int) -> list[datetime]:
    slots, at = [], start
    for _ in range(count):
        at = next_slot(frequency, at)
        slots.append(at)
    return slots


@settings(max_examples=150, deadline=None)
@given(zone=st.sampled_from(ZONES), at=times, start=instants)
def test_a_daily_alert_runs_once_on_every_local_date(zone: str, at: time, start: datetime) -> None:
    frequency = Frequency(FrequencyType.DAILY, at, zone)
    slots = _walk(frequency, start, 400)  # more than a year: every change of the clocks
    tz = ZoneInfo(zone)
    dates = [s.astimezone(tz).date() for s in slots]
    assert slots == sorted(set(slots)) and slots[0] > start
    # One slot on each local date, none skipped and none twice.
    assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(dates))
    for slot in slots:
        local = slot.astimezone(tz)
        # On the hour asked for, or (when the clocks jumped over it) as far past it as it fell in.
        if local.time() != at:
            naive = datetime.combine(local.date(), at)
            assert local.replace(tzinfo=None) > naive
            assert local.replace(tzinfo=None) - naive <= timedelta(hours=1)
            assert datetime.combine(local.date(), at, tzinfo=tz).astimezone(UTC) == slot


@settings(max_examples=80, deadline=None)
@given(zone=st.sampled_from(ZONES), at=times, start=instants, day=st.sampled_from(list(Weekday)))
def test_a_weekly_alert_runs_once_a_week_on_its_day(zone: str, at: time, start: datetime,
                                                     day: Weekday) -> None:
    slots = _walk(Frequency(FrequencyType.WEEKLY, at, zone, day), start, 60)
    dates = [s.astimezone(ZoneInfo(zone)).date() for s in slots]
    assert all(d.weekday() == day.number for d in dates)
    assert all(b - a == timedelta(days=7) for a, b in itertools.pairwise(dates))


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(ZONES), start=instants)
def test_an_hourly_alert_runs_at_every_local_hour_and_nothing_between(zone: str,
                                                                      start: datetime) -> None:
    slots = _walk(Frequency(FrequencyType.HOURLY, time(0), zone), start, 200)
    tz = ZoneInfo(zone)
    assert slots[0] > start and slots == sorted(set(slots))
    for a, b in zip([start, *slots], slots, strict=False):
        assert b.astimezone(tz).minute == 0
        assert b - a <= timedelta(hours=1, minutes=30)
        # No instant between two slots is on the hour locally (every offset is whole quarters).
        probe = a.replace(minute=a.minute - a.minute % 15, second=0, microsecond=0)
        while (probe := probe + timedelta(minutes=15)) < b:
            assert probe <= a or probe.astimezone(tz).minute != 0


@settings(max_examples=100, deadline=None)
@given(zone=st.sampled_from(ZONES), at=times, start=instants, offset=st.floats(0, 1))
def test_a_late_scheduler_catches_up_once(zone: str, at: time, start: datetime,
                                          offset: float) -> None:
    """Asked at any moment between two slots, the answer is the later slot: a scheduler that was
    down for any number of slots runs once, then follows the schedule."""
    frequency = Frequency(FrequencyType.DAILY, at, zone)
    first, second = _walk(frequency, start, 2)
    moment = first + (second - first) * offset
    expected = second if moment < second else next_slot(frequency, second)
    assert next_slot(frequency, moment) == expected
    assert next_slot(frequency, first) == second


def test_the_spring_forward_gap_and_the_fall_back_repeat_in_new_york() -> None:
    frequency = Frequency(FrequencyType.DAILY, time(2, 30), "America/New_York")
    # 2025-03-09: 02:00 jumps to 03:00, so 02:30 does not exist: it runs at 03:30 EDT (07:30 UTC).
    assert next_slot(frequency, datetime(2025, 3, 8, 12, tzinfo=UTC)) == datetime(2025, 3, 9, 7, 30,
                                                                                   tzinfo=UTC)
    # 2025-11-02: 01:30 happens twice; an alert at 01:30 runs at the first (05:30 UTC) only.
    fall = Frequency(FrequencyType.DAILY, time(1, 30), "America/New_York")
    first = next_slot(fall, datetime(2025, 11, 1, 12, tzinfo=UTC))
    assert first == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)
    assert next_slot(fall, first) == datetime(2025, 11, 3, 6, 30, tzinfo=UTC)
