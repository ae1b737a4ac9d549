"""Report ranges and buckets: days, ISO weeks (Monday first) and calendar months, clipped to the
range; default and refused ranges; the preceding range a report compares with."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalyst_core.errors import InvalidInput
from catalyst_core.metrics.model import EARLIEST_DATE, LATEST_DATE
from catalyst_core.reports.periods import (
    DEFAULT_RANGE_DAYS,
    MAX_RANGE_DAYS,
    Period,
    buckets,
    preceding_range,
    report_range,
)

D = date.fromisoformat
DAY = timedelta(days=1)


def spans(*pairs: tuple[str, str]) -> list[tuple[date, date]]:
    return [(D(a), D(b)) for a, b in pairs]


def test_daily_buckets_are_single_days() -> None:
    assert buckets(D("2024-02-28"), D("2024-03-01"), Period.DAILY) == spans(
        ("2024-02-28", "2024-02-28"), ("2024-02-29", "2024-02-29"), ("2024-03-01", "2024-03-01"))


def test_weekly_buckets_run_monday_to_sunday_clipped_to_the_range() -> None:
    # 2024-01-03 is a Wednesday, 2024-01-16 a Tuesday.
    assert buckets(D("2024-01-03"), D("2024-01-16"), Period.WEEKLY) == spans(
        ("2024-01-03", "2024-01-07"), ("2024-01-08", "2024-01-14"), ("2024-01-15", "2024-01-16"))
    assert buckets(D("2024-01-08"), D("2024-01-21"), Period.WEEKLY) == spans(
        ("2024-01-08", "2024-01-14"), ("2024-01-15", "2024-01-21"))
    assert buckets(D("2024-01-07"), D("2024-01-08"), Period.WEEKLY) == spans(
        ("2024-01-07", "2024-01-07"), ("2024-01-08", "2024-01-08"))


def test_weeks_cross_year_ends_as_iso_weeks() -> None:
    # 2024-12-30 (a Monday) opens ISO week 1 of 2025; 2021-01-03 (a Sunday) closes week 53 of 2020.
    assert buckets(D("2024-12-28"), D("2025-01-06"), Period.WEEKLY) == spans(
        ("2024-12-28", "2024-12-29"), ("2024-12-30", "2025-01-05"), ("2025-01-06", "2025-01-06"))
    assert buckets(D("2020-12-28"), D("2021-01-10"), Period.WEEKLY) == spans(
        ("2020-12-28", "2021-01-03"), ("2021-01-04", "2021-01-10"))


def test_monthly_buckets_are_calendar_months_clipped_to_the_range() -> None:
    assert buckets(D("2024-01-15"), D("2024-04-10"), Period.MONTHLY) == spans(
        ("2024-01-15", "2024-01-31"), ("2024-02-01", "2024-02-29"), ("2024-03-01", "2024-03-31"),
        ("2024-04-01", "2024-04-10"))
    assert buckets(D("2024-12-15"), D("2025-01-10"), Period.MONTHLY) == spans(
        ("2024-12-15", "2024-12-31"), ("2025-01-01", "2025-01-10"))
    assert buckets(D("2024-02-01"), D("2024-02-29"), Period.MONTHLY) == spans(("2024-02-01", "2024-02-29"))


@pytest.mark.parametrize(("year", "last"), [(2023, 28), (2024, 29), (2000, 29), (2100, 28), (1972, 29)])
def test_february_ends_where_the_leap_year_rule_says(year: int, last: int) -> None:
    assert buckets(date(year, 2, 1), date(year, 3, 1), Period.MONTHLY) == [
        (date(year, 2, 1), date(year, 2, last)), (date(year, 3, 1), date(year, 3, 1))]


@pytest.mark.parametrize("period", list(Period))
def test_one_day_is_one_bucket_in_every_period(period: Period) -> None:
    for day in (D("2024-02-29"), D("2024-12-31"), EARLIEST_DATE, LATEST_DATE):
        assert buckets(day, day, period) == [(day, day)]


def _key(day: date, period: Period) -> object:
    keys = {Period.DAILY: day, Period.WEEKLY: day.isocalendar()[:2], Period.MONTHLY: (day.year, day.month)}
    return keys[period]


@given(start=st.dates(EARLIEST_DATE, LATEST_DATE), length=st.integers(0, MAX_RANGE_DAYS - 1),
       period=st.sampled_from(list(Period)))
def test_buckets_partition_the_range_into_whole_calendar_units(start: date, length: int,
                                                               period: Period) -> None:
    end = min(start + length * DAY, LATEST_DATE)
    found = buckets(start, end, period)
    assert found[0][0] == start and found[-1][1] == end
    for (first, last), following in zip(found, [*found[1:], None], strict=True):
        assert first <= last and _key(first, period) == _key(last, period)  # within one unit
        if following is not None:
            assert following[0] == last + DAY  # adjacent: no gap, no overlap
            assert _key(following[0], period) != _key(last, period)  # and maximal


# -- ranges ---------------------------------------------------------------------------------------

TODAY = D("2024-03-10")


def test_without_dates_the_last_thirty_whole_days_up_to_yesterday() -> None:
    yesterday = TODAY - DAY  # today's data is still arriving
    assert report_range(None, None, today=TODAY) == (yesterday - (DEFAULT_RANGE_DAYS - 1) * DAY, yesterday)
    assert report_range(None, None, today=TODAY) == (D("2024-02-09"), D("2024-03-09"))


def test_with_one_date_the_other_follows() -> None:
    assert report_range(D("2024-03-01"), None, today=TODAY) == (D("2024-03-01"), D("2024-03-09"))
    assert report_range(D("2024-03-09"), None, today=TODAY) == (D("2024-03-09"), D("2024-03-09"))
    assert report_range(TODAY, None, today=TODAY) == (TODAY, D("2024-04-08"))
    assert report_range(D("2024-04-01"), None, today=TODAY) == (D("2024-04-01"), D("2024-04-30"))
    assert report_range(None, D("2024-01-31"), today=TODAY) == (D("2024-01-02"), D("2024-01-31"))
    assert report_range(None, D("2030-01-29"), today=TODAY) == (D("2029-12-31"), D("2030-01-29"))
    assert report_range(None, D("1970-01-05"), today=TODAY) == (EARLIEST_DATE, D("1970-01-05"))


def test_given_dates_are_kept() -> None:
    assert report_range(D("2024-02-29"), D("2024-02-29"), today=TODAY) == (D("2024-02-29"), D("2024-02-29"))
    longest = EARLIEST_DATE + (MAX_RANGE_DAYS - 1) * DAY
    assert report_range(EARLIEST_DATE, longest, today=TODAY) == (EARLIEST_DATE, longest)


def _refused(start: date | None, end: date | None) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        report_range(start, end, today=TODAY)
    return caught.value.fields


def test_refused_ranges_name_their_fields() -> None:
    assert _refused(D("2024-03-02"), D("2024-03-01")) == {"end_date": "must not be before start_date"}
    bounds = "must be between 1970-01-01 and 2999-12-31"
    assert _refused(D("1969-12-31"), D("2024-01-01")) == {"start_date": bounds}
    assert _refused(D("2024-01-01"), D("3000-01-01")) == {"end_date": bounds}
    assert _refused(D("1969-01-01"), D("3000-01-01")) == {"start_date": bounds, "end_date": bounds}
    assert _refused(D("3000-01-01"), None) == {"start_date": bounds, "end_date": bounds}


def test_a_range_spans_at_most_three_years() -> None:
    start = D("2022-01-01")
    longest = start + (MAX_RANGE_DAYS - 1) * DAY
    assert MAX_RANGE_DAYS == 1096
    assert report_range(start, longest, today=TODAY) == (start, longest)
    assert set(_refused(start, longest + DAY)) == {"end_date"}
    # A start more than three years back with no end runs to yesterday, which is too long: the
    # problem is named after the date the caller gave, and says where the range would have ended.
    assert report_range(TODAY - MAX_RANGE_DAYS * DAY, None, today=TODAY)[1] == TODAY - DAY
    problems = _refused(TODAY - (MAX_RANGE_DAYS + 1) * DAY, None)
    assert set(problems) == {"start_date"}
    assert f"without end_date it runs to {TODAY - DAY}" in problems["start_date"]


def test_the_preceding_range_has_the_same_length_and_ends_the_day_before() -> None:
    assert preceding_range(D("2024-03-01"), D("2024-03-31")) == (D("2024-01-30"), D("2024-02-29"))
    assert preceding_range(D("2024-03-01"), D("2024-03-01")) == (D("2024-02-29"), D("2024-02-29"))
    # The same number of days, not the same calendar unit: 2024 had a day more than 2025.
    assert preceding_range(D("2025-01-01"), D("2025-12-31")) == (D("2024-01-02"), D("2024-12-31"))


@given(start=st.dates(date(1975, 1, 1), date(2990, 1, 1)), length=st.integers(0, MAX_RANGE_DAYS - 1))
def test_preceding_ranges_touch_the_range_and_match_its_length(start: date, length: int) -> None:
    end = start + length * DAY
    first, last = preceding_range(start, end)
    assert last + DAY == start and last - first == end - start
