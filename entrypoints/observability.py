"""Observability: one log line per request (text or JSON), Prometheus metrics (requests, database
statements, scheduler passes, webhook deliveries) and the /health, /ready and /metrics routes.

Metrics live in a registry of the application's own (two applications in one process, as in the
tests, do not mix their counts). Under `catalyst serve --workers N` every process writes its values
to files in PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode, set up by the CLI
before the fork) and /metrics, whichever worker answers it, adds up all of them."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from catalyst_api.keys import CONTAINER
from catalyst_api.middleware import ACTOR, REQUEST_ID
from catalyst_api.wire import envelope, error_response

REQUEST_LOG = logging.getLogger("catalyst.access")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"  # the route label of requests no route took (404, 405): paths are unbounded
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The task list answers in about a millisecond; reports and imports take up to seconds.
LATENCY_BUCKETS = (.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1.0, 2.5, 5.0, 10.0)
DB_BUCKETS = (.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1.0, 5.0)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class Telemetry:
    """The metrics of one application and the hook the middleware calls after every request."""

    def __init__(self, *, metrics: bool = True) -> None:
        self.enabled = metrics
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("catalyst_http_requests", "HTTP requests answered",
                                ("method", "route", "status"), registry=r)
        self.latency = Histogram("catalyst_http_request_duration_seconds",
                                 "Time from the request's arrival in the middleware to its answer",
                                 ("method", "route", "status"), buckets=LATENCY_BUCKETS, registry=r)
        self.db = Histogram("catalyst_db_statement_duration_seconds",
                            "Time of the SQL statements run through SQLAlchemy (the inline SQLite "
                            "readers of the hot lists are not included)", ("statement",),
                            buckets=DB_BUCKETS, registry=r)
        self.scheduler_passes = Counter("catalyst_scheduler_passes", "Alert scheduler passes",
                                        ("outcome",), registry=r)
        self.alert_runs = Counter("catalyst_alert_runs", "Alerts the scheduler ran", ("outcome",),
                                  registry=r)
        self.webhook_deliveries = Counter("catalyst_webhook_deliveries", "Webhook delivery attempts",
                                          ("outcome",), registry=r)
        self.webhook_latency = Histogram("catalyst_webhook_delivery_duration_seconds",
                                         "Time of one webhook delivery attempt", registry=r)
        # labels() costs a lock and a tuple per call; the request path looks children up here.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    # -- requests (called by the middleware for every request: keep it cheap) --------------------

    def observe(self, request: web.Request, response: web.StreamResponse, seconds: float) -> None:
        resource = request.match_info.route.resource
        method = request.method
        if resource is not None:
            route = resource.canonical
        else:
            route = UNMATCHED
            if method not in _METHODS:
                method = "OTHER"
        status = response.status
        if self.enabled:
            key = (method, route, status)
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (self.requests.labels(method, route, str(status)),
                                                  self.latency.labels(method, route, str(status)))
            children[0].inc()
            children[1].observe(seconds)
        if REQUEST_LOG.isEnabledFor(logging.INFO):
            _log_request(request, method, route, status, seconds)

    # -- background work -------------------------------------------------------------------------

    def counted_alerts(self, alerts: Callable[[], Any]) -> Callable[[], Any]:
        """The AlertScheduler's service provider, with each pass counted."""
        return lambda: _CountedAlerts(alerts(), self)

    def webhook_attempt(self, outcome: str, seconds: float) -> None:
        """WebhookNotifier's `on_attempt` hook: `delivered`, `retry` or `gave_up`."""
        self.webhook_deliveries.labels(outcome).inc()
        self.webhook_latency.observe(seconds)

    def watch_engine(self, sync_engine: Any) -> Callable[[], None]:
        """Time every statement of `sync_engine`; answers the function that stops it."""
        from sqlalchemy import event

        def before(conn: Any, _cursor: Any, _statement: str, _params: Any, _context: Any,
                   _many: bool) -> None:
            conn.info.setdefault("catalyst_started", []).append(time.perf_counter())

        def after(conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any,
                  _many: bool) -> None:
            started = conn.info["catalyst_started"].pop()
            self.db.labels(_statement_kind(statement)).observe(time.perf_counter() - started)

        event.listen(sync_engine, "before_cursor_execute", before)
        event.listen(sync_engine, "after_cursor_execute", after)

        def stop() -> None:
            event.remove(sync_engine, "before_cursor_execute", before)
            event.remove(sync_engine, "after_cursor_execute", after)

        return stop

    def exposition(self) -> bytes:
        if multiprocess():
            from prometheus_client import multiprocess as mp

            registry = CollectorRegistry()
            mp.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def _statement_kind(statement: str) -> str:
    word = statement.lstrip()[:6].upper()
    return word if word in ("SELECT", "INSERT", "UPDATE", "DELETE") else "OTHER"


def _log_request(request: web.Request, method: str, route: str, status: int, seconds: float) -> None:
    actor = request.get(ACTOR)
    user = str(actor.user_id) if actor is not None else "-"
    ms = round(seconds * 1000, 2)
    REQUEST_LOG.info("%s %s %d %.2fms user=%s", method, request.path_qs, status, ms, user, extra={
        "method": method, "route": route, "status": status, "duration_ms": ms, "user": user,
        "request_id": request.get(REQUEST_ID, "-"), "remote": request.remote})


class _CountedAlerts:
    """AlertsService as the scheduler sees it (run_due), with its passes counted."""

    def __init__(self, service: Any, telemetry: Telemetry) -> None:
        self._service, self._telemetry = service, telemetry

    async def run_due(self, *, limit: int) -> Any:
        t = self._telemetry
        try:
            result = await self._service.run_due(limit=limit)
        except Exception:
            t.scheduler_passes.labels("failed").inc()
            raise
        t.scheduler_passes.labels("ok").inc()
        if result.ran:
            t.alert_runs.labels("ok").inc(result.ran - result.failed)
            t.alert_runs.labels("failed").inc(result.failed)
        return result


# -- routes ----------------------------------------------------------------------------------------

TELEMETRY = web.AppKey("telemetry", Telemetry)


class _Lifecycle:
    def __init__(self) -> None:
        self.stopping = False
        self.undo: list[Callable[[], None]] = []


_LIFECYCLE = web.AppKey("lifecycle", _Lifecycle)


def install_observability(app: web.Application, telemetry: Telemetry) -> None:
    """/health, /ready and /metrics on `app`, and the database timing while it runs."""
    app[TELEMETRY] = telemetry
    app[_LIFECYCLE] = lifecycle = _Lifecycle()
    app.router.add_get("/health", health, name="liveness")
    app.router.add_get("/ready", ready, name="readiness")
    if telemetry.enabled:
        app.router.add_get("/metrics", metrics, name="metrics")

    async def on_startup(app: web.Application) -> None:
        container = app[CONTAINER]
        if telemetry.enabled and _sql(container):
            lifecycle.undo.append(telemetry.watch_engine(container.engine().sync_engine))

    async def on_shutdown(_: web.Application) -> None:
        lifecycle.stopping = True  # /ready answers 503 from now on: balancers take this process out

    async def on_cleanup(_: web.Application) -> None:
        while lifecycle.undo:
            lifecycle.undo.pop()()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)


def _sql(container: Any) -> bool:
    return container.config.storage_kind() == "sql" and not container.storage.overridden


async def health(_: web.Request) -> web.Response:
    """Liveness: the process answers. Nothing else is checked (a database outage must not make
    an orchestrator restart every server)."""
    return envelope({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """Readiness: the storage answers and its schema is the one this code expects."""
    if request.app[_LIFECYCLE].stopping:
        return error_response(503, "Service Unavailable", "shutting down")
    container = request.app[CONTAINER]
    try:
        await container.storage().ping()
    except Exception as e:  # any failure to reach storage means "not ready", not a 500
        return error_response(503, "Service Unavailable", f"storage unreachable: {type(e).__name__}")
    if _sql(container):
        from catalyst_api.schema import schema_state

        try:
            state = await schema_state(container.engine())
        except Exception as e:
            return error_response(503, "Service Unavailable", f"schema unreadable: {type(e).__name__}")
        if not state.current:
            return error_response(503, "Service Unavailable", state.describe())
    return envelope({"status": "ok", "storage": "ok", "migrations": "current"})


async def metrics(request: web.Request) -> web.Response:
    # Reading the other processes' files is file I/O: off the event loop.
    body = await asyncio.to_thread(request.app[TELEMETRY].exposition)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
