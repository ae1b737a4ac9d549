"""SQL repository of performance data: rows, the rollups kept exact at ingestion, and the sums.

Each upsert reads the stored versions of its rows first, then applies the difference (new minus
replaced) to the per-day and per-month rollups in the same transaction, so the rollups always equal
the sums of the rows. Reports then read a few thousand rollup rows instead of a million raw ones:
the growth report reads one row per day; the performance report reads whole months from the
monthly rollup and only the partial months at the ends of its range from the raw rows."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Date,
    String,
    and_,
    bindparam,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from catalyst_adapters.sql.bulk import execute_many
from catalyst_adapters.sql.queries import fetch_page, integrity_error
from catalyst_adapters.sql.tables import (
    performance_days,
    performance_months,
    performance_names,
    performance_rows,
)
from catalyst_core.ids import ClientId
from catalyst_core.metrics.model import (
    DayTotals,
    EntityTotals,
    IngestResult,
    Level,
    PerformanceQuery,
    PerformanceRow,
)
from catalyst_core.metrics.registry import (
    BASE_NAMES,
    MICROS,
    MONEY_METRICS,
    Totals,
    money_from_micros,
)
from catalyst_core.paging import Order, Page, PageRequest

_ROWS = performance_rows.c
_ENTITY = ("platform", "campaign_id", "adset_id", "ad_id")
_ROW_FIELDS = ("date", "platform", "campaign_id", "campaign_name", "adset_id", "adset_name", "ad_id",
               "ad_name", *BASE_NAMES)
assert _ROW_FIELDS == tuple(c.name for c in (_ROWS[n] for n in _ROW_FIELDS))
_MONEY = frozenset(i for i, name in enumerate(_ROW_FIELDS) if name in MONEY_METRICS)
Amounts = tuple[int, ...]  # row_count, then each base metric (money in micros)


def _month(day: date) -> date:
    return day.replace(day=1)


_CAMPAIGN, _ADSET, _AD = Level.CAMPAIGN.value, Level.ADSET.value, Level.AD.value
_MONEY_POSITIONS = tuple(i for i, name in enumerate(BASE_NAMES) if name in MONEY_METRICS)


def _amounts(row: PerformanceRow) -> Amounts:
    """1 (the row itself), then each base metric as stored: money in micros."""
    amounts = [1, *(getattr(row, name) for name in BASE_NAMES)]
    for i in _MONEY_POSITIONS:
        amounts[i + 1] = int(amounts[i + 1] * MICROS)
    return tuple(amounts)


def _as_int(value: Any) -> int:
    return int(value)  # PostgreSQL sums bigints into numeric (Decimal); SQLite into int


def _totals(sums: Sequence[Any]) -> Totals:
    """Totals from (row_count, metric sums...), NULL sums (no rows) as zero."""
    row_count, *metrics = (0 if v is None else _as_int(v) for v in sums)
    return Totals(tuple(metrics), row_count)


def _performance_row(client_id: ClientId, row: Sequence[Any]) -> PerformanceRow:
    values = [money_from_micros(v) if i in _MONEY else v for i, v in enumerate(row)]
    return PerformanceRow(client_id, *values)


# -- statements, built once per dialect --------------------------------------------------------

def _insert(dialect: str, table: Any) -> Any:
    return (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)


@functools.cache
def _write_statements(dialect: str) -> dict[str, Any]:
    rows = _insert(dialect, performance_rows)
    days = _insert(dialect, performance_days)
    months = _insert(dialect, performance_months)
    names = _insert(dialect, performance_names)
    summed = ("row_count", *BASE_NAMES)
    return {
        "rows": rows.on_conflict_do_update(
            index_elements=[c.name for c in performance_rows.primary_key],
            set_={name: rows.excluded[name] for name in _ROW_FIELDS if name not in
                  ("date", "platform", "ad_id")}),
        # The rollups take differences: each batch adds what it brings and takes off what it replaced.
        "days": days.on_conflict_do_update(
            index_elements=[c.name for c in performance_days.primary_key],
            set_={n: performance_days.c[n] + days.excluded[n] for n in summed}),
        "months": months.on_conflict_do_update(
            index_elements=[c.name for c in performance_months.primary_key],
            set_={n: performance_months.c[n] + months.excluded[n] for n in summed}),
        "names": names.on_conflict_do_update(
            index_elements=[c.name for c in performance_names.primary_key],
            set_={"name": names.excluded.name, "as_of": names.excluded.as_of},
            where=names.excluded.as_of >= performance_names.c.as_of),
        "stored": _stored_rows(dialect),
    }


def _stored_rows(dialect: str) -> Any:
    """The stored versions of a batch's rows, looked up by key: the keys travel as one parameter
    (a JSON array on SQLite, three arrays on PostgreSQL) so the statement is built once."""
    if dialect == "sqlite":
        each = func.json_each(bindparam("keys", type_=String)).table_valued("value")
        # Materialized, so SQLite knows the keys' count and loops over them, looking each row up by
        # its primary key; as a plain subquery it scanned the client's rows for every key.
        keys = select(func.json_extract(each.c.value, "$[0]").label("date"),
                      func.json_extract(each.c.value, "$[1]").label("platform"),
                      func.json_extract(each.c.value, "$[2]").label("ad_id")
                      ).cte("k").prefix_with("MATERIALIZED")
    else:
        keys = func.unnest(bindparam("dates", type_=postgresql.ARRAY(Date)),
                           bindparam("platforms", type_=postgresql.ARRAY(String)),
                           bindparam("ads", type_=postgresql.ARRAY(String))
                           ).table_valued("date", "platform", "ad_id").render_derived(name="k")
    return (select(_ROWS.date, _ROWS.platform, _ROWS.ad_id, _ROWS.campaign_id, _ROWS.adset_id,
                   *(_ROWS[name] for name in BASE_NAMES))
            .select_from(keys.join(performance_rows, and_(
                _ROWS.client_id == bindparam("client_id"), _ROWS.date == keys.c.date,
                _ROWS.platform == keys.c.platform, _ROWS.ad_id == keys.c.ad_id))))


_SUMS = tuple(func.sum(performance_days.c[n]) for n in ("row_count", *BASE_NAMES))
_DAILY = (select(performance_days.c.date, *(performance_days.c[n] for n in ("row_count", *BASE_NAMES)))
          .where(performance_days.c.client_id == bindparam("client_id"),
                 performance_days.c.date.between(bindparam("start"), bindparam("end")))
          .order_by(performance_days.c.date))
_CLIENT_TOTALS = select(*_SUMS).where(performance_days.c.client_id == bindparam("client_id"))


@functools.cache
def _list_statements(shape: tuple[str, ...], order: Order) -> tuple[Any, Any]:
    conditions = {
        "start_date": _ROWS.date >= bindparam("start_date"),
        "end_date": _ROWS.date <= bindparam("end_date"),
        "platform": _ROWS.platform == bindparam("platform"),
        "campaign_id": _ROWS.campaign_id == bindparam("campaign_id"),
        "ad_id": _ROWS.ad_id == bindparam("ad_id"),
    }
    where = [_ROWS.client_id == bindparam("client_id"), *(conditions[name] for name in shape)]
    keys = (_ROWS.date, _ROWS.platform, _ROWS.ad_id)
    rows = (select(*(_ROWS[name] for name in _ROW_FIELDS)).where(*where)
            .order_by(*(k.desc() if order is Order.DESC else k.asc() for k in keys))
            .limit(bindparam("limit")).offset(bindparam("offset")))
    return rows, select(func.count()).select_from(performance_rows).where(*where)


@functools.cache
def _entity_statement(months: bool, edges: int, platform: bool, campaign: bool) -> Any:
    """Sums per (platform, campaign_id, adset_id, ad_id) over whole months of the monthly rollup
    (`:month_start`..`:month_end`) and `edges` ranges of raw rows (`:edge<i>_start`..`_end`), with
    the newest names. Shapes are few, so each is built once and bound afterwards."""
    parts = []

    def narrowed(table: Any, *where: Any) -> list[Any]:
        conds = [table.c.client_id == bindparam("client_id"), *where]
        if platform:
            conds.append(table.c.platform == bindparam("platform"))
        if campaign:
            conds.append(table.c.campaign_id == bindparam("campaign_id"))
        return conds

    entity = lambda table: [table.c[name] for name in _ENTITY]  # noqa: E731
    if months:
        m = performance_months
        parts.append(select(*entity(m), m.c.row_count, *(m.c[n] for n in BASE_NAMES)).where(
            *narrowed(m, m.c.month.between(bindparam("month_start"), bindparam("month_end")))))
    for i in range(edges):
        parts.append(select(*entity(performance_rows), literal(1, BigInteger).label("row_count"),
                            *(_ROWS[n] for n in BASE_NAMES)).where(
            *narrowed(performance_rows,
                      _ROWS.date.between(bindparam(f"edge{i}_start"), bindparam(f"edge{i}_end")))))
    both = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("parts")
    grouped = (select(*(both.c[name] for name in _ENTITY),
                      *(func.sum(both.c[n]).label(n) for n in ("row_count", *BASE_NAMES)))
               .group_by(*(both.c[name] for name in _ENTITY))
               # A rollup row emptied by replacements (an ad moved to another campaign) is no group.
               .having(func.sum(both.c.row_count) > 0)).subquery("grouped")
    joins, names = grouped, []
    for level, id_column in ((Level.CAMPAIGN, "campaign_id"), (Level.ADSET, "adset_id"),
                             (Level.AD, "ad_id")):
        n = performance_names.alias(f"{level.value}_names")
        joins = joins.outerjoin(n, and_(
            n.c.client_id == bindparam("client_id"), n.c.platform == grouped.c.platform,
            n.c.level == level.value, n.c.entity_id == grouped.c[id_column]))
        names.append(n.c.name)
    return select(*(grouped.c[name] for name in _ENTITY), *names,
                  *(grouped.c[n] for n in ("row_count", *BASE_NAMES))).select_from(joins)


def _split_range(start: date, end: date) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """The whole months inside [start, end] (first days of the first and last), and the ranges of
    days outside them, which are read from raw rows."""
    first_full = start if start.day == 1 else (_month(start) + timedelta(days=32)).replace(day=1)
    after_end = end + timedelta(days=1)
    last_full_end = end if after_end.day == 1 else _month(end) - timedelta(days=1)
    if first_full > last_full_end:
        return None, [(start, end)]
    edges = []
    if start < first_full:
        edges.append((start, first_full - timedelta(days=1)))
    if last_full_end < end:
        edges.append((last_full_end + timedelta(days=1), end))
    return (first_full, _month(last_full_end)), edges


# -- the repository ---------------------------------------------------------------------------------

class SqlPerformanceRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn
        self._dialect = conn.dialect.name

    def _offloaded(self) -> Callable[..., Any]:
        """Statements whose cost grows with the data leave the event loop on SQLite's inline
        readers (they run on a worker thread); other connections are asynchronous already."""
        return getattr(self._c, "execute_offloaded", self._c.execute)

    async def upsert(self, client_id: ClientId, rows: Sequence[PerformanceRow]) -> IngestResult:
        statements = _write_statements(self._dialect)
        stored = await self._stored(statements["stored"], client_id, rows)
        days: dict[date, list[int]] = {}
        months: dict[tuple[Any, ...], list[int]] = {}
        values = []
        for row in rows:
            amounts = _amounts(row)
            month = _month(row.date)
            _add(days, row.date, amounts, 1)
            _add(months, (month, row.platform, row.campaign_id, row.adset_id, row.ad_id), amounts, 1)
            old = stored.get(row.key)
            if old is not None:
                campaign_id, adset_id, old_amounts = old
                _add(days, row.date, old_amounts, -1)
                _add(months, (month, row.platform, campaign_id, adset_id, row.ad_id), old_amounts, -1)
            values.append({"client_id": client_id, "date": row.date, "platform": row.platform,
                           "campaign_id": row.campaign_id, "campaign_name": row.campaign_name,
                           "adset_id": row.adset_id, "adset_name": row.adset_name,
                           "ad_id": row.ad_id, "ad_name": row.ad_name,
                           **dict(zip(BASE_NAMES, amounts[1:], strict=True))})
        try:
            await execute_many(self._c, statements["rows"], values)
        except IntegrityError as e:
            raise integrity_error(e, "a row of this batch is stored twice") from None
        await self._apply(statements["days"], days, ("date",), client_id)
        await self._apply(statements["months"], months,
                          ("month", "platform", "campaign_id", "adset_id", "ad_id"), client_id)
        await execute_many(self._c, statements["names"], [
            {"client_id": client_id, "platform": p, "level": level, "entity_id": i, "name": name,
             "as_of": as_of} for (p, level, i), (as_of, name) in _newest_names(rows).items()])
        return IngestResult(inserted=len(rows) - len(stored), updated=len(stored))

    async def _stored(self, statement: Any, client_id: ClientId, rows: Sequence[PerformanceRow]
                      ) -> dict[tuple[date, str, str], tuple[str, str, Amounts]]:
        if self._dialect == "sqlite":
            params: dict[str, Any] = {"keys": orjson.dumps(
                [(r.date.isoformat(), r.platform, r.ad_id) for r in rows]).decode()}
        else:
            params = {"dates": [r.date for r in rows], "platforms": [r.platform for r in rows],
                      "ads": [r.ad_id for r in rows]}
        found = await self._c.execute(statement, {"client_id": client_id, **params})
        return {(d, p, a): (campaign_id, adset_id, (1, *map(_as_int, metrics)))
                for d, p, a, campaign_id, adset_id, *metrics in found}

    async def _apply(self, statement: Any, deltas: dict[Any, list[int]], key_names: tuple[str, ...],
                     client_id: ClientId) -> None:
        changed = [
            {"client_id": client_id,
             **dict(zip(key_names, key if isinstance(key, tuple) else (key,), strict=True)),
             **dict(zip(("row_count", *BASE_NAMES), amounts, strict=True))}
            for key, amounts in deltas.items() if any(amounts)]
        await execute_many(self._c, statement, changed)

    async def list(self, query: PerformanceQuery, page: PageRequest, order: Order
                   ) -> Page[PerformanceRow]:
        values = {name: getattr(query, name) for name in
                  ("start_date", "end_date", "platform", "campaign_id", "ad_id")
                  if getattr(query, name) is not None}
        rows, count = _list_statements(tuple(values), order)
        return await fetch_page(self._c, rows, count, page,
                                lambda r: _performance_row(query.client_id, r),
                                params={"client_id": query.client_id, **values}, heavy=True)

    async def daily_totals(self, client_id: ClientId, start: date, end: date) -> list[DayTotals]:
        found = await self._offloaded()(_DAILY, {"client_id": client_id, "start": start, "end": end})
        return [DayTotals(day, _totals(sums)) for day, *sums in found]

    async def entity_totals(self, client_id: ClientId, start: date, end: date, *,
                            platform: str | None = None, campaign_id: str | None = None
                            ) -> list[EntityTotals]:
        months, edges = _split_range(start, end)
        params: dict[str, Any] = {"client_id": client_id}
        if months is not None:
            params["month_start"], params["month_end"] = months
        for i, (edge_start, edge_end) in enumerate(edges):
            params[f"edge{i}_start"], params[f"edge{i}_end"] = edge_start, edge_end
        if platform is not None:
            params["platform"] = platform
        if campaign_id is not None:
            params["campaign_id"] = campaign_id
        statement = _entity_statement(months is not None, len(edges), platform is not None,
                                      campaign_id is not None)
        found = await self._offloaded()(statement, params)
        return [EntityTotals(p, c, s, a, campaign_name, adset_name, ad_name, _totals(sums))
                for p, c, s, a, campaign_name, adset_name, ad_name, *sums in found]

    async def client_totals(self, client_id: ClientId) -> Totals:
        found = await self._c.execute(_CLIENT_TOTALS, {"client_id": client_id})
        return _totals(found.one())


def _add(deltas: dict[Any, list[int]], key: Any, amounts: Iterable[int], sign: int) -> None:
    current = deltas.get(key)
    if current is None:
        deltas[key] = [sign * a for a in amounts]
    else:
        for i, a in enumerate(amounts):
            current[i] += sign * a


def _newest_names(rows: Sequence[PerformanceRow]) -> dict[tuple[str, str, str], tuple[date, str]]:
    """Per (platform, level, id), the name of the batch's latest-dated row that carries one (the
    later row on equal dates), as the port's naming rule asks; stored names of later dates win
    in the statement itself."""
    names: dict[tuple[str, str, str], tuple[date, str]] = {}
    for row in rows:
        for key, name in (((row.platform, _CAMPAIGN, row.campaign_id), row.campaign_name),
                          ((row.platform, _ADSET, row.adset_id), row.adset_name),
                          ((row.platform, _AD, row.ad_id), row.ad_name)):
            if name is not None:
                known = names.get(key)
                if known is None or row.date >= known[0]:
                    names[key] = (row.date, name)
    return names
