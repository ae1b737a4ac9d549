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
from catalyst_adapters.sql.log_safety import quiet_driver_logs
from catalyst_adapters.sqlite_processes import READER_BUSY_TIMEOUT_MS, configure_reader

# Execution option that asks SQLite for a write lock up front (BEGIN IMMEDIATE): a deferred
# transaction that reads and then writes can fail with SQLITE_BUSY when another writer got in between.
SQLITE_WRITE_OPTION = "catalyst_sqlite_write"
SQLITE_READER_BUSY_TIMEOUT_MS = READER_BUSY_TIMEOUT_MS
# How long a statement waits for a lock (SQLite's write lock, a PostgreSQL row or advisory lock) or
# for a free pooled connection before it fails and the request is answered 503: a client is better
# told to come back than left hanging (CATALYST_DATABASE_LOCK_TIMEOUT_SECONDS).
LOCK_TIMEOUT_SECONDS = 10.0
# How long connecting to PostgreSQL may take (CATALYST_DATABASE_CONNECT_TIMEOUT_SECONDS).
CONNECT_TIMEOUT_SECONDS = 5.0


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


def create_engine(url: str, *, lock_timeout: float = LOCK_TIMEOUT_SECONDS,
                  connect_timeout: float = CONNECT_TIMEOUT_SECONDS, fast_lane: bool = True,
                  **kwargs: Any) -> AsyncEngine:
    """An async engine for `url` (sqlite+aiosqlite:///path or postgresql+asyncpg://...).

    Waits are bounded (`lock_timeout`, `connect_timeout`, in seconds), so a database that is down or
    locked fails fast with an error SqlStorage turns into Unavailable; all bounds are set once per
    connection, at connect, never per statement. Without `fast_lane` (CATALYST_FAST_LANE=0),
    SQLite files keep SQLAlchemy's stock aiosqlite adapter (docs/adr/0006)."""
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", json_dumps)
    kwargs.setdefault("json_deserializer", json_loads)
    # Parameters carry password hashes and clients' data: never in a log line or an error's text.
    kwargs.setdefault("hide_parameters", True)
    quiet_driver_logs()
    if parsed.get_backend_name() == "sqlite":
        if fast_lane and parsed.get_driver_name() == "aiosqlite" and sqlite_driver.available():
            kwargs.setdefault("module", sqlite_driver.dbapi())
        # Transactions always end in COMMIT or ROLLBACK (SqlStorage), so the pool's extra
        # reset-on-return ROLLBACK would only cost another trip to the connection's thread.
        kwargs.setdefault("pool_reset_on_return", None)
        engine = create_async_engine(parsed, connect_args={"timeout": lock_timeout}, **kwargs)
        _configure_sqlite(engine, busy_timeout_ms=round(lock_timeout * 1000))
        return engine
    # A connection the database dropped (a restart, a failover) is found at checkout and replaced,
    # so the server uses a database that is back without being restarted itself; after one
    # disconnect error SQLAlchemy also discards every older pooled connection.
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:  # not every pool takes a timeout
        kwargs.setdefault("pool_timeout", lock_timeout)
    asyncpg = parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "asyncpg"
    if asyncpg:
        kwargs["connect_args"] = _asyncpg_connect_args(kwargs.get("connect_args", {}), lock_timeout,
                                                       connect_timeout)
    engine = create_async_engine(parsed, **kwargs)
    if asyncpg:
        _configure_asyncpg(engine)
    return engine


def _asyncpg_connect_args(given: dict[str, Any], lock_timeout: float, connect_timeout: float
                          ) -> dict[str, Any]:
    """asyncpg's connect arguments with the bounds as defaults (the caller's settings win)."""
    server_settings = {"lock_timeout": f"{round(lock_timeout * 1000)}ms",
                       **given.get("server_settings", {})}
    return {"timeout": connect_timeout, **given, "server_settings": server_settings}


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


def _enable_wal(cursor: Any, busy_timeout_ms: int) -> None:
    """Switch a database to WAL. On a new file several processes may race to do it, and SQLite
    answers "database is locked" at once, without its busy handler, to the one that would have to
    wait while holding a read lock (deadlock avoidance): so wait and retry, up to the busy timeout.
    Runs on the connection's own thread, never on the event loop."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _configure_sqlite(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        _enable_wal(cursor, busy_timeout_ms)
        # In WAL mode NORMAL syncs the WAL at checkpoints, not at every commit: a committed write
        # survives the process being killed (it is in the WAL file, in the OS's cache), and only an
        # OS crash or power loss can lose the last commits, never corrupt the database
        # (docs/operations.md, "Faults"; bench/crash_writes.py).
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A writer waits this long for another connection's write lock, then fails "database is
        # locked" (SqlStorage answers 503).
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

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
        json_serializer=json_dumps, json_deserializer=json_loads, hide_parameters=True,
    )

    @event.listens_for(reader, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        configure_reader(dbapi_connection)

    return reader
