"""The alembic migrations produce exactly the schema of adapters/sql/tables.py, on SQLite and on
PostgreSQL: alembic's own comparison (tables, columns, types, nullability, defaults, indexes, unique
and foreign keys), plus what it does not look at: primary keys, PostgreSQL collations (the `C` sort
keys) and SQLite's WITHOUT ROWID tables. Each check is also shown to catch a deliberate change."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from catalyst_adapters.sql import create_engine
from catalyst_adapters.sql.tables import metadata
from tests.conftest import sqlite_copy


def schema_differences(conn: Connection, target: sa.MetaData) -> list[str]:
    """Every way the database behind `conn` differs from `target`, as readable lines."""
    context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
    found = [repr(diff) for diff in compare_metadata(context, target)]
    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names())
    for table in (t for t in target.sorted_tables if t.name in present):  # missing ones: reported above
        pk = inspector.get_pk_constraint(table.name)
        declared = [c.name for c in table.primary_key.columns]
        if pk["constrained_columns"] != declared:
            found.append(f"{table.name}: primary key {pk['constrained_columns']}, tables.py says {declared}")
        if conn.dialect.name == "postgresql" and pk["name"] != table.primary_key.name:
            found.append(f"{table.name}: primary key named {pk['name']}, "
                         f"tables.py says {table.primary_key.name}")
    if conn.dialect.name == "postgresql":
        collations = {(t, c): collation for t, c, collation in conn.execute(sa.text(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"))}
        for table in (t for t in target.sorted_tables if t.name in present):
            for column in table.columns:
                declared = getattr(column.type.dialect_impl(conn.dialect), "collation", None)
                if collations.get((table.name, column.name)) != declared:
                    found.append(f"{table.name}.{column.name}: collation "
                                 f"{collations.get((table.name, column.name))}, tables.py says {declared}")
    else:
        sql = dict(conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all())
        for table in (t for t in target.sorted_tables if t.name in present):
            rowid = table.dialect_options["sqlite"].get("with_rowid", True)
            if ("WITHOUT ROWID" not in sql.get(table.name, "").upper()) != rowid:
                found.append(f"{table.name}: with_rowid is {not rowid} in the database, {rowid} in tables.py")
    return found


@pytest.fixture(params=["sqlite", "postgres"])
async def migrated(request: pytest.FixtureRequest, sqlite_template: Path,
                   tmp_path: Path) -> AsyncIterator[Any]:
    """An engine on a database the migrations brought from nothing to head: a copy of the session's
    SQLite template, or the session's PostgreSQL schema (tests/conftest.py builds both that way)."""
    if request.param == "sqlite":
        engine = create_engine(sqlite_copy(sqlite_template, tmp_path))
    else:
        url, kwargs = request.getfixturevalue("postgres_url")
        engine = create_engine(url, **kwargs)
    yield engine
    await engine.dispose()


async def differences(engine: Any, target: sa.MetaData) -> list[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(schema_differences, target)


async def test_the_migrations_build_exactly_the_tables_of_tables_py(migrated: Any) -> None:
    assert await differences(migrated, metadata) == []


def _changed(change: Callable[[sa.MetaData], None]) -> sa.MetaData:
    copy = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    change(copy)
    return copy


def _drop_ondelete(m: sa.MetaData) -> None:
    for fk in m.tables["performance_names"].foreign_key_constraints:
        fk.ondelete = None


def _narrow_primary_key(m: sa.MetaData) -> None:
    """task_counts keyed by client_id alone (status an ordinary column)."""
    m.remove(m.tables["task_counts"])
    sa.Table("task_counts", m,
             sa.Column("client_id", sa.Uuid, sa.ForeignKey("clients.id", ondelete="CASCADE"),
                       primary_key=True),
             sa.Column("status", sa.String(16), nullable=False),
             sa.Column("n", sa.Integer, nullable=False))


def _plain_sort_key(m: sa.MetaData) -> None:
    """performance_rows.platform without its `C` collation, and the table with a rowid on SQLite."""
    table = m.tables["performance_rows"]
    table.c.platform.type = sa.String(64)
    table.dialect_options["sqlite"]["with_rowid"] = True


# A change to tables.py, and what the comparison must then report (any of these words).
CHANGES: dict[str, tuple[Callable[[sa.MetaData], None], tuple[str, ...]]] = {
    "a column's type": (lambda m: setattr(m.tables["performance_days"].c.spend, "type", sa.Integer()),
                        ("modify_type",)),
    "a string's length": (lambda m: setattr(m.tables["clients"].c.name, "type", sa.String(100)),
                          ("modify_type",)),
    "nullability": (lambda m: setattr(m.tables["performance_rows"].c.ad_name, "nullable", False),
                    ("modify_nullable",)),
    "an index": (lambda m: sa.Index("ix_extra", m.tables["performance_rows"].c.campaign_id), ("add_index",)),
    "a foreign key's ON DELETE": (_drop_ondelete, ("add_fk",)),
    "a table": (lambda m: sa.Table("extra", m, sa.Column("id", sa.Integer, primary_key=True)),
                ("add_table",)),
    "a primary key": (_narrow_primary_key, ("primary key",)),
    "a collation or WITHOUT ROWID": (_plain_sort_key, ("collation", "with_rowid")),
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_the_comparison_sees_each_kind_of_change(migrated: Any, change: str) -> None:
    alter, words = CHANGES[change]
    found = await differences(migrated, _changed(alter))
    assert any(word in line for line in found for word in words), found
