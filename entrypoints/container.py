"""The composition root: the only module that names concrete adapters.

Storage is chosen by configuration (`storage_kind`: memory or sql); tests and embedders replace any
provider with `container.<provider>.override(...)`."""

from __future__ import annotations

from typing import Any

from dependency_injector import containers, providers
from sqlalchemy.engine import make_url

from catalyst_adapters.blobs import LocalDirectoryBlobStore, MemoryBlobStore
from catalyst_adapters.clock import SystemClock
from catalyst_adapters.media import HeaderMediaProbe
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.notifier import LogNotifier
from catalyst_adapters.ratelimit import (
    MemoryRateLimiter,
    RedisRateLimiter,
    SharedMemoryRateLimiter,
    SharedRateTable,
)
from catalyst_adapters.scoring import WeightedScorer
from catalyst_adapters.security import JwtTokenIssuer, PasslibHasher
from catalyst_adapters.sql import SqlStorage, create_engine, migrate
from catalyst_adapters.sqlite_processes import ReadProcesses
from catalyst_adapters.webhooks import WebhookNotifier
from catalyst_api.settings import Settings, sqlite_path
from catalyst_core.alerts.service import AlertsService
from catalyst_core.auth.guard import LoginGuard
from catalyst_core.auth.service import AuthService
from catalyst_core.clients.service import ClientsService
from catalyst_core.creatives.service import CreativesService
from catalyst_core.ids import random_ids
from catalyst_core.leads.service import LeadScoringService
from catalyst_core.limits import Quota, RequestLimits
from catalyst_core.metrics.service import MetricsService
from catalyst_core.reports.service import ReportsService
from catalyst_core.tasks.service import TasksService


def engine_options(settings: Settings) -> dict[str, Any]:
    """create_engine's pool and prepared-statement options from the settings: PostgreSQL's only
    (SQLite's pool holds the writers' aiosqlite connections and keeps SQLAlchemy's defaults)."""
    url = make_url(settings.database_url) if settings.storage_kind == "sql" else None
    if url is None or url.get_backend_name() != "postgresql":
        return {}
    options: dict[str, Any] = {"pool_size": settings.database_pool_size,
                               "max_overflow": settings.database_max_overflow}
    if url.get_driver_name() == "asyncpg":
        size = settings.database_statement_cache_size
        # SQLAlchemy's asyncpg adapter keeps its own prepared statements (the first); asyncpg's
        # cache serves statements sent on the driver's connection directly (the second).
        options["connect_args"] = {"prepared_statement_cache_size": size, "statement_cache_size": size}
    return options


def read_processes_of(count: int) -> ReadProcesses | None:
    """Worker processes for heavy SQLite reads (started on first use), or None for threads."""
    return ReadProcesses(count) if count > 0 else None


class Container(containers.DeclarativeContainer):
    config = providers.Configuration()

    clock = providers.Singleton(SystemClock)
    ids = providers.Object(random_ids)
    # Argon2id at the configured costs (OWASP's minimum by default); the dummy hash that unknown
    # e-mails are checked against is made by this same hasher, so it has the same costs.
    hasher = providers.Singleton(
        PasslibHasher.argon2id, memory_kib=config.argon2_memory_kib, time_cost=config.argon2_time_cost,
        parallelism=config.argon2_parallelism, threads=config.password_hash_threads)
    # The lead scorer: replace it with `container.scorer.override(...)` (docs/embedding.md).
    scorer = providers.Singleton(WeightedScorer)
    tokens = providers.Singleton(
        JwtTokenIssuer, secret=config.jwt_secret, algorithm=config.jwt_algorithm,
        lifetime_seconds=config.jwt_lifetime_seconds,
    )

    # A plain singleton, not an async Resource: a Resource would turn every downstream factory
    # into a future. Startup and shutdown are explicit (start_storage / stop_storage).
    engine = providers.Singleton(create_engine, config.database_url,
                                 lock_timeout=config.database_lock_timeout_seconds,
                                 connect_timeout=config.database_connect_timeout_seconds,
                                 fast_lane=config.fast_lane)
    read_processes = providers.Singleton(read_processes_of, config.read_processes)
    storage = providers.Selector(
        config.storage_kind,
        memory=providers.Singleton(MemoryStorage),
        sql=providers.Singleton(SqlStorage, engine, read_processes,
                                lock_timeout=config.database_lock_timeout_seconds,
                                fast_lane=config.fast_lane,
                                statement_cache_size=config.database_statement_cache_size),
    )

    # Told of each webhook delivery attempt (the app's metrics set it: webhook_attempt.override).
    webhook_attempt = providers.Object(None)
    # Events go to the log, or with a webhook URL configured, through the outbox to the webhook.
    notifier = providers.Selector(
        config.notifier_kind,
        log=providers.Singleton(LogNotifier),
        webhook=providers.Singleton(
            WebhookNotifier, storage, config.webhook_url, config.webhook_secret, clock,
            timeout=config.webhook_timeout_seconds, max_attempts=config.webhook_max_attempts,
            on_attempt=webhook_attempt),
    )

    # Creative files: a folder under the data directory, or memory with the memory storage.
    blobs = providers.Selector(
        config.storage_kind,
        memory=providers.Singleton(MemoryBlobStore),
        sql=providers.Singleton(LocalDirectoryBlobStore, config.media_path),
    )
    media_probe = providers.Singleton(HeaderMediaProbe)

    # Rate-limit counters: in Redis when configured (every server process anywhere), else in the
    # table `catalyst serve --workers N` shares between its forked processes, else in memory.
    shared_rate_table = providers.Object(None)
    rate_limiter = providers.Selector(
        config.rate_limiter_kind,
        memory=providers.Singleton(MemoryRateLimiter),
        shared=providers.Singleton(SharedMemoryRateLimiter, shared_rate_table),
        redis=providers.Singleton(RedisRateLimiter, config.redis_url),
    )

    auth = providers.Singleton(AuthService, storage, hasher, tokens, clock, ids)
    login = providers.Singleton(
        LoginGuard, auth, rate_limiter, clock,
        per_email=providers.Factory(Quota, config.login_limit_per_email, config.login_limit_window_seconds),
        per_source=providers.Factory(Quota, config.login_limit_per_ip, config.login_limit_window_seconds))
    request_limits = providers.Singleton(RequestLimits, rate_limiter, clock,
                                         providers.Factory(Quota, config.rate_limit))
    clients = providers.Singleton(ClientsService, storage, clock, ids)
    tasks = providers.Singleton(TasksService, storage, clock, notifier, ids)
    metrics = providers.Singleton(MetricsService, storage)
    reports = providers.Singleton(ReportsService, storage, clock)
    alerts = providers.Singleton(AlertsService, storage, clock, notifier, ids)
    leads = providers.Singleton(LeadScoringService, storage, clock, scorer, ids)
    creatives = providers.Singleton(CreativesService, storage, clock, notifier, ids, blobs, media_probe,
                                    max_upload_bytes=config.max_upload_bytes)


def shared_rate_table(settings: Settings, workers: int) -> SharedRateTable | None:
    """The rate-limit counters `catalyst serve` makes before forking `workers` processes, so
    that they count together; None when there is one process or Redis holds the counters."""
    if workers < 2 or settings.redis_url:
        return None
    return SharedRateTable.for_workers(workers)


def build_container(settings: Settings, *, rate_table: SharedRateTable | None = None) -> Container:
    """`rate_table`: the counters shared with the other server processes (`shared_rate_table`)."""
    for limit, window in ((settings.rate_limit, 3600),
                          (settings.login_limit_per_email, settings.login_limit_window_seconds),
                          (settings.login_limit_per_ip, settings.login_limit_window_seconds)):
        Quota(limit, window)  # a negative limit or an empty window fails at start, not per request
    if settings.webhook_url and not settings.webhook_secret:
        raise ValueError("CATALYST_WEBHOOK_URL needs CATALYST_WEBHOOK_SECRET (whsec_<base64>; "
                         "catalyst_adapters.webhooks.new_webhook_secret() makes one)")
    settings = settings.with_secret()
    container = Container()
    container.config.from_dict({
        "database_url": settings.database_url,
        "storage_kind": settings.storage_kind,
        "jwt_secret": settings.jwt_secret,
        "jwt_algorithm": settings.jwt_algorithm,
        "jwt_lifetime_seconds": settings.jwt_lifetime_seconds,
        "read_processes": settings.read_processes,
        "fast_lane": settings.fast_lane,
        "media_path": settings.media_path,
        "max_upload_bytes": settings.max_upload_bytes,
        "database_lock_timeout_seconds": settings.database_lock_timeout_seconds,
        "database_connect_timeout_seconds": settings.database_connect_timeout_seconds,
        "database_statement_cache_size": settings.database_statement_cache_size,
        "notifier_kind": "webhook" if settings.webhook_url else "log",
        "webhook_url": settings.webhook_url,
        "webhook_secret": settings.webhook_secret,
        "webhook_timeout_seconds": settings.webhook_timeout_seconds,
        "webhook_max_attempts": settings.webhook_max_attempts,
        "rate_limiter_kind": "redis" if settings.redis_url else "memory" if rate_table is None else "shared",
        "redis_url": settings.redis_url,
        "rate_limit": settings.rate_limit,
        "login_limit_per_email": settings.login_limit_per_email,
        "login_limit_per_ip": settings.login_limit_per_ip,
        "login_limit_window_seconds": settings.login_limit_window_seconds,
        "argon2_memory_kib": settings.argon2_memory_kib,
        "argon2_time_cost": settings.argon2_time_cost,
        "argon2_parallelism": settings.argon2_parallelism,
        "password_hash_threads": settings.password_hash_threads or None,  # None: one per core
    })
    if rate_table is not None:
        container.shared_rate_table.override(providers.Object(rate_table))
    if options := engine_options(settings):
        container.engine.add_kwargs(**options)  # this container's copy of the provider only
    return container


async def start_storage(container: Container) -> None:
    """Create the database file's folder and migrate the schema (SQL storage only), then start
    the notifier's delivery of what waits in the outbox (a webhook notifier's)."""
    if container.config.storage_kind() == "sql" and not container.storage.overridden:
        path = sqlite_path(container.config.database_url())
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        from catalyst_api.schema import refuse_newer_schema  # raises SchemaAhead, with what to do

        await refuse_newer_schema(container.engine())
        await migrate(container.engine())
    start = getattr(container.notifier(), "start", None)
    if start is not None:
        start()


async def stop_storage(container: Container) -> None:
    close = getattr(container.notifier(), "close", None)
    if close is not None:
        await close()  # before the storage closes: unfinished deliveries go back to the outbox
    await container.storage().close()
    await container.rate_limiter().close()
    processes = container.read_processes()
    if processes is not None:
        processes.close()
