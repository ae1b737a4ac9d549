"""Migration 0009 gives every existing task its description_key (the casefolded description, NULL
without one), over more rows than one backfill batch, on SQLite and PostgreSQL; its downgrade
drops the column and keeps the task_counts triggers working."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from catalyst_adapters.sql import create_engine, migrate
from catalyst_adapters.sql.engine import SQLITE_WRITE_OPTION
from catalyst_adapters.sql.migrate import alembic_config
from catalyst_adapters.sql.tables import clients, task_counts, tasks, users

NOW = datetime(2024, 1, 1, tzinfo=UTC)
ROWS = 2_345  # more than two of the migration's batches of 1,000, and a partial third
DESCRIPTIONS = ("Straße und GROẞE Pläne", "ΟΔΟΣ σοφία", "Éclair 100% _done_ a/b \\ 👍🏽", "İstanbul ﬃ", "")


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """An engine on a database with no tables yet."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        yield engine
        await engine.dispose()
        return
    url, _ = request.getfixturevalue("postgres_url")  # skips or fails without the server
    schema = f"catalyst_m0009_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def _task_row(client_id: uuid.UUID, user_id: uuid.UUID, n: int) -> dict[str, Any]:
    """A task row as revision 0008 has them (no description_key)."""
    description = None if n % 7 == 0 else f"{DESCRIPTIONS[n % len(DESCRIPTIONS)]} #{n}"
    return {"id": uuid.uuid4(), "client_id": client_id, "name": f"Task {n}", "name_key": f"task {n}",
            "task_type": "other", "status": "pending", "priority": "Medium", "created_by": user_id,
            "assignees": [], "description": description, "created_at": NOW, "updated_at": NOW,
            "version": 1}


async def _write(engine: Any, statement: Any, rows: Any = None) -> None:
    async with engine.connect() as conn:
        conn = await conn.execution_options(**{SQLITE_WRITE_OPTION: True})
        async with conn.begin():
            await conn.execute(statement, rows)


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def _keys(engine: Any) -> dict[Any, tuple[str | None, str | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT id, description, description_key FROM tasks"))
        return {row[0]: (row[1], row[2]) for row in rows}


async def test_the_backfill_casefolds_every_description(empty_engine: Any) -> None:
    engine = empty_engine
    await migrate(engine, "0008")
    user_id, client_id = uuid.uuid4(), uuid.uuid4()
    await _write(engine, sa.insert(users), [{
        "id": user_id, "email": "a@example.com", "name": "A", "name_key": "a", "password_hash": "x",
        "role": "member", "is_active": True, "created_at": NOW, "updated_at": NOW}])
    await _write(engine, sa.insert(clients), [{
        "id": client_id, "name": "C", "name_key": "c", "logo": None, "is_active": True,
        "created_at": NOW, "updated_at": NOW}])
    rows = [_task_row(client_id, user_id, n) for n in range(ROWS)]
    await _write(engine, sa.insert(tasks), rows)

    await migrate(engine)
    stored = await _keys(engine)
    assert len(stored) == ROWS
    for description, key in stored.values():
        assert key == (None if description is None else description.casefold()), description
    assert sum(key is None for _, key in stored.values()) == sum(r["description"] is None for r in rows)

    # Down again: the column goes, and the kept counts still follow inserts (the triggers stay).
    async with engine.connect() as conn:
        conn = await conn.execution_options(**{SQLITE_WRITE_OPTION: True})
        async with conn.begin():
            await conn.run_sync(_downgrade, "0008")
        columns = await conn.run_sync(lambda c: {col["name"] for col in sa.inspect(c).get_columns("tasks")})
    assert "description_key" not in columns
    await _write(engine, sa.insert(tasks), [_task_row(client_id, user_id, ROWS + 1)])
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(task_counts.c.n))).scalar_one() == ROWS + 1
    await migrate(engine)
    assert {key for description, key in (await _keys(engine)).values()
            if description is not None and description.endswith(f"#{ROWS + 1}")} == {
        f"{DESCRIPTIONS[(ROWS + 1) % len(DESCRIPTIONS)]} #{ROWS + 1}".casefold()}
