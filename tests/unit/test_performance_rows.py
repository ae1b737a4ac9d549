"""Taking performance rows in: parse_rows names every bad field of every row at once, keeps money
exact to the micro, counts strict, text free of U+0000, platforms canonical, and a client's totals
within what every database sums exactly (check_capacity)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalyst_contracts import strategies as cs
from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId
from catalyst_core.metrics.model import (
    MAX_CLIENT_COUNT,
    MAX_CLIENT_MONEY_MICROS,
    MAX_COUNT,
    MAX_ENTITY_ID,
    MAX_ENTITY_NAME,
    MAX_PLATFORM,
    MAX_ROWS_PER_BATCH,
    PerformanceRow,
    check_capacity,
)
from catalyst_core.metrics.parsing import parse_rows
from catalyst_core.metrics.registry import Totals

CLIENT = ClientId(uuid.UUID(int=7))


def raw(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"date": "2024-02-29", "platform": "facebook", "campaign_id": "c1",
                           "adset_id": "s1", "ad_id": "a1"}
    row.update(overrides)
    return {k: v for k, v in row.items() if v is not ...}


def problems(*rows: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse_rows(CLIENT, list(rows))
    return caught.value.fields


def one(**overrides: Any) -> PerformanceRow:
    [row] = parse_rows(CLIENT, [raw(**overrides)])
    return row


def test_a_full_row_is_parsed_exactly() -> None:
    row = one(campaign_name="Spring", adset_name="Set", ad_name="Ad", spend="12.345678", impressions=1000,
              clicks=10, landing_page_views=8, leads=3, conversions=2, revenue=99.99)
    assert row == PerformanceRow(CLIENT, date(2024, 2, 29), "facebook", "c1", "Spring", "s1", "Set", "a1",
                                 "Ad", Decimal("12.345678"), 1000, 10, 8, 3, 2, Decimal("99.99"))
    assert (str(row.spend), str(row.revenue)) == ("12.345678", "99.990000")
    assert row.key == (date(2024, 2, 29), "facebook", "a1")
    assert row.amount("spend") == 12_345_678 and row.amount("clicks") == 10
    assert row.totals() == Totals.of({"spend": 12_345_678, "impressions": 1000, "clicks": 10,
                                      "landing_page_views": 8, "leads": 3, "conversions": 2,
                                      "revenue": 99_990_000})


def test_absent_metrics_are_zero_and_names_none() -> None:
    row = one()
    assert (row.impressions, row.clicks, row.landing_page_views, row.leads, row.conversions) == (0,) * 5
    assert row.spend == row.revenue == 0
    assert (row.campaign_name, row.adset_name, row.ad_name) == (None, None, None)


def test_absent_money_takes_the_same_six_place_form_as_money_sent() -> None:
    # Storage hands money back in six places (SQL reads micros); the memory adapter keeps what the
    # core gave it, so an absent amount must be that same form or the two storages answer "0" and
    # "0.000000" for the same row.
    assert str(one(spend="0").spend) == "0.000000"
    assert (str(one().spend), str(one().revenue)) == ("0.000000", "0.000000")


def test_text_is_trimmed_and_blank_names_are_none() -> None:
    row = one(platform=" Snapchat\t", campaign_id="  c 1 ", adset_id="\u3000s1", ad_id="a1\n",
              campaign_name="  Spring  ", adset_name="   ", ad_name="")
    assert (row.platform, row.campaign_id, row.adset_id, row.ad_id) == ("Snapchat", "c 1", "s1", "a1")
    assert (row.campaign_name, row.adset_name, row.ad_name) == ("Spring", None, None)


@pytest.mark.parametrize(("sent", "kept"), [
    ("facebook", "facebook"), ("FaceBook", "facebook"), (" GOOGLE ", "google"), ("TikTok", "tiktok"),
    ("LinkedIn", "linkedin"), ("Snapchat", "Snapchat"), (" Reddit Ads ", "Reddit Ads"), ("📈", "📈"),
])
def test_known_platforms_are_canonical_and_others_kept_as_sent(sent: str, kept: str) -> None:
    assert one(platform=sent).platform == kept


def test_every_bad_field_of_every_row_is_named_at_once() -> None:
    found = problems(
        raw(date="2024-02-30", platform=..., spend=-1, clicks="3", cost=5, ad_id=" "),
        raw(),
        raw(campaign_id="c\x00", campaign_name=5, revenue="1.1234567", leads=True, adset_id=None),
        "not a row",
        raw(date=None, impressions=1.25, conversions=-2, ad_name="x" * (MAX_ENTITY_NAME + 1)),
    )
    assert found == {
        "rows.0.date": "must be a valid date (YYYY-MM-DD)", "rows.0.platform": "required",
        "rows.0.spend": "must not be negative", "rows.0.clicks": "must be an integer",
        "rows.0.cost": "unknown field", "rows.0.ad_id": "must not be empty",
        "rows.2.campaign_id": "must not contain U+0000", "rows.2.campaign_name": "must be a string",
        "rows.2.revenue": "must have at most 6 decimal places", "rows.2.leads": "must be an integer",
        "rows.2.adset_id": "required",
        "rows.3": "must be an object",
        "rows.4.date": "required", "rows.4.impressions": "must be an integer",
        "rows.4.conversions": "must not be negative",
        "rows.4.ad_name": f"must be at most {MAX_ENTITY_NAME} characters",
    }


@pytest.mark.parametrize("field", ["date", "platform", "campaign_id", "adset_id", "ad_id"])
def test_required_fields(field: str) -> None:
    assert problems(raw(**{field: ...})) == {f"rows.0.{field}": "required"}
    assert problems(raw(**{field: None})) == {f"rows.0.{field}": "required"}


def test_unknown_fields_are_named_each() -> None:
    assert problems(raw(cost=1, Spend=2, client_id="x")) == {
        "rows.0.Spend": "unknown field", "rows.0.client_id": "unknown field", "rows.0.cost": "unknown field"}


@pytest.mark.parametrize(("sent", "kept"), [
    (12, "12.000000"), (0, "0.000000"), (12.34, "12.340000"), (0.1, "0.100000"), (0.000001, "0.000001"),
    (123456789.123456, "123456789.123456"), ("12.345678", "12.345678"), (" 7.5\t", "7.500000"),
    ("0000.10", "0.100000"), (Decimal("3.14"), "3.140000"), ("1000000000", "1000000000.000000"),
    (1_000_000_000, "1000000000.000000"), ("999999999.999999", "999999999.999999"), ("5.", None),
])
def test_money_as_a_number_or_decimal_text_is_exact(sent: Any, kept: str | None) -> None:
    if kept is None:
        assert "rows.0.spend" in problems(raw(spend=sent))
    else:
        assert str(one(spend=sent).spend) == kept


@pytest.mark.parametrize(("sent", "why"), [
    ("12.3456789", "must have at most 6 decimal places"),
    (0.0000001, "must have at most 6 decimal places"),
    (Decimal("1.0000001"), "must have at most 6 decimal places"),
    (-1, "must not be negative"), (-0.5, "must not be negative"), (Decimal("-0.01"), "must not be negative"),
    ("-1", "must be a non-negative decimal number such as 12.34"),
    ("1e3", "must be a non-negative decimal number such as 12.34"),
    ("12,50", "must be a non-negative decimal number such as 12.34"),
    ("", "must be a non-negative decimal number such as 12.34"),
    ("١٢", "must be a non-negative decimal number such as 12.34"),  # not ASCII digits
    (1_000_000_001, "must be at most 1000000000"), ("1000000000.000001", "must be at most 1000000000"),
    (True, "must be a number or a decimal string"), (False, "must be a number or a decimal string"),
    (None, "must be a number or a decimal string"), ([1], "must be a number or a decimal string"),
    (float("nan"), "must be a number or a decimal string"),
    (float("inf"), "must be a number or a decimal string"),
    (Decimal("NaN"), "must be a number or a decimal string"),
])
def test_bad_money_is_refused(sent: Any, why: str) -> None:
    assert problems(raw(revenue=sent)) == {"rows.0.revenue": why}


@given(micros=cs.money_micros(), data=st.data())
def test_money_in_any_accepted_form_reads_back_to_the_micro(micros: int, data: st.DataObject) -> None:
    sent = data.draw(cs.money_inputs(micros))
    row = one(spend=sent)
    assert row.amount("spend") == micros and row.spend.as_tuple().exponent == -6


@pytest.mark.parametrize(("sent", "why"), [
    (1.5, "must be an integer"), ("5", "must be an integer"), (True, "must be an integer"),
    (Decimal(5), "must be an integer"), (None, "must be an integer"), (-1, "must not be negative"),
    (MAX_COUNT + 1, f"must be at most {MAX_COUNT}"),
])
def test_counts_are_strict_integers(sent: Any, why: str) -> None:
    assert problems(raw(clicks=sent)) == {"rows.0.clicks": why}
    assert one(clicks=MAX_COUNT).clicks == MAX_COUNT and one(clicks=0).clicks == 0
    # JSON has one number type: 7.0 is the whole number 7, as JSON Schema's `integer` says.
    assert one(clicks=7.0).clicks == 7 and type(one(clicks=7.0).clicks) is int


@pytest.mark.parametrize("field", ["platform", "campaign_id", "adset_id", "ad_id", "campaign_name",
                                   "adset_name", "ad_name"])
def test_text_with_u0000_is_refused(field: str) -> None:
    assert problems(raw(**{field: "a\x00b"})) == {f"rows.0.{field}": "must not contain U+0000"}


def test_text_lengths() -> None:
    assert one(ad_id="😀" * MAX_ENTITY_ID, ad_name="名" * MAX_ENTITY_NAME, platform="p" * MAX_PLATFORM).ad_id
    assert problems(raw(ad_id="x" * (MAX_ENTITY_ID + 1), platform="p" * (MAX_PLATFORM + 1),
                        campaign_id=7)) == {
        "rows.0.ad_id": f"must be at most {MAX_ENTITY_ID} characters",
        "rows.0.platform": f"must be at most {MAX_PLATFORM} characters",
        "rows.0.campaign_id": "must be a string"}


@pytest.mark.parametrize(("sent", "why"), [
    ("2023-02-29", "must be a valid date (YYYY-MM-DD)"), ("2024-13-01", "must be a valid date (YYYY-MM-DD)"),
    ("2024-2-1", "must be a date (YYYY-MM-DD)"), ("20240201", "must be a date (YYYY-MM-DD)"),
    (" 2024-02-01", "must be a date (YYYY-MM-DD)"), (20240201, "must be a date (YYYY-MM-DD)"),
    ("1969-12-31", "must be between 1970-01-01 and 2999-12-31"),
    ("3000-01-01", "must be between 1970-01-01 and 2999-12-31"),
])
def test_bad_dates_are_refused(sent: Any, why: str) -> None:
    assert problems(raw(date=sent)) == {"rows.0.date": why}


def test_dates_as_text_or_date_objects() -> None:
    assert one(date="2024-02-29").date == one(date=date(2024, 2, 29)).date == date(2024, 2, 29)
    assert one(date="1970-01-01").date == date(1970, 1, 1)
    assert one(date="2999-12-31").date == date(2999, 12, 31)


def test_a_datetime_is_not_kept_as_a_date() -> None:
    # datetime is a subclass of date: kept as it is, it would compare unequal to the date the SQL
    # storage reads back, and raise TypeError against dates in the memory storage's filters.
    try:
        rows = parse_rows(CLIENT, [raw(date=datetime(2024, 3, 1, 12, 30))])
    except InvalidInput as refused:
        assert set(refused.fields) == {"rows.0.date"}
    else:
        assert type(rows[0].date) is date and rows[0].date == date(2024, 3, 1)


def test_a_batch_repeating_a_key_names_the_repeats() -> None:
    found = problems(raw(), raw(ad_id="a2"), raw(platform="FACEBOOK", ad_id=" a1 ", campaign_id="other"),
                     raw(date=date(2024, 2, 29)), raw(platform="google"), raw(date="2024-03-01"))
    assert found == {"rows.2": "repeats rows.0 (the same date, platform and ad_id)",
                     "rows.3": "repeats rows.0 (the same date, platform and ad_id)"}


def test_batch_sizes() -> None:
    assert problems() == {"rows": f"must hold 1 to {MAX_ROWS_PER_BATCH} rows"}
    many = [raw(ad_id=f"ad {i}") for i in range(MAX_ROWS_PER_BATCH)]
    assert len(parse_rows(CLIENT, many)) == MAX_ROWS_PER_BATCH
    assert problems(*many, raw(ad_id="one more")) == {"rows": f"must hold 1 to {MAX_ROWS_PER_BATCH} rows"}


# -- capacity --------------------------------------------------------------------------------------

def test_capacity_allows_totals_up_to_the_limits() -> None:
    rows = parse_rows(CLIENT, [raw(spend="1000000000", clicks=MAX_COUNT), raw(ad_id="a2", revenue="0.5")])
    full_money = MAX_CLIENT_MONEY_MICROS - 1_000_000_000 * 10**6
    check_capacity(Totals.of({"spend": full_money, "clicks": MAX_CLIENT_COUNT - MAX_COUNT,
                              "revenue": MAX_CLIENT_MONEY_MICROS - 500_000}), rows)
    check_capacity(Totals(), rows)


def test_capacity_names_every_total_that_would_overflow() -> None:
    rows = parse_rows(CLIENT, [raw(spend="0.000001", clicks=1, leads=0, revenue=1)])
    stored = Totals.of({"spend": MAX_CLIENT_MONEY_MICROS, "clicks": MAX_CLIENT_COUNT,
                        "leads": MAX_CLIENT_COUNT, "revenue": MAX_CLIENT_MONEY_MICROS - 1_000_000})
    with pytest.raises(InvalidInput) as caught:
        check_capacity(stored, rows)
    assert set(caught.value.fields) == {"rows.spend", "rows.clicks"}


def _money_read_from_repr(value: float) -> Decimal | str:
    """The plain reading of a JSON number: the shortest text of the double, then the rules."""
    exact = Decimal(repr(value))
    if exact < 0:
        return "negative"
    if exact > Decimal(1_000_000_000):
        return "too large"
    micros = exact.scaleb(6)
    return "places" if micros != micros.to_integral_value() else exact


@given(st.floats(min_value=-1.0, max_value=2e9, allow_nan=False)
       | st.builds(lambda n, places: n / 10**places, st.integers(0, 10**15), st.integers(0, 9)))
def test_a_json_number_reads_as_its_shortest_text_says(value: float) -> None:
    # Money parsing reads doubles arithmetically (faster); it must agree with reading repr(value).
    expected = _money_read_from_repr(value)
    row = {"date": "2024-01-01", "platform": "google", "campaign_id": "c", "adset_id": "s",
           "ad_id": "a", "spend": value}
    try:
        got: Decimal | str = parse_rows(ClientId(uuid.uuid4()), [row])[0].spend
    except InvalidInput as e:
        message = e.fields["rows.0.spend"]
        got = ("negative" if "negative" in message else "too large" if "at most 1" in message
               else "places")
    assert got == expected
