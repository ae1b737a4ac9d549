"""Engines for the SQL storage, with the per-database settings Catalyst relies on."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from catalyst_adapters.sql import sqlite_driver
from catalyst_adapters.sqlite_processes import READER_BUSY_TIMEOUT_MS, configure_reader, unicode_lower

# Execution option that asks SQLite for a write lock up front (BEGIN IMMEDIATE): a deferred
# transaction that reads and then writes can fail with SQLITE_BUSY when another writer got in between.
SQLITE_WRITE_OPTION = "catalyst_sqlite_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_READER_BUSY_TIMEOUT_MS = READER_BUSY_TIMEOUT_MS


def json_dumps(value: Any) -> str:
    """JSON columns' text, by orjson (several times faster than the standard library on a batch of
    leads' raw data); what orjson cannot write (integers past 64 bits) falls back to `json`."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def json_loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # integers past 64 bits, written by the fallback above
        return json.loads(text)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url` (sqlite+aiosqlite:///path or postgresql+asyncpg://...)."""
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", json_dumps)
    kwargs.setdefault("json_deserializer", json_loads)
    if parsed.get_backend_name() == "sqlite":
        if parsed.get_driver_name() == "aiosqlite" and sqlite_driver.available():
            kwargs.setdefault("module", sqlite_driver.dbapi())
        # Transactions always end in COMMIT or ROLLBACK (SqlStorage), so the pool's extra
        # reset-on-return ROLLBACK would only cost another trip to the connection's thread.
        kwargs.setdefault("pool_reset_on_return", None)
        engine = create_async_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                                     **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "asyncpg":
        _configure_asyncpg(engine)
    return engine


def _uuid_to_bytes(value: Any) -> bytes:
    return (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).bytes


def _configure_asyncpg(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # asyncpg hands back its own UUID class, which the rest of Catalyst (and orjson) does not
        # know; decode the binary wire format into the standard library's uuid.UUID instead.
        dbapi_connection.run_async(lambda conn: conn.set_type_codec(
            "uuid", schema="pg_catalog", format="binary",
            encoder=_uuid_to_bytes, decoder=lambda data: uuid.UUID(bytes=data)))


def _enable_wal(cursor: Any) -> None:
    """Switch a database to WAL. On a new file several processes may race to do it, and SQLite
    answers "database is locked" at once, without its busy handler, to the one that would have to
    wait while holding a read lock (deadlock avoidance): so wait and retry, up to the busy timeout.
    Runs on the connection's own thread, never on the event loop."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        # SQLite's own lower() folds ASCII only; case-insensitive search (icontains) must fold
        # every letter, as PostgreSQL and the in-memory adapter do.
        dbapi_connection.create_function("lower", 1, unicode_lower, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front. Readers stay in autocommit: each statement reads
        # the newest committed state (as PostgreSQL's READ COMMITTED does) and no BEGIN/COMMIT
        # round trips are spent on them.
        if conn.get_execution_options().get(SQLITE_WRITE_OPTION, False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for other databases and in-memory ones."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") \
            or "mode=memory" in str(url):
        return None
    return Path(url.database)


def create_sqlite_reader(url: URL) -> Engine | None:
    """A synchronous engine on the same SQLite file, for reads run on the event loop itself.

    An indexed read in plain sqlite3 costs about a tenth of a millisecond, less than one trip to an
    aiosqlite thread (docs/adr/0001-sqlite-reads-on-the-event-loop.md). Reader connections are
    `query_only`, so nothing can write through them. None for in-memory databases, which a second
    engine could not share."""
    if sqlite_file(url) is None:
        return None
    reader = create_sync_engine(
        url.set(drivername="sqlite+pysqlite"),
        # Heavy reads (text search) run on a worker thread, so a connection may change threads.
        connect_args={"timeout": SQLITE_READER_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        json_serializer=json_dumps, json_deserializer=json_loads,
    )

    @event.listens_for(reader, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        configure_reader(dbapi_connection)

    return reader
