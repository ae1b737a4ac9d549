"""The composition root: the only module that names concrete adapters.

Storage is chosen by configuration (`storage_kind`: memory or sql); tests and embedders replace any
provider with `container.<provider>.override(...)`."""

from __future__ import annotations

from dependency_injector import containers, providers

from catalyst_adapters.clock import SystemClock
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.notifier import LogNotifier
from catalyst_adapters.scoring import WeightedScorer
from catalyst_adapters.security import JwtTokenIssuer, PasslibHasher
from catalyst_adapters.sql import SqlStorage, create_engine, migrate
from catalyst_adapters.sqlite_processes import ReadProcesses
from catalyst_adapters.webhooks import WebhookNotifier
from catalyst_api.settings import Settings, sqlite_path
from catalyst_core.alerts.service import AlertsService
from catalyst_core.auth.service import AuthService
from catalyst_core.clients.service import ClientsService
from catalyst_core.ids import random_ids
from catalyst_core.leads.service import LeadScoringService
from catalyst_core.metrics.service import MetricsService
from catalyst_core.reports.service import ReportsService
from catalyst_core.tasks.service import TasksService


def read_processes_of(count: int) -> ReadProcesses | None:
    """Worker processes for heavy SQLite reads (started on first use), or None for threads."""
    return ReadProcesses(count) if count > 0 else None


class Container(containers.DeclarativeContainer):
    config = providers.Configuration()

    clock = providers.Singleton(SystemClock)
    ids = providers.Object(random_ids)
    hasher = providers.Singleton(PasslibHasher)
    # The lead scorer: replace it with `container.scorer.override(...)` (docs/embedding.md).
    scorer = providers.Singleton(WeightedScorer)
    tokens = providers.Singleton(
        JwtTokenIssuer, secret=config.jwt_secret, algorithm=config.jwt_algorithm,
        lifetime_seconds=config.jwt_lifetime_seconds,
    )

    # A plain singleton, not an async Resource: a Resource would turn every downstream factory
    # into a future. Startup and shutdown are explicit (start_storage / stop_storage).
    engine = providers.Singleton(create_engine, config.database_url)
    read_processes = providers.Singleton(read_processes_of, config.read_processes)
    storage = providers.Selector(
        config.storage_kind,
        memory=providers.Singleton(MemoryStorage),
        sql=providers.Singleton(SqlStorage, engine, read_processes),
    )

    # Events go to the log, or with a webhook URL configured, through the outbox to the webhook.
    notifier = providers.Selector(
        config.notifier_kind,
        log=providers.Singleton(LogNotifier),
        webhook=providers.Singleton(
            WebhookNotifier, storage, config.webhook_url, config.webhook_secret, clock,
            timeout=config.webhook_timeout_seconds, max_attempts=config.webhook_max_attempts),
    )

    auth = providers.Singleton(AuthService, storage, hasher, tokens, clock, ids)
    clients = providers.Singleton(ClientsService, storage, clock, ids)
    tasks = providers.Singleton(TasksService, storage, clock, notifier, ids)
    metrics = providers.Singleton(MetricsService, storage)
    reports = providers.Singleton(ReportsService, storage, clock)
    alerts = providers.Singleton(AlertsService, storage, clock, notifier, ids)
    leads = providers.Singleton(LeadScoringService, storage, clock, scorer, ids)


def build_container(settings: Settings) -> Container:
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
        "notifier_kind": "webhook" if settings.webhook_url else "log",
        "webhook_url": settings.webhook_url,
        "webhook_secret": settings.webhook_secret,
        "webhook_timeout_seconds": settings.webhook_timeout_seconds,
        "webhook_max_attempts": settings.webhook_max_attempts,
    })
    return container


async def start_storage(container: Container) -> None:
    """Create the database file's folder and migrate the schema (SQL storage only), then start
    the notifier's delivery of what waits in the outbox (a webhook notifier's)."""
    if container.config.storage_kind() == "sql" and not container.storage.overridden:
        path = sqlite_path(container.config.database_url())
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        await migrate(container.engine())
    start = getattr(container.notifier(), "start", None)
    if start is not None:
        start()


async def stop_storage(container: Container) -> None:
    close = getattr(container.notifier(), "close", None)
    if close is not None:
        await close()  # before the storage closes: unfinished deliveries go back to the outbox
    await container.storage().close()
    processes = container.read_processes()
    if processes is not None:
        processes.close()
