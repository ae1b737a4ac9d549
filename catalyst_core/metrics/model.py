"""Performance rows: what one ad spent and earned on one day, and the rules for taking them in.

Rows arrive from several places (the HTTP API, CSV files, embedding code), so parsing and checking
a batch lives here, once: every offending field of every row is named in one InvalidInput, keyed
`rows.<index>.<field>`."""

from __future__ import annotations

import enum
import functools
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from attrs import frozen

from catalyst_core.cooperative import map_sliced
from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId
from catalyst_core.metrics.registry import (
    BASE_METRICS,
    MICROS,
    MONEY_METRICS,
    Totals,
    Unit,
    money_from_micros,
)

MAX_ROWS_PER_BATCH = 5_000
MAX_PLATFORM = 64
MAX_ENTITY_ID = 255
MAX_ENTITY_NAME = 512
MAX_MONEY = Decimal(1_000_000_000)  # per row: far beyond any ad's day, and exact in a double
MAX_COUNT = 10**12
MONEY_PLACES = 6  # money is exact to the micro, as ad platforms report it
_MAX_MONEY_FLOAT = float(MAX_MONEY)
# A client's stored totals stay below these, so every sum fits a 64-bit integer on every database.
MAX_CLIENT_MONEY_MICROS = 10**12 * MICROS
MAX_CLIENT_COUNT = 10**18
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2999, 12, 31)

KNOWN_PLATFORMS = ("facebook", "google", "tiktok", "linkedin")


class Level(enum.StrEnum):
    """The levels of an ad account, each with ids and names of its own."""

    CAMPAIGN = "campaign"
    ADSET = "adset"
    AD = "ad"


@frozen
class PerformanceRow:
    """One ad on one day. (client_id, date, platform, ad_id) is unique; money is exact."""

    client_id: ClientId
    date: date
    platform: str
    campaign_id: str
    campaign_name: str | None
    adset_id: str
    adset_name: str | None
    ad_id: str
    ad_name: str | None
    spend: Decimal
    impressions: int
    clicks: int
    landing_page_views: int
    leads: int
    conversions: int
    revenue: Decimal

    @property
    def key(self) -> tuple[date, str, str]:
        """The row's identity within its client."""
        return (self.date, self.platform, self.ad_id)

    def amount(self, metric: str) -> int:
        """The stored amount of a base metric: money in micros, counts as they are."""
        value = getattr(self, metric)
        return int(value * MICROS) if metric in MONEY_METRICS else value

    def totals(self) -> Totals:
        return Totals(tuple(self.amount(m.name) for m in BASE_METRICS), 1)

    def entity_id(self, level: Level) -> str:
        return getattr(self, f"{level.value}_id")

    def entity_name(self, level: Level) -> str | None:
        return getattr(self, f"{level.value}_name")


@frozen
class PerformanceBatch:
    """Rows of one client that passed parse_rows: ingestion takes these (or raw rows, which it
    parses first), so a caller may parse where it likes, off its event loop say."""

    client_id: ClientId
    rows: tuple[PerformanceRow, ...]
    totals: Totals  # of the rows, summed while parsing (the capacity check needs them)


@frozen
class IngestResult:
    inserted: int
    updated: int


@frozen
class PerformanceQuery:
    """A client's rows, optionally narrowed; dates are inclusive."""

    client_id: ClientId
    start_date: date | None = None
    end_date: date | None = None
    platform: str | None = None
    campaign_id: str | None = None
    ad_id: str | None = None


# -- parsing and checking ----------------------------------------------------------------------

REQUIRED_FIELDS = ("date", "platform", "campaign_id", "adset_id", "ad_id")
ROW_FIELDS = ("date", "platform", "campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id",
              "ad_name", *(m.name for m in BASE_METRICS))
_DECIMAL_TEXT = re.compile(r"\s*\d{1,30}(\.\d{1,30})?\s*", re.ASCII)
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class _Bad(Exception):
    """One field's problem while parsing a row."""


def _text(value: Any, max_length: int) -> str:
    if not isinstance(value, str):
        raise _Bad("must be a string")
    if "\x00" in value:
        raise _Bad("must not contain U+0000")
    text = value.strip()
    if len(text) > max_length:
        raise _Bad(f"must be at most {max_length} characters")
    return text


def _required_text(value: Any, max_length: int) -> str:
    text = _text(value, max_length)
    if not text:
        raise _Bad("must not be empty")
    return text


def _optional_text(value: Any, max_length: int) -> str | None:
    return None if value is None else (_text(value, max_length) or None)


def canonical_platform(value: str) -> str:
    """Known platforms in their lower-case names, whatever the case they came in; others trimmed."""
    text = value.strip()
    lowered = text.lower()
    return lowered if lowered in KNOWN_PLATFORMS else text


@functools.lru_cache(maxsize=256)
def _platform_text(value: str) -> str:
    return canonical_platform(_required_text(value, MAX_PLATFORM))


def check_platform(value: Any) -> str:
    # A batch names a handful of platforms thousands of times: each is checked once.
    if not isinstance(value, str):
        raise _Bad("must be a string")
    return _platform_text(value)


@functools.lru_cache(maxsize=4096)
def _date_text(value: str) -> date:
    if not _DATE_TEXT.fullmatch(value):
        raise _Bad("must be a date (YYYY-MM-DD)")
    try:
        return _checked_date(date.fromisoformat(value))
    except ValueError:
        raise _Bad("must be a valid date (YYYY-MM-DD)") from None


def _checked_date(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise _Bad(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


def parse_date(value: Any) -> date:
    """A date object or `YYYY-MM-DD` text, between EARLIEST_DATE and LATEST_DATE."""
    if isinstance(value, str):
        return _date_text(value)  # a batch repeats a few dates thousands of times
    if type(value) is not date:  # a datetime is a date too, but not a day
        raise _Bad("must be a date (YYYY-MM-DD)")
    return _checked_date(value)


def parse_money(value: Any) -> Decimal:
    """A JSON number or decimal text, exact to MONEY_PLACES places, from 0 to MAX_MONEY."""
    if type(value) is float:
        return _money_from_float(value)
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            raise _Bad("must be a non-negative decimal number such as 12.34")
        value = Decimal(value.strip())
    elif isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise _Bad("must be a number or a decimal string")
    if value < 0:
        raise _Bad("must not be negative")
    if value > MAX_MONEY:
        raise _Bad(f"must be at most {MAX_MONEY}")
    micros = value.scaleb(MONEY_PLACES)
    if micros != micros.to_integral_value():
        raise _Bad(f"must have at most {MONEY_PLACES} decimal places")
    return money_from_micros(int(micros))


def _money_from_float(value: float) -> Decimal:
    """What a JSON number means, read straight from the double: the decimal with at most six places
    whose nearest double this is. Below MAX_MONEY, value * 10**6 is within 0.2 of that decimal's
    micros (so rounding finds them), and micros / 10**6 gives the double back only when there is
    such a decimal; the same answer as reading repr(value), at a third of the cost."""
    if not 0 <= value <= _MAX_MONEY_FLOAT:
        if not math.isfinite(value):
            raise _Bad("must be a number or a decimal string")
        if value < 0:
            raise _Bad("must not be negative")
        raise _Bad(f"must be at most {MAX_MONEY}")
    micros = round(value * MICROS)
    if micros / MICROS != value:
        raise _Bad(f"must have at most {MONEY_PLACES} decimal places")
    return money_from_micros(micros)


def parse_count(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():  # JSON's 5393.0 is the whole number 5393
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad("must be an integer")
    if value < 0:
        raise _Bad("must not be negative")
    if value > MAX_COUNT:
        raise _Bad(f"must be at most {MAX_COUNT}")
    return value


def _id_text(value: Any) -> str:
    return _required_text(value, MAX_ENTITY_ID)


def _name_text(value: Any) -> str | None:
    return _optional_text(value, MAX_ENTITY_NAME)


_ABSENT = object()
# (field, parser, required, value when absent), in PerformanceRow's order after client_id: a batch
# holds up to 5,000 rows, so each row is parsed in one tight loop over this table.
_FIELD_PARSERS: tuple[tuple[str, Any, bool, Any], ...] = (
    ("date", parse_date, True, None),
    ("platform", check_platform, True, None),
    ("campaign_id", _id_text, True, None),
    ("campaign_name", _name_text, False, None),
    ("adset_id", _id_text, True, None),
    ("adset_name", _name_text, False, None),
    ("ad_id", _id_text, True, None),
    ("ad_name", _name_text, False, None),
    *((m.name, parse_money if m.unit is Unit.MONEY else parse_count, False,
       money_from_micros(0) if m.unit is Unit.MONEY else 0) for m in BASE_METRICS),
)
assert tuple(name for name, *_ in _FIELD_PARSERS) == ROW_FIELDS
_KNOWN_FIELDS = frozenset(ROW_FIELDS)


def _parse_row(client_id: ClientId, raw: Mapping[str, Any], problems: dict[str, str],
               index: int) -> PerformanceRow | None:
    values: list[Any] = [client_id]
    found: dict[str, str] = {}
    if not _KNOWN_FIELDS.issuperset(raw):
        found.update((name, "unknown field") for name in sorted(set(raw) - _KNOWN_FIELDS))
    get = raw.get
    for name, parse, required, absent in _FIELD_PARSERS:
        value = get(name, _ABSENT)
        if value is _ABSENT or (value is None and required):
            if required:
                found[name] = "required"
            values.append(absent)
            continue
        try:
            values.append(parse(value))
        except _Bad as e:
            found[name] = str(e)
    if found:
        problems.update((f"rows.{index}.{name}", why) for name, why in found.items())
        return None
    return PerformanceRow(*values)


def parse_rows(client_id: ClientId, raw_rows: Sequence[Any]) -> list[PerformanceRow]:
    """Rows as mappings of field name to value: dates as date or `YYYY-MM-DD`, money as a number,
    a Decimal or decimal text, counts as integers (0 when absent), names optional. Raises one
    InvalidInput naming every bad field of every row, and rows repeating an earlier row's key."""
    parse, problems = _row_parser(client_id, raw_rows)
    return _parsed(list(map(parse, enumerate(raw_rows))), problems)


def parse_batch(client_id: ClientId, raw_rows: Sequence[Any]) -> PerformanceBatch:
    """parse_rows, kept as a batch that ingestion accepts without parsing it again."""
    rows = tuple(parse_rows(client_id, raw_rows))
    return PerformanceBatch(client_id, rows, totals_of(rows))


async def parse_batch_sliced(client_id: ClientId, raw_rows: Sequence[Any]) -> PerformanceBatch:
    """parse_batch on the event loop a slice at a time: a full batch is ~50 ms of checks
    (catalyst_core.cooperative)."""
    parse, problems = _row_parser(client_id, raw_rows)
    rows = tuple(_parsed(await map_sliced(parse, enumerate(raw_rows)), problems))
    return PerformanceBatch(client_id, rows, totals_of(rows))


def _row_parser(client_id: ClientId, raw_rows: Sequence[Any]
                ) -> tuple[Callable[[tuple[int, Any]], PerformanceRow | None], dict[str, str]]:
    """What parses one numbered row, in order, and the problems it finds (shared by the rows)."""
    if not 1 <= len(raw_rows) <= MAX_ROWS_PER_BATCH:
        raise InvalidInput({"rows": f"must hold 1 to {MAX_ROWS_PER_BATCH} rows"})
    problems: dict[str, str] = {}
    first_of: dict[tuple[date, str, str], int] = {}

    def parse(numbered: tuple[int, Any]) -> PerformanceRow | None:
        i, raw = numbered
        if not isinstance(raw, Mapping):
            problems[f"rows.{i}"] = "must be an object"
            return None
        row = _parse_row(client_id, raw, problems, i)
        if row is None:
            return None
        earlier = first_of.setdefault(row.key, i)
        if earlier != i:
            problems[f"rows.{i}"] = f"repeats rows.{earlier} (the same date, platform and ad_id)"
        return row

    return parse, problems


def _parsed(parsed: list[PerformanceRow | None], problems: dict[str, str]) -> list[PerformanceRow]:
    if problems:
        raise InvalidInput(problems)
    return [row for row in parsed if row is not None]


def filter_text(value: str | None) -> str | None:
    """A text filter as given, trimmed; empty means no filter (`?campaign_id=`)."""
    return (value.strip() or None) if value is not None else None


def filter_problems(**texts: str | None) -> dict[str, str]:
    """Problems of text filters: no database can store U+0000, so none can match it."""
    return {name: "must not contain U+0000" for name, value in texts.items()
            if value is not None and "\x00" in value}


def totals_of(rows: Sequence[PerformanceRow]) -> Totals:
    """The rows' totals, summed per metric at C speed (money as exact Decimals, then in micros)."""
    sums = [sum(map(operator.attrgetter(m.name), rows)) for m in BASE_METRICS]
    return Totals(tuple(int(v * MICROS) if m.unit is Unit.MONEY else v
                        for m, v in zip(BASE_METRICS, sums, strict=True)), len(rows))


def check_capacity(stored: Totals, incoming: Totals | Sequence[PerformanceRow]) -> None:
    """A client's totals must stay small enough for every database to sum them exactly."""
    added = (incoming if isinstance(incoming, Totals) else totals_of(incoming)).values
    too_large = [
        m.name for m, before, more in zip(BASE_METRICS, stored.values, added, strict=True)
        if before + more > (MAX_CLIENT_MONEY_MICROS if m.unit is Unit.MONEY else MAX_CLIENT_COUNT)
    ]
    if too_large:
        raise InvalidInput({f"rows.{name}": "would take this client's stored total past what "
                            "Catalyst can sum exactly" for name in too_large})


# -- aggregates, as storage hands them to the reports ------------------------------------------

@frozen
class DayTotals:
    """A client's totals on one day."""

    date: date
    totals: Totals


@frozen
class EntityTotals:
    """The totals of one ad within one campaign and ad set over a range, with the newest names
    known for each level (None when no row carried one)."""

    platform: str
    campaign_id: str
    adset_id: str
    ad_id: str
    campaign_name: str | None
    adset_name: str | None
    ad_name: str | None
    totals: Totals

