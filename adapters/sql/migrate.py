"""Brings a database to the newest schema with alembic, from inside the running process."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from catalyst_adapters.sql.engine import SQLITE_WRITE_OPTION


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "catalyst_adapters.sql:migrations")
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade to `revision`. On SQLite the migration holds the write lock, so several server
    processes starting at once migrate one after the other."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(**{SQLITE_WRITE_OPTION: True})
        async with conn.begin():
            await conn.run_sync(_upgrade, revision)


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
