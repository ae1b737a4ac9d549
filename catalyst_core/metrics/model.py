"""Performance rows: what one ad spent and earned on one day, their limits and totals. Taking
rows in (parsing and checking a batch) is catalyst_core.metrics.parsing."""

from __future__ import annotations

import enum
import operator
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from attrs import frozen

from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId
from catalyst_core.metrics.registry import (
    BASE_METRICS,
    MICROS,
    MONEY_METRICS,
    Totals,
    Unit,
)

MAX_ROWS_PER_BATCH = 5_000
MAX_PLATFORM = 64
MAX_ENTITY_ID = 255
MAX_ENTITY_NAME = 512
MAX_MONEY = Decimal(1_000_000_000)  # per row: far beyond any ad's day, and exact in a double
MAX_COUNT = 10**12
MONEY_PLACES = 6  # money is exact to the micro, as ad platforms report it
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


def canonical_platform(value: str) -> str:
    """Known platforms in their lower-case names, whatever the case they came in; others trimmed."""
    text = value.strip()
    lowered = text.lower()
    return lowered if lowered in KNOWN_PLATFORMS else text


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

