"""Settings from the environment, read once in create_app() or the CLI, never at import time."""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from attrs import evolve, field, frozen, validators

log = logging.getLogger("catalyst.settings")

SECRET_FILE = "jwt-secret"
APP_NAME = "catalyst"


def default_data_dir() -> Path:
    """The platform's user data folder (~/.local/share/catalyst on Linux): one place for every
    command, whatever the current folder."""
    from platformdirs import user_data_path  # only when the default is needed

    return user_data_path(APP_NAME, appauthor=False)


def setting(env: str, doc: str, *, shown_default: str | None = None, example: str | None = None,
            **kwargs: object) -> object:
    """A Settings field with its environment variable and effect: docs/operations.md and
    `catalyst --help` are generated from these (tests/unit/test_ops_settings_doc.py keeps them
    equal). `shown_default` documents a computed default; `example` is a value the test sets."""
    metadata = {"env": env, "doc": doc, "shown_default": shown_default, "example": example}
    return field(metadata=metadata, **kwargs)  # type: ignore[call-overload]


@frozen
class Settings:
    """Every setting, with the environment variable `from_env` reads it from. Add a field with
    `setting(...)` and a line in `from_env`, then run `python -m catalyst_api.settings_doc --write`."""

    database_url: str = setting(
        "CATALYST_DATABASE_URL",
        "SQLAlchemy URL of the storage: a SQLite file, `postgresql+asyncpg://user@host/db` (install "
        "the `postgres` extra), or `memory` (nothing persists)",
        shown_default="`sqlite+aiosqlite:///` + `$CATALYST_DATA_DIR/catalyst.db`",
        example="postgresql+asyncpg://db.example/catalyst")
    data_dir: Path = setting(  # noqa: RUF009 (attrs field() with metadata; frozen)
        "CATALYST_DATA_DIR",
        "where the default SQLite file and the generated signing key live; every command (serve, "
        "users, migrate, backup...) uses the same one, whatever the current folder (`--data-dir` "
        "overrides it)",
        shown_default="the user data folder (Linux: `~/.local/share/catalyst`, macOS: "
                      "`~/Library/Application Support/catalyst`)",
        example="/srv/catalyst")
    jwt_secret: str | None = setting(
        "CATALYST_JWT_SECRET",
        "HS256 signing key (at least 32 bytes). Without it the first start writes a random key to "
        "`$CATALYST_DATA_DIR/jwt-secret` (mode 0600) and reuses it, so tokens survive restarts. Set "
        "it explicitly when several machines serve the same database",
        default=None, shown_default="generated", example="s" * 40)
    jwt_algorithm: str = setting("CATALYST_JWT_ALGORITHM", "HS256, HS384 or HS512", default="HS256",
                                 example="HS512")
    jwt_lifetime_seconds: int = setting("CATALYST_JWT_LIFETIME_SECONDS", "token lifetime",
                                        default=2_628_000)
    max_body_bytes: int = setting("CATALYST_MAX_BODY_BYTES", "larger request bodies are answered 413",
                                  default=1024 * 1024)
    # POST /clients/{id}/metrics takes batches of up to 5,000 rows (about 1.5 MB of JSON typically).
    max_ingest_bytes: int = setting(
        "CATALYST_MAX_INGEST_BYTES",
        "the body limit of `POST /clients/{id}/metrics` alone, so a full batch of 5,000 rows fits",
        default=10 * 1024 * 1024)
    max_upload_bytes: int = setting(
        "CATALYST_MAX_UPLOAD_BYTES",
        "the largest creative file `POST /creative-submissions` takes (multipart); larger is 413 and "
        "nothing of it is kept", default=100 * 1024 * 1024, example="20971520")
    media_dir: Path | None = setting(  # noqa: RUF009 (attrs field() with metadata; frozen)
        "CATALYST_MEDIA_DIR",
        "where uploaded creative files are kept (with SQL storage; the `memory` storage keeps them "
        "in memory)", default=None, shown_default="`$CATALYST_DATA_DIR/media`", example="/srv/media")
    log_level: str = setting("CATALYST_LOG_LEVEL", "log level; every line carries the request id",
                             default="INFO", example="DEBUG")
    workers: int = setting("CATALYST_WORKERS",
                           "server processes of `catalyst serve` (`--workers` overrides it), on a "
                           "SQLite file or PostgreSQL", default=1)
    read_processes: int = setting(
        "CATALYST_READ_PROCESSES",
        "worker processes (per server process) that run the heavy SQLite reads: reports, text "
        "search, counts of large lists; started on first use; `0` runs them on threads of the "
        "server process instead", default=1)
    fast_lane: bool = setting(
        "CATALYST_FAST_LANE",
        "`0` turns off the tuned SQLite paths (reads on the event loop through sqlite3 with "
        "generated row converters, the one-trip aiosqlite driver; docs/adr/0001, 0002, 0006): "
        "every statement then runs through SQLAlchemy on the normal async connection. Slower; for "
        "ruling the fast lane out when something reads wrong", default=True, example="0")
    database_lock_timeout_seconds: float = setting(
        "CATALYST_DATABASE_LOCK_TIMEOUT_SECONDS",
        "how long a request waits for the database's write lock (SQLite), a row lock (PostgreSQL) "
        "or a free pooled connection before it is answered 503 with `Retry-After`",
        default=10.0, example="2.5")
    database_connect_timeout_seconds: float = setting(
        "CATALYST_DATABASE_CONNECT_TIMEOUT_SECONDS",
        "how long connecting to PostgreSQL may take before the request is answered 503 (a "
        "database that is down refuses at once; this bounds an unreachable host)",
        default=5.0, example="2")
    # Per server process; with --workers N the database sees up to N x (size + overflow).
    database_pool_size: int = setting(
        "CATALYST_DATABASE_POOL_SIZE",
        "PostgreSQL: connections each server process keeps open (reads keep up to this many, less "
        "one, checked out between requests, so a read costs no checkout); the processes of `--workers "
        "N` need N x (size + overflow) within the server's `max_connections`",
        default=10, validator=validators.ge(1), example="20")
    database_max_overflow: int = setting(
        "CATALYST_DATABASE_MAX_OVERFLOW",
        "PostgreSQL: connections a server process may open beyond the pool size when every pooled "
        "one is busy (closed again when returned); past that, a request waits up to the lock "
        "timeout for one, then is answered 503", default=10, validator=validators.ge(0),
        example="5")
    database_statement_cache_size: int = setting(
        "CATALYST_DATABASE_STATEMENT_CACHE_SIZE",
        "PostgreSQL: prepared statements kept per connection (asyncpg's cache and SQLAlchemy's), "
        "so a repeated statement is parsed and described once; `0` prepares nothing across "
        "requests, for pgbouncer in transaction mode", default=100, validator=validators.ge(0),
        example="0")
    scheduler: bool = setting(
        "CATALYST_SCHEDULER",
        "`0` turns off the alert scheduler inside `catalyst serve` (run `catalyst scheduler` "
        "instead, or nowhere)", default=True)
    scheduler_interval_seconds: float = setting(
        "CATALYST_SCHEDULER_INTERVAL_SECONDS", "how often a scheduler looks for due alerts",
        default=30.0)
    webhook_url: str | None = setting(
        "CATALYST_WEBHOOK_URL",
        "deliver every event (alert firings, task events) to this URL as a signed webhook; unset: "
        "events are only logged", default=None, example="https://hooks.example/catalyst")
    webhook_secret: str | None = setting(
        "CATALYST_WEBHOOK_SECRET",
        "the signing secret, in the Standard Webhooks form `whsec_<base64>` (required with a URL; "
        "`python -c \"from catalyst_adapters.webhooks import new_webhook_secret as n; print(n())\"` "
        "makes one)", default=None, example="whsec_c2VjcmV0")
    webhook_timeout_seconds: float = setting("CATALYST_WEBHOOK_TIMEOUT_SECONDS",
                                             "how long one delivery may take", default=10.0)
    webhook_max_attempts: int = setting(
        "CATALYST_WEBHOOK_MAX_ATTEMPTS",
        "deliveries that failed this often are kept but no longer retried", default=15)
    host: str = setting("CATALYST_HOST", "the address `catalyst serve` listens on (`--host`)",
                        default="127.0.0.1", example="0.0.0.0")
    port: int = setting("CATALYST_PORT", "the port `catalyst serve` listens on (`--port`)",
                        default=8000)
    log_format: str = setting(
        "CATALYST_LOG_FORMAT",
        "`text` (a timestamp, level, logger and request id, then the message) or `json` (one JSON "
        "object a line; request lines carry method, route, status, duration_ms, user and "
        "request_id as fields)", default="text", example="json")
    metrics: bool = setting(
        "CATALYST_METRICS", "`0` turns off the Prometheus metrics at `/metrics`", default=True)
    shutdown_timeout_seconds: float = setting(
        "CATALYST_SHUTDOWN_TIMEOUT_SECONDS",
        "on SIGTERM (or Ctrl-C) `catalyst serve` stops accepting connections and gives requests in "
        "flight this long to finish", default=30.0)
    cors_origins: tuple[str, ...] = setting(
        "CATALYST_CORS_ORIGINS",
        "comma-separated origins (`https://app.example`) whose browser pages may call the API; "
        "`*` allows any; unset: none (same-origin only)", default=(), shown_default="none",
        example="https://app.example", converter=tuple)
    security_headers: bool = setting(
        "CATALYST_SECURITY_HEADERS",
        "`0` leaves out nosniff, DENY framing, the Content-Security-Policy and Referrer-Policy "
        "(when a proxy in front sets its own)", default=True)
    hsts_seconds: int = setting(
        "CATALYST_HSTS_SECONDS",
        "`Strict-Transport-Security` max-age; set it only when every client reaches the server "
        "over HTTPS; `0`: not sent", default=0, example="31536000")
    reads_per_turn_while_writing: int = setting(
        "CATALYST_READS_PER_TURN_WHILE_WRITING",
        "while writes arrive, at most this many reads start per turn of the event loop, so writes "
        "are not starved by a flood of reads (docs/operations.md, \"Reads and writes\"); `0` "
        "turns the pacing off", default=4, validator=validators.ge(0), example="8")
    rate_limit: int = setting(
        "CATALYST_RATE_LIMIT",
        "requests per hour per user (fixed hourly windows, told in the `X-RateLimit-*` headers; "
        "past it 429 with `Retry-After`); `0` turns the limit off", default=1000, example="5000")
    redis_url: str | None = setting(
        "CATALYST_REDIS_URL",
        "Redis (`redis://host:6379/0`, install the `redis` extra) holding the rate-limit counters "
        "of every server process; unset: counted in memory, shared by the processes of one "
        "`catalyst serve --workers N`", default=None, example="redis://127.0.0.1:6379/0")
    login_limit_per_email: int = setting(
        "CATALYST_LOGIN_LIMIT_PER_EMAIL",
        "failed logins for one e-mail per login-limit window before logins with it are answered "
        "429 (successful logins do not count); `0`: no limit", default=10, example="5")
    login_limit_per_ip: int = setting(
        "CATALYST_LOGIN_LIMIT_PER_IP",
        "failed logins from one client address per login-limit window before its logins are "
        "answered 429; `0`: no limit (behind a proxy every client has the proxy's address)",
        default=50, example="100")
    login_limit_window_seconds: int = setting(
        "CATALYST_LOGIN_LIMIT_WINDOW_SECONDS", "the window of the failed-login limits",
        default=900, example="3600")
    # OWASP's minimum for Argon2id; hashes of other costs are upgraded at their next login.
    argon2_memory_kib: int = setting(
        "CATALYST_ARGON2_MEMORY_KIB",
        "memory of one password hash (Argon2id `m`, KiB); stored hashes of other costs are "
        "re-hashed at their user's next successful login", default=19_456,
        validator=validators.ge(8), example="47104")
    argon2_time_cost: int = setting(
        "CATALYST_ARGON2_TIME_COST", "passes over that memory (Argon2id `t`)", default=2,
        validator=validators.ge(1))
    argon2_parallelism: int = setting(
        "CATALYST_ARGON2_PARALLELISM",
        "lanes of one hash (Argon2id `p`); the memory must be at least 8 KiB per lane", default=1,
        validator=[validators.ge(1), lambda self, _, lanes: _argon2_memory_per_lane(self, lanes)])
    password_hash_threads: int = setting(
        "CATALYST_PASSWORD_HASH_THREADS",
        "password hashes (logins, registrations) computed at once per server process; more wait "
        "their turn; `0`: one per core", default=0, validator=validators.ge(0))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("CATALYST_DATA_DIR") or default_data_dir())
        url = env.get("CATALYST_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'catalyst.db'}"
        return cls(
            database_url=url,
            data_dir=data_dir,
            jwt_secret=env.get("CATALYST_JWT_SECRET") or None,
            jwt_algorithm=env.get("CATALYST_JWT_ALGORITHM", "HS256"),
            jwt_lifetime_seconds=int(env.get("CATALYST_JWT_LIFETIME_SECONDS", "2628000")),
            max_body_bytes=int(env.get("CATALYST_MAX_BODY_BYTES", str(1024 * 1024))),
            max_ingest_bytes=int(env.get("CATALYST_MAX_INGEST_BYTES", str(10 * 1024 * 1024))),
            max_upload_bytes=int(env.get("CATALYST_MAX_UPLOAD_BYTES", str(100 * 1024 * 1024))),
            media_dir=Path(env["CATALYST_MEDIA_DIR"]) if env.get("CATALYST_MEDIA_DIR") else None,
            log_level=env.get("CATALYST_LOG_LEVEL", "INFO"),
            workers=int(env.get("CATALYST_WORKERS", "1")),
            read_processes=int(env.get("CATALYST_READ_PROCESSES", "1")),
            fast_lane=_flag(env.get("CATALYST_FAST_LANE", "1")),
            database_lock_timeout_seconds=float(
                env.get("CATALYST_DATABASE_LOCK_TIMEOUT_SECONDS", "10")),
            database_connect_timeout_seconds=float(
                env.get("CATALYST_DATABASE_CONNECT_TIMEOUT_SECONDS", "5")),
            database_pool_size=int(env.get("CATALYST_DATABASE_POOL_SIZE", "10")),
            database_max_overflow=int(env.get("CATALYST_DATABASE_MAX_OVERFLOW", "10")),
            database_statement_cache_size=int(
                env.get("CATALYST_DATABASE_STATEMENT_CACHE_SIZE", "100")),
            scheduler=_flag(env.get("CATALYST_SCHEDULER", "1")),
            scheduler_interval_seconds=float(env.get("CATALYST_SCHEDULER_INTERVAL_SECONDS", "30")),
            webhook_url=env.get("CATALYST_WEBHOOK_URL") or None,
            webhook_secret=env.get("CATALYST_WEBHOOK_SECRET") or None,
            webhook_timeout_seconds=float(env.get("CATALYST_WEBHOOK_TIMEOUT_SECONDS", "10")),
            webhook_max_attempts=int(env.get("CATALYST_WEBHOOK_MAX_ATTEMPTS", "15")),
            host=env.get("CATALYST_HOST") or "127.0.0.1",
            port=int(env.get("CATALYST_PORT", "8000")),
            log_format=_choice(env.get("CATALYST_LOG_FORMAT", "text"), ("text", "json")),
            metrics=_flag(env.get("CATALYST_METRICS", "1")),
            shutdown_timeout_seconds=float(env.get("CATALYST_SHUTDOWN_TIMEOUT_SECONDS", "30")),
            cors_origins=_origins(env.get("CATALYST_CORS_ORIGINS", "")),
            security_headers=_flag(env.get("CATALYST_SECURITY_HEADERS", "1")),
            hsts_seconds=int(env.get("CATALYST_HSTS_SECONDS", "0")),
            rate_limit=int(env.get("CATALYST_RATE_LIMIT", "1000")),
            reads_per_turn_while_writing=int(env.get("CATALYST_READS_PER_TURN_WHILE_WRITING", "4")),
            redis_url=env.get("CATALYST_REDIS_URL") or None,
            login_limit_per_email=int(env.get("CATALYST_LOGIN_LIMIT_PER_EMAIL", "10")),
            login_limit_per_ip=int(env.get("CATALYST_LOGIN_LIMIT_PER_IP", "50")),
            login_limit_window_seconds=int(env.get("CATALYST_LOGIN_LIMIT_WINDOW_SECONDS", "900")),
            argon2_memory_kib=int(env.get("CATALYST_ARGON2_MEMORY_KIB", "19456")),
            argon2_time_cost=int(env.get("CATALYST_ARGON2_TIME_COST", "2")),
            argon2_parallelism=int(env.get("CATALYST_ARGON2_PARALLELISM", "1")),
            password_hash_threads=int(env.get("CATALYST_PASSWORD_HASH_THREADS", "0")),
        )

    @property
    def media_path(self) -> Path:
        return self.media_dir or self.data_dir / "media"

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


def _argon2_memory_per_lane(settings: Settings, lanes: int) -> None:
    # argon2 itself refuses less; checked here so a bad value stops the start, not a login.
    if settings.argon2_memory_kib < 8 * lanes:
        raise ValueError(f"CATALYST_ARGON2_MEMORY_KIB must be at least 8 per lane "
                         f"(CATALYST_ARGON2_PARALLELISM={lanes}): at least {8 * lanes}")


def _origins(text: str) -> tuple[str, ...]:
    """`scheme://host[:port]` origins, as browsers send them in `Origin` (no path, no slash)."""
    origins = tuple(o.strip() for o in text.split(",") if o.strip())
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise ValueError(f"CATALYST_CORS_ORIGINS: {origin!r} is not an origin like "
                             "https://app.example or http://localhost:3000")
    return origins


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected 1 or 0 (true or false), not {text!r}")


def _choice(text: str, choices: tuple[str, ...]) -> str:
    value = text.strip().lower()
    if value not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}, not {text!r}")
    return value


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
