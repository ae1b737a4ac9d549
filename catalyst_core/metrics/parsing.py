"""Taking performance rows in: parsing and checking a batch, field by field.

Rows arrive from several places (the HTTP API, CSV files, embedding code), so this lives here, once:
every offending field of every row is named in one InvalidInput, keyed `rows.<index>.<field>`."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from catalyst_core.cooperative import map_sliced
from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId
from catalyst_core.metrics.model import (
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_COUNT,
    MAX_ENTITY_ID,
    MAX_ENTITY_NAME,
    MAX_MONEY,
    MAX_PLATFORM,
    MAX_ROWS_PER_BATCH,
    MONEY_PLACES,
    PerformanceBatch,
    PerformanceRow,
    canonical_platform,
    totals_of,
)
from catalyst_core.metrics.registry import BASE_METRICS, MICROS, Unit, money_from_micros

_MAX_MONEY_FLOAT = float(MAX_MONEY)

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


async def parse_batch(client_id: ClientId, raw_rows: Sequence[Any]) -> PerformanceBatch:
    """parse_rows, on the event loop a slice at a time (a full batch is ~50 ms of checks;
    catalyst_core.cooperative), kept as a batch that ingestion accepts without parsing it again."""
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
