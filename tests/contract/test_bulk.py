"""bulk.execute_many stores exactly what SQLAlchemy's own executemany stores, on SQLite and
PostgreSQL: its parameters skip SQLAlchemy's per-row work (and write SQLite dates its own way)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    delete,
    select,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable

from catalyst_adapters.sql.bulk import _bind_processor, _compile, execute_many
from catalyst_adapters.sql.types import UtcDateTime

_table = Table("bulk_probe", MetaData(), Column("n", Integer, primary_key=True), Column("id", Uuid),
               Column("day", Date), Column("label", String), Column("amount", BigInteger),
               prefixes=["TEMPORARY"])
_COLUMNS = tuple(c.name for c in _table.columns)
_INSERT = _table.insert()
_ROWS = [
    (0, uuid.UUID(int=0), date(1, 1, 1), "", 0),
    (1, uuid.uuid4(), date(2024, 2, 29), "émoji 🎉 \u200f עברית \x01", -(2**63)),
    (2, None, None, None, None),
    (3, uuid.UUID(int=2**128 - 1), date(9999, 12, 31), "'; DROP TABLE x; --", 2**63 - 1),
]


@pytest.mark.parametrize("day", [date(1, 1, 1), date(2024, 2, 29), date(9999, 12, 31), date(1970, 1, 1)])
def test_sqlite_dates_are_written_as_sqlalchemy_writes_them(day: date) -> None:
    dialect = sqlite.dialect()
    ours = _bind_processor(Date(), dialect)
    theirs = Date().dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and theirs is not None
    assert ours(day) == theirs(day)


_ZONES = st.timezones() | st.sampled_from(
    [UTC, timezone(timedelta(hours=-23, minutes=-59)), timezone(timedelta(hours=14))])


@given(moment=st.datetimes(timezones=_ZONES))
def test_sqlite_utc_datetimes_are_written_as_sqlalchemy_writes_them(moment: datetime) -> None:
    dialect = sqlite.dialect()
    ours = _bind_processor(UtcDateTime(), dialect)
    theirs = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and theirs is not None
    try:
        expected: Any = theirs(moment)
    except (OverflowError, ValueError) as e:  # outside what UTC can hold
        expected = type(e)
    try:
        got: Any = ours(moment)
    except (OverflowError, ValueError) as e:
        got = type(e)
    assert got == expected


async def _stored(conn: Any) -> list[tuple[Any, ...]]:
    typed = (await conn.execute(select(_table).order_by(_table.c.n))).all()
    raw = (await conn.execute(text("SELECT * FROM bulk_probe ORDER BY n"))).all()
    return [tuple(r) for r in typed] + [tuple(r) for r in raw]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_execute_many_stores_what_executemany_stores(kind: str, storage_factory: Any) -> None:
    storage = await storage_factory(kind)
    found = []
    for fast in (True, False):
        async with storage.engine.connect() as conn, conn.begin():
            await conn.execute(CreateTable(_table, if_not_exists=True))
            await conn.execute(delete(_table))
            if fast:
                await execute_many(conn, _INSERT, _COLUMNS, _ROWS)
            else:
                await conn.execute(_INSERT, [dict(zip(_COLUMNS, r, strict=True)) for r in _ROWS])
            found.append(await _stored(conn))
    assert found[0] == found[1]
    assert [r[:5] for r in found[0][:4]] == _ROWS  # and reads back as written


def test_rows_must_carry_every_parameter() -> None:
    with pytest.raises(ValueError, match="amount"):
        _compile(_INSERT, _COLUMNS[:-1], sqlite.dialect())
