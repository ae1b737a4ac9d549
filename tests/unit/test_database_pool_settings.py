"""CATALYST_DATABASE_POOL_SIZE, _MAX_OVERFLOW and _STATEMENT_CACHE_SIZE reach the PostgreSQL engine
the container builds (its pool, and the arguments each new connection is opened with); SQLite keeps
SQLAlchemy's defaults. No database is needed: the connection attempt is stopped where its arguments
are known."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from catalyst_api.container import build_container, engine_options
from catalyst_api.settings import Settings

PG_URL = "postgresql+asyncpg://catalyst@db.invalid:5432/catalyst"


class Stopped(Exception):  # not an error: how the arguments come back
    def __init__(self, cparams: dict[str, Any]) -> None:
        super().__init__("stopped before connecting")
        self.cparams = cparams


def settings(**overrides: Any) -> Settings:
    return Settings(**{"database_url": PG_URL, "data_dir": Path("unused"), "jwt_secret": "s" * 40,
                       **overrides})


async def connect_arguments(engine: Any) -> dict[str, Any]:
    """The keyword arguments the engine would open a new connection with."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def stop(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        raise Stopped(dict(cparams))

    with pytest.raises(Stopped) as stopped:
        async with engine.connect():
            pass
    return stopped.value.cparams


async def test_the_pool_and_statement_cache_settings_reach_the_postgres_engine() -> None:
    container = build_container(settings(database_pool_size=7, database_max_overflow=3,
                                         database_statement_cache_size=42))
    engine = container.engine()
    try:
        assert engine.pool.size() == 7
        assert engine.pool._max_overflow == 3  # type: ignore[attr-defined]
        cparams = await connect_arguments(engine)
        assert cparams["prepared_statement_cache_size"] == 42  # SQLAlchemy's adapter's cache
        assert cparams["statement_cache_size"] == 42  # asyncpg's own
        # The engine's own bounds are still there beside them.
        assert cparams["timeout"] == 5.0
        assert cparams["server_settings"]["lock_timeout"] == "10000ms"
    finally:
        await engine.dispose()


async def test_the_defaults_and_caching_off() -> None:
    defaults = Settings.from_env({"CATALYST_DATABASE_URL": PG_URL, "CATALYST_DATA_DIR": "unused"})
    assert (defaults.database_pool_size, defaults.database_max_overflow,
            defaults.database_statement_cache_size) == (10, 10, 100)
    off = Settings.from_env({"CATALYST_DATABASE_URL": PG_URL, "CATALYST_DATA_DIR": "unused",
                             "CATALYST_JWT_SECRET": "s" * 40,
                             "CATALYST_DATABASE_STATEMENT_CACHE_SIZE": "0"})
    engine = build_container(off).engine()
    try:
        assert engine.pool.size() == 10
        cparams = await connect_arguments(engine)
        assert cparams["prepared_statement_cache_size"] == 0 and cparams["statement_cache_size"] == 0
    finally:
        await engine.dispose()


def test_sqlite_and_memory_keep_sqlalchemys_pool(tmp_path: Path) -> None:
    sqlite = settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", database_pool_size=7)
    assert engine_options(sqlite) == {}
    assert engine_options(settings(database_url="memory")) == {}
    assert build_container(sqlite).engine().pool.size() == 5  # SQLAlchemy's default


def test_bad_values_stop_the_start() -> None:
    for name, value in (("database_pool_size", 0), ("database_max_overflow", -1),
                        ("database_statement_cache_size", -1)):
        with pytest.raises(ValueError):
            settings(**{name: value})
