"""Storing a batch of performance rows on SQL: the rows, the rollups' differences, the newest names.

The batch goes into a temporary table in one executemany; the database computes the rest from it,
in statements built once per dialect: how many rows it replaces, the difference it makes to each
rollup row (what it brings minus what it replaces, an ad moved to another campaign included) and
the upsert of the rows. Only the newest name per campaign, ad set and ad is chosen in Python,
which was faster than SQLite's window functions (docs/benchmarks.md)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateTable

from catalyst_adapters.sql.bulk import execute_many
from catalyst_adapters.sql.queries import integrity_error
from catalyst_adapters.sql.tables import (
    performance_days,
    performance_months,
    performance_names,
    performance_rows,
)
from catalyst_core.cooperative import map_sliced
from catalyst_core.ids import ClientId
from catalyst_core.metrics.model import IngestResult, Level, PerformanceRow
from catalyst_core.metrics.registry import BASE_NAMES, MICROS, MONEY_METRICS

_SUMMED = ("row_count", *BASE_NAMES)
_MONEY_POSITIONS = tuple(i for i, name in enumerate(BASE_NAMES) if name in MONEY_METRICS)

# Not part of the schema (no migration creates it): each connection makes its own when it first
# ingests. PostgreSQL empties it at every commit; SQLite's is emptied before each batch.
incoming = Table(
    "performance_incoming", MetaData(),
    Column("seq", Integer, nullable=False),  # the row's place in its batch: later rows win ties
    Column("date", Date, nullable=False),
    Column("platform", String, nullable=False),
    Column("campaign_id", String, nullable=False),
    Column("campaign_name", String),
    Column("adset_id", String, nullable=False),
    Column("adset_name", String),
    Column("ad_id", String, nullable=False),
    Column("ad_name", String),
    *(Column(name, BigInteger, nullable=False) for name in BASE_NAMES),
    prefixes=["TEMPORARY"], postgresql_on_commit="DELETE ROWS",
)
_COLUMNS = tuple(c.name for c in incoming.columns)
_I, _R = incoming.c, performance_rows.c


def _client() -> Any:
    return bindparam("client_id", type_=Uuid)


# The stored rows this batch replaces.
_REPLACED = incoming.join(performance_rows, and_(
    _R.client_id == _client(), _R.date == _I.date, _R.platform == _I.platform, _R.ad_id == _I.ad_id))


def _insert(dialect: str, table: Any) -> Any:
    return (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)


def _month(dialect: str) -> Any:
    """The first day of the month of each incoming row's date, computed by the database."""
    if dialect == "sqlite":
        return func.date(_I.date, "start of month").label("month")
    return cast(func.date_trunc("month", _I.date), Date).label("month")


def _rollup(dialect: str, table: Table, new_keys: Sequence[Any], old_keys: Sequence[Any]) -> Any:
    """Add to `table` the batch's rows (grouped by `new_keys`) minus the rows they replace
    (grouped by `old_keys`, the keys the stored rows had), skipping groups that do not change."""
    brought = select(*new_keys, literal(1, BigInteger).label("row_count"),
                     *(_I[name] for name in BASE_NAMES))
    replaced = select(*old_keys, literal(-1, BigInteger).label("row_count"),
                      *((-_R[name]).label(name) for name in BASE_NAMES)).select_from(_REPLACED)
    both = union_all(brought, replaced).subquery("both")
    key_names = [c.name for c in table.primary_key][1:]  # after client_id
    sums = [func.sum(both.c[name]).label(name) for name in _SUMMED]
    differences = (select(_client().label("client_id"), *(both.c[k] for k in key_names), *sums)
                   .group_by(*(both.c[k] for k in key_names))
                   .having(or_(*(s != 0 for s in sums))))
    statement = _insert(dialect, table).from_select(["client_id", *key_names, *_SUMMED], differences)
    return statement.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key],
        set_={name: table.c[name] + statement.excluded[name] for name in _SUMMED})


@functools.cache
def _statements(dialect: str) -> dict[str, Any]:
    rows = _insert(dialect, performance_rows)
    row_columns = [c.name for c in performance_rows.columns]
    names = _insert(dialect, performance_names)
    return {
        "create": CreateTable(incoming, if_not_exists=True),
        "empty": delete(incoming),
        "replaced": select(func.count()).select_from(_REPLACED),
        "days": _rollup(dialect, performance_days, [_I.date], [_I.date]),
        "months": _rollup(dialect, performance_months,
                          [_month(dialect), _I.platform, _I.campaign_id, _I.adset_id, _I.ad_id],
                          [_month(dialect), _I.platform, _R.campaign_id, _R.adset_id, _I.ad_id]),
        # WHERE true: SQLite's parser otherwise reads ON CONFLICT as a join's ON.
        "rows": rows.from_select(row_columns, select(
            _client(), *(_I[name] for name in row_columns[1:])).where(true())
        ).on_conflict_do_update(
            index_elements=[c.name for c in performance_rows.primary_key],
            set_={name: rows.excluded[name] for name in row_columns[4:]}),
        "names": names.on_conflict_do_update(
            index_elements=[c.name for c in performance_names.primary_key],
            set_={"name": names.excluded.name, "as_of": names.excluded.as_of},
            where=names.excluded.as_of >= performance_names.c.as_of),
    }


_amounts_of = operator.attrgetter(*BASE_NAMES)


def _incoming(seq: int, row: PerformanceRow) -> tuple[Any, ...]:
    amounts = list(_amounts_of(row))
    for i in _MONEY_POSITIONS:
        amounts[i] = int(amounts[i] * MICROS)
    return (seq, row.date, row.platform, row.campaign_id, row.campaign_name, row.adset_id,
            row.adset_name, row.ad_id, row.ad_name, *amounts)


async def upsert(conn: AsyncConnection, client_id: ClientId, rows: Sequence[PerformanceRow]
                 ) -> IngestResult:
    """PerformanceRepo.upsert on one connection (inside the caller's transaction)."""
    statements = _statements(conn.dialect.name)
    client = {"client_id": client_id}
    # Tens of milliseconds of Python for a full batch: a slice at a time (catalyst_core.cooperative).
    batch, names = await _prepared(client_id, rows)
    await conn.execute(statements["create"])
    await conn.execute(statements["empty"])
    await execute_many(conn, incoming.insert(), _COLUMNS, batch)
    replaced = (await conn.execute(statements["replaced"], client)).scalar_one()
    try:
        # The rollups first: their differences read the rows as they were before this batch.
        for step in ("days", "months", "rows"):
            await conn.execute(statements[step], client)
        await execute_many(conn, statements["names"], _NAME_COLUMNS, names)
    except IntegrityError as e:  # a client that is not stored (the foreign keys)
        raise integrity_error(e, "a row of this batch is stored twice") from None
    return IngestResult(inserted=len(rows) - replaced, updated=replaced)


async def _prepared(client_id: ClientId, rows: Sequence[PerformanceRow]
                    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The batch's tuples for the temporary table, and those of its newest names."""
    newest: dict[tuple[str, str, str], tuple[Any, str]] = {}
    await map_sliced(functools.partial(_note_names, newest), rows)
    names = [(client_id, platform, level, entity_id, name, as_of)
             for (platform, level, entity_id), (as_of, name) in newest.items()]
    return await map_sliced(_incoming_numbered, enumerate(rows)), names


def _incoming_numbered(numbered: tuple[int, PerformanceRow]) -> tuple[Any, ...]:
    return _incoming(*numbered)


_CAMPAIGN, _ADSET, _AD = Level.CAMPAIGN.value, Level.ADSET.value, Level.AD.value
_NAME_COLUMNS = ("client_id", "platform", "level", "entity_id", "name", "as_of")


def _note_names(names: dict[tuple[str, str, str], tuple[Any, str]], row: PerformanceRow) -> None:
    """Keeps in `names`, per (platform, level, id), the name of the batch's latest-dated row that
    carries one (the later row on equal dates); stored names of later dates win in the statement
    itself. In Python: SQLite's window functions took four times as long for the same choice."""
    for key, name in (((row.platform, _CAMPAIGN, row.campaign_id), row.campaign_name),
                      ((row.platform, _ADSET, row.adset_id), row.adset_name),
                      ((row.platform, _AD, row.ad_id), row.ad_name)):
        if name is not None:
            known = names.get(key)
            if known is None or row.date >= known[0]:
                names[key] = (row.date, name)
