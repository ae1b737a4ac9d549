"""The plain model of the performance machine: the rows a client holds after its batches, and both
reports recomputed from them with nothing but dates, integers and fractions.

Written from the rules in DESIGN.md §8 ("Performance data", "Reports") and the PerformanceRepo
port, not from the core's code: buckets are runs of days sharing a calendar key (the day, the ISO
week, the month), ratios are exact fractions of summed totals, a change is a percent of the previous
value, breakdowns are ordered by spend (highest first) then by key in code point order."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from attrs import define, field

from catalyst_core.errors import InvalidInput
from catalyst_core.ids import ClientId

COUNTS = ("impressions", "clicks", "landing_page_views", "leads", "conversions")
MONEY = ("spend", "revenue")
BASE = ("spend", "impressions", "clicks", "landing_page_views", "leads", "conversions", "revenue")
# name: (numerator, denominator, factor), all in reporting units (money in currency units)
DERIVED = {
    "ctr": ("clicks", "impressions", 1), "cpc": ("spend", "clicks", 1),
    "cpm": ("spend", "impressions", 1000), "cplpv": ("spend", "landing_page_views", 1),
    "cpl": ("spend", "leads", 1), "cpa": ("spend", "conversions", 1), "roas": ("revenue", "spend", 1),
    "conversion_rate": ("conversions", "clicks", 1),
}
KNOWN_PLATFORMS = ("facebook", "google", "tiktok", "linkedin")
LEVELS = ("campaign", "adset", "ad")
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)
DEFAULT_DAYS, MAX_DAYS = 30, 3 * 365 + 1
MICROS = 10**6
DAY = timedelta(days=1)

Amounts = dict[str, int]  # money in micros
Key = tuple[date, str, str]  # date, platform, ad_id


def canonical(platform: str) -> str:
    text = platform.strip()
    return text.lower() if text.lower() in KNOWN_PLATFORMS else text


def money_text(micros: int) -> str:
    return f"{micros // MICROS}.{micros % MICROS:06d}"


@define
class ModelRow:
    date: date
    platform: str
    campaign_id: str
    adset_id: str
    ad_id: str
    campaign_name: str | None
    adset_name: str | None
    ad_name: str | None
    amounts: Amounts = field(factory=dict)

    @property
    def key(self) -> Key:
        return (self.date, self.platform, self.ad_id)

    def listed(self) -> tuple[Any, ...]:
        """As the metrics list shows it (money as six-place text)."""
        return (self.date, self.platform, self.campaign_id, self.campaign_name, self.adset_id,
                self.adset_name, self.ad_id, self.ad_name,
                *(money_text(self.amounts[m]) if m in MONEY else self.amounts[m] for m in BASE))


def summed(rows: Iterable[ModelRow]) -> tuple[Amounts, int]:
    sums, count = dict.fromkeys(BASE, 0), 0
    for row in rows:
        count += 1
        for name in BASE:
            sums[name] += row.amounts[name]
    return sums, count


def exact(sums: Amounts, name: str) -> Fraction | None:
    if name in MONEY:
        return Fraction(sums[name], MICROS)
    if name in COUNTS:
        return Fraction(sums[name])
    top, bottom, factor = DERIVED[name]
    denominator = exact(sums, bottom)
    assert denominator is not None
    return None if denominator == 0 else exact(sums, top) * factor / denominator  # type: ignore[operator]


def metrics(sums: Amounts) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in (*BASE, *DERIVED):
        value = exact(sums, name)
        found[name] = (money_text(sums[name]) if name in MONEY else sums[name] if name in COUNTS
                       else None if value is None else float(value))
    return found


def changes(sums: Amounts, previous: Amounts | None) -> dict[str, float | None]:
    found: dict[str, float | None] = {}
    for name in (*BASE, *DERIVED):
        now = exact(sums, name)
        before = None if previous is None else exact(previous, name)
        found[name] = (None if now is None or before is None or before == 0
                       else float((now - before) / before * 100))
    return found


def resolve_range(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The report's range: by default the 30 whole days up to yesterday (today's data is still
    arriving); one date given, 30 days from or up to it (up to yesterday when the start is before
    today)."""
    yesterday = today - DAY
    if start is None and end is None:
        start, end = yesterday - (DEFAULT_DAYS - 1) * DAY, yesterday
    elif end is None:
        assert start is not None
        end = yesterday if start <= yesterday else start + (DEFAULT_DAYS - 1) * DAY
    elif start is None:
        start = max(end - (DEFAULT_DAYS - 1) * DAY, FIRST_DAY)
    if not (FIRST_DAY <= start <= LAST_DAY and FIRST_DAY <= end <= LAST_DAY) or end < start \
            or (end - start).days >= MAX_DAYS:
        raise InvalidInput({"end_date": "a range the model refuses"})
    return start, end


def bucket_key(day: date, period: str) -> Any:
    if period == "daily":
        return day
    if period == "weekly":
        return day.isocalendar()[:2]  # ISO year and week: weeks start on Monday
    return (day.year, day.month)


def bucket_ranges(start: date, end: date, period: str) -> list[tuple[date, date]]:
    """Runs of consecutive days with the same calendar key, clipped to the range by construction."""
    found: list[tuple[date, date]] = []
    day = start
    while day <= end:
        if found and bucket_key(day, period) == bucket_key(found[-1][1], period):
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
        day += DAY
    return found


class PerformanceModel:
    def __init__(self) -> None:
        self.rows: dict[ClientId, dict[Key, ModelRow]] = {}
        self.names: dict[tuple[ClientId, str, str, str], tuple[date, str]] = {}

    def keys(self, client_id: ClientId) -> list[Key]:
        return sorted(self.rows.get(client_id, {}))

    def ingest(self, client_id: ClientId, rows: list[ModelRow]) -> tuple[int, int]:
        stored = self.rows.setdefault(client_id, {})
        updated = sum(row.key in stored for row in rows)
        for row in rows:
            stored[row.key] = row
            for level in LEVELS:
                name, entity = getattr(row, f"{level}_name"), getattr(row, f"{level}_id")
                known = self.names.get((client_id, row.platform, level, entity))
                if name is not None and (known is None or known[0] <= row.date):
                    self.names[(client_id, row.platform, level, entity)] = (row.date, name)
        return len(rows) - updated, updated

    def name(self, client_id: ClientId, platform: str, level: str, entity: str) -> str | None:
        known = self.names.get((client_id, platform, level, entity))
        return known and known[1]

    def _in(self, client_id: ClientId, start: date, end: date) -> list[ModelRow]:
        return [r for r in self.rows.get(client_id, {}).values() if start <= r.date <= end]

    def listed(self, client_id: ClientId, start: date | None, end: date | None, platform: str | None,
               campaign_id: str | None, ad_id: str | None, descending: bool) -> list[tuple[Any, ...]]:
        rows = [r for r in self._in(client_id, start or FIRST_DAY, end or LAST_DAY)
                if platform in (None, r.platform) and campaign_id in (None, r.campaign_id)
                and ad_id in (None, r.ad_id)]
        return [r.listed() for r in sorted(rows, key=lambda r: r.key, reverse=descending)]

    def growth(self, client_id: ClientId, start: date, end: date, period: str) -> dict[str, Any]:
        spans = bucket_ranges(start, end, period)
        index = {}
        for i, (first, last) in enumerate(spans):
            day = first
            while day <= last:
                index[day] = i
                day += DAY
        grouped: list[list[ModelRow]] = [[] for _ in spans]
        for row in self._in(client_id, start, end):
            grouped[index[row.date]].append(row)
        buckets, before = [], None
        for (first, last), rows in zip(spans, grouped, strict=True):
            sums, count = summed(rows)
            buckets.append((first, last, count, metrics(sums), changes(sums, before)))
            before = sums
        previous_start, previous_end = start - (end - start) - DAY, start - DAY
        current, current_count = summed(self._in(client_id, start, end))
        previous, previous_count = summed(self._in(client_id, previous_start, previous_end))
        return {"range": (start, end, period), "buckets": buckets,
                "current": (start, end, current_count, metrics(current), changes(current, previous)),
                "previous": (previous_start, previous_end, previous_count, metrics(previous),
                             changes(previous, None))}

    def performance(self, client_id: ClientId, start: date, end: date, platform: str | None,
                    campaign_id: str | None, limit: int) -> dict[str, Any]:
        rows = [r for r in self._in(client_id, start, end)
                if platform in (None, r.platform) and campaign_id in (None, r.campaign_id)]
        sums, count = summed(rows)
        nothing = changes(sums, None)
        name = self.name

        def ranked(key: Any, line: Any) -> list[Any]:
            groups: dict[Any, list[ModelRow]] = {}
            for row in rows:
                groups.setdefault(key(row), []).append(row)
            totals = {k: summed(group) for k, group in groups.items()}
            order = sorted(totals, key=lambda k: (-totals[k][0]["spend"], k))
            return [(*line(k), totals[k][1], metrics(totals[k][0]), nothing) for k in order[:limit]]

        return {
            "range": (start, end, platform, campaign_id),
            "totals": (count, metrics(sums), nothing),
            "by_platform": ranked(lambda r: r.platform, lambda k: (k,)),
            "by_campaign": ranked(lambda r: (r.platform, r.campaign_id), lambda k: (
                *k, name(client_id, k[0], "campaign", k[1]))),
            "by_ad": ranked(lambda r: (r.platform, r.campaign_id, r.adset_id, r.ad_id), lambda k: (
                k[0], k[1], name(client_id, k[0], "campaign", k[1]), k[2],
                name(client_id, k[0], "adset", k[2]), k[3], name(client_id, k[0], "ad", k[3]))),
            "counts": {"platforms": len({r.platform for r in rows}),
                       "campaigns": len({(r.platform, r.campaign_id) for r in rows}),
                       "ads": len({(r.platform, r.campaign_id, r.adset_id, r.ad_id) for r in rows})},
        }
