"""`catalyst backup FILE`: a consistent copy of the SQLite database, taken while servers run.

SQLite's online backup API copies the pages inside one read transaction: in WAL mode writers go on
meanwhile, and the copy is the database as of one moment (a file copy of `catalyst.db` alone would
miss what still sits in `catalyst.db-wal`, and could catch a page half written). The copy is made
beside the target and renamed over it only when complete and checked, so a failed backup never
leaves a half file under the target's name."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from pathlib import Path

from attrs import frozen

from catalyst_api.settings import Settings, sqlite_path


class BackupFailed(Exception):
    """One line for the operator: what went wrong and what to do."""


@frozen
class Backup:
    source: Path
    target: Path
    bytes: int


def source_of(settings: Settings) -> Path:
    """The SQLite file behind the settings, or BackupFailed naming what to use instead."""
    if settings.storage_kind == "memory":
        raise BackupFailed("the storage is `memory`: there is nothing on disk to back up")
    if not settings.database_url.startswith("sqlite"):
        raise BackupFailed("the database is not SQLite: back PostgreSQL up with pg_dump "
                           "(for example `pg_dump -Fc -f catalyst.dump DBNAME`)")
    path = sqlite_path(settings.database_url)
    if path is None:
        raise BackupFailed("the database is an in-memory SQLite database: nothing to back up")
    if not path.is_file():
        raise BackupFailed(f"there is no database at {path} (set --data-dir or "
                           "CATALYST_DATABASE_URL to the one the server uses)")
    return path


def backup_sqlite(source: Path, target: Path, *, overwrite: bool = False) -> Backup:
    """Copy `source` to `target` (blocking: call it from a thread when a loop runs)."""
    if target.exists() and not overwrite:
        raise BackupFailed(f"{target} exists (pass --overwrite to replace it)")
    if target.resolve() == source.resolve():
        raise BackupFailed("the backup would overwrite the database itself")
    if not target.parent.is_dir():
        raise BackupFailed(f"no folder {target.parent} to write the backup in")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        # Read-only: the backup never writes to the live database, not even its WAL mode.
        with contextlib.closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True,
                                                timeout=30)) as src, \
                contextlib.closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)  # all pages in one step: one read transaction, one moment
            dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            problems = dst.execute("PRAGMA quick_check").fetchall()
            if problems != [("ok",)]:
                raise BackupFailed(f"the copy failed its check: {problems[:3]}")
        os.replace(partial, target)
    except sqlite3.Error as e:
        raise BackupFailed(f"could not back up {source}: {e}") from e
    finally:
        partial.unlink(missing_ok=True)
    return Backup(source, target, target.stat().st_size)


async def backup_database(settings: Settings, target: Path, *, overwrite: bool = False) -> Backup:
    """The same, off the event loop (for callers inside one, such as an embedding server)."""
    return await asyncio.to_thread(backup_sqlite, source_of(settings), target, overwrite=overwrite)
