"""Brings a database to the newest schema with alembic, from inside the running process."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from catalyst_adapters.sql.engine import SQLITE_WRITE_OPTION


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "catalyst_adapters.sql:migrations")
    return config


# An arbitrary 64-bit key for PostgreSQL's advisory lock: "catalyst" in ASCII.
MIGRATION_LOCK_KEY = 0x636174616C797374


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade to `revision`. Several server processes starting at once migrate one after the
    other: on SQLite the migration holds the write lock, on PostgreSQL a transaction-scoped
    advisory lock (the later ones then find nothing left to do)."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(**{SQLITE_WRITE_OPTION: True})
        async with conn.begin():
            # Take the lock before alembic starts (on SQLite the first statement carries the
            # BEGIN IMMEDIATE): alembic keeps global state and must not run twice at once.
            if conn.dialect.name == "postgresql":
                # A migration may wait for another process's as long as that one takes (the
                # engine's lock_timeout bounds requests, not this).
                await conn.execute(text("SET LOCAL lock_timeout = 0"))
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            else:
                await conn.execute(text("SELECT 1"))
            await conn.run_sync(_upgrade, revision)


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
