"""Settings from the environment, read once in create_app() or the CLI, never at import time."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from attrs import evolve, frozen

log = logging.getLogger("catalyst.settings")

SECRET_FILE = "jwt-secret"
DEFAULT_DATA_DIR = "catalyst-data"


@frozen
class Settings:
    """`database_url` is a SQLAlchemy URL (sqlite+aiosqlite:///..., postgresql+asyncpg://...) or
    `memory`. `jwt_secret` None means: use (or create) the key file in `data_dir`."""

    database_url: str
    data_dir: Path
    jwt_secret: str | None = None
    jwt_algorithm: str = "HS256"
    jwt_lifetime_seconds: int = 2_628_000
    max_body_bytes: int = 1024 * 1024
    # POST /clients/{id}/metrics takes batches of up to 5,000 rows (about 1.5 MB of JSON typically).
    max_ingest_bytes: int = 10 * 1024 * 1024
    log_level: str = "INFO"
    workers: int = 1  # server processes for `catalyst serve` (SQL storage on a file or PostgreSQL)
    # Worker processes per server process for heavy SQLite reads (reports, text search); 0: threads.
    read_processes: int = 1
    # The alert scheduler inside `catalyst serve` (CATALYST_SCHEDULER=0 turns it off), and how
    # often it looks for due alerts.
    scheduler: bool = True
    scheduler_interval_seconds: float = 30.0
    # Webhook deliveries of events (Standard Webhooks); None: events go to the log only.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_timeout_seconds: float = 10.0
    webhook_max_attempts: int = 15

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("CATALYST_DATA_DIR", DEFAULT_DATA_DIR))
        url = env.get("CATALYST_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'catalyst.db'}"
        return cls(
            database_url=url,
            data_dir=data_dir,
            jwt_secret=env.get("CATALYST_JWT_SECRET") or None,
            jwt_algorithm=env.get("CATALYST_JWT_ALGORITHM", "HS256"),
            jwt_lifetime_seconds=int(env.get("CATALYST_JWT_LIFETIME_SECONDS", "2628000")),
            max_body_bytes=int(env.get("CATALYST_MAX_BODY_BYTES", str(1024 * 1024))),
            max_ingest_bytes=int(env.get("CATALYST_MAX_INGEST_BYTES", str(10 * 1024 * 1024))),
            log_level=env.get("CATALYST_LOG_LEVEL", "INFO"),
            workers=int(env.get("CATALYST_WORKERS", "1")),
            read_processes=int(env.get("CATALYST_READ_PROCESSES", "1")),
            scheduler=_flag(env.get("CATALYST_SCHEDULER", "1")),
            scheduler_interval_seconds=float(env.get("CATALYST_SCHEDULER_INTERVAL_SECONDS", "30")),
            webhook_url=env.get("CATALYST_WEBHOOK_URL") or None,
            webhook_secret=env.get("CATALYST_WEBHOOK_SECRET") or None,
            webhook_timeout_seconds=float(env.get("CATALYST_WEBHOOK_TIMEOUT_SECONDS", "10")),
            webhook_max_attempts=int(env.get("CATALYST_WEBHOOK_MAX_ATTEMPTS", "15")),
        )

    @property
    def storage_kind(self) -> str:
        return "memory" if self.database_url == "memory" else "sql"

    @property
    def shared_between_processes(self) -> bool:
        """Whether several server processes would see one database (not so for `memory` or an
        in-memory SQLite database: each process would have its own)."""
        if self.storage_kind == "memory":
            return False
        return not self.database_url.startswith("sqlite") or sqlite_path(self.database_url) is not None

    def with_secret(self) -> Settings:
        """These settings with a signing key: the configured one, else the one kept in the data
        directory (created on first start, readable by its owner only) so tokens survive restarts."""
        if self.jwt_secret:
            return self
        if self.storage_kind == "memory":
            # Nothing survives a restart of an in-memory store, so neither need its tokens.
            return evolve(self, jwt_secret=secrets.token_urlsafe(48))
        return evolve(self, jwt_secret=_kept_secret(self.data_dir / SECRET_FILE))


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected 1 or 0 (true or false), not {text!r}")


def _kept_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text().strip()
        if len(secret) < 32:
            raise RuntimeError(f"{path} holds no usable signing key; delete it or set "
                               "CATALYST_JWT_SECRET") from None
        return secret
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    log.warning("generated a JWT signing key in %s (set CATALYST_JWT_SECRET to manage it yourself)",
                path)
    return secret


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a SQLite URL, to create its folder before the first connection."""
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        return Path(database_url[len(prefix):].split("?", 1)[0])
    return None
