"""The aiohttp application: create_app(settings) builds everything; nothing runs at import time."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import yaml
from aiohttp import web
from dependency_injector import providers
from swagger_ui import api_doc

from catalyst_api.container import Container, build_container, start_storage, stop_storage
from catalyst_api.handlers import alerts, auth, clients, creatives, leads, metrics, reports, tasks
from catalyst_api.keys import CONTAINER, SETTINGS
from catalyst_api.media_sweep import MediaSweeper
from catalyst_api.middleware import API_PREFIX, api_middleware
from catalyst_api.observability import Telemetry, install_observability
from catalyst_api.pacing import ReadPacer
from catalyst_api.scheduler import AlertScheduler
from catalyst_api.settings import Settings
from catalyst_api.web_security import security_headers, setup_cors, swagger_page

DOCS_OPTIONS: dict[str, Any] = {"config_rel_url": "/openapi.json", "url_prefix": "/docs",
                                "title": "Catalyst API"}

ROUTE_TABLES = (auth.routes, clients.routes, tasks.routes, metrics.routes, reports.routes,
                alerts.routes, leads.routes, creatives.routes)


@cache
def openapi_document() -> dict[str, Any]:
    """The contract (contracts/openapi.yaml), parsed once."""
    text = resources.files("catalyst_contracts").joinpath("openapi.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> web.Application:
    """The API application. Pass `container` to run with overridden providers (tests, embedding)."""
    settings = settings or Settings.from_env()
    container = container or build_container(settings)

    async def authenticate(token: str) -> Any:
        return await container.auth().authenticate(token)

    async def rate_limit(user_id: Any) -> Any:
        # Resolved per request, like `authenticate`: tests override the clock after create_app.
        return await container.request_limits().spend(user_id)

    telemetry = Telemetry(metrics=settings.metrics)
    container.webhook_attempt.override(providers.Object(telemetry.webhook_attempt))
    api_headers, docs_headers = security_headers(settings, swagger_page(**DOCS_OPTIONS))
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[api_middleware(authenticate, headers=api_headers, docs_headers=docs_headers,
                                    observe=telemetry.observe,
                                    rate_limit=rate_limit if settings.rate_limit > 0 else None,
                                    pacer=ReadPacer(settings.reads_per_turn_while_writing)
                                    if settings.reads_per_turn_while_writing > 0 else None)],
    )
    app[CONTAINER] = container
    app[SETTINGS] = settings

    # The API's routes sit on the application itself, under the prefix: a sub-application would
    # resolve every request twice and rebuild its config chain (measured on the task list).
    for table in ROUTE_TABLES:
        for route in table:
            assert isinstance(route, web.RouteDef)
            app.router.add_route(route.method, API_PREFIX + route.path, route.handler, **route.kwargs)

    openapi_body = json.dumps(openapi_document())

    async def openapi_json(_: web.Request) -> web.Response:
        return web.Response(text=openapi_body, content_type="application/json")

    app.router.add_get("/openapi.json", openapi_json, name="openapi")
    api_doc(app, **DOCS_OPTIONS)
    # swagger-ui-py points the page at url_prefix + config_rel_url (/docs/openapi.json); serve it there.
    app.router.add_get("/docs/openapi.json", openapi_json, name="docs_openapi")

    setup_cors(app, settings, (API_PREFIX, "/openapi.json"))  # after every route is added

    install_observability(app, telemetry)  # /health, /ready, /metrics
    scheduler = AlertScheduler(telemetry.counted_alerts(container.alerts),
                               interval=settings.scheduler_interval_seconds)

    sweeper = MediaSweeper(container.creatives, container.blobs)

    async def on_startup(_: web.Application) -> None:
        await start_storage(container)
        sweeper.start()
        if settings.scheduler:
            scheduler.start()

    async def on_cleanup(_: web.Application) -> None:
        await scheduler.stop()
        await sweeper.stop()
        await stop_storage(container)

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
