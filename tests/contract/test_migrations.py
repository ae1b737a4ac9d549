"""Migrations: several processes starting at once on a new database all end up at the head."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy
from alembic.script import ScriptDirectory

from catalyst_adapters.sql import create_engine, migrate
from catalyst_adapters.sql.migrate import alembic_config


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def revision_of(engine: Any) -> str:
    async with engine.connect() as conn:
        return (await conn.execute(sqlalchemy.text("SELECT version_num FROM alembic_version"))).scalar_one()


async def _race_to_migrate(engines: list[Any]) -> None:
    """Several processes starting at once on a new database: all migrate, and it ends at head."""
    try:
        await asyncio.gather(*(migrate(e) for e in engines))
        assert await revision_of(engines[0]) == head()
    finally:
        for e in engines:
            await e.dispose()


async def test_concurrent_migrations_on_a_new_sqlite_file(tmp_path: Path) -> None:
    await _race_to_migrate([create_engine(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
                            for _ in range(3)])


async def test_concurrent_migrations_on_a_new_postgres_schema(
        postgres_url: tuple[str, dict[str, Any]]) -> None:
    url, _ = postgres_url
    schema = f"catalyst_migrate_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    async with admin.begin() as conn:
        await conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    settings = {"server_settings": {"search_path": schema}}
    try:
        await _race_to_migrate([create_engine(url, connect_args=settings) for _ in range(3)])
    finally:
        async with admin.begin() as conn:
            await conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
