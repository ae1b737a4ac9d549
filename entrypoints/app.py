"""The aiohttp application: create_app(settings) builds everything; nothing runs at import time."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import yaml
from aiohttp import web
from swagger_ui import api_doc

from catalyst_api.container import Container, build_container, start_storage, stop_storage
from catalyst_api.handlers import alerts, auth, clients, leads, metrics, reports, tasks
from catalyst_api.keys import CONTAINER, SETTINGS
from catalyst_api.middleware import API_PREFIX, api_middleware
from catalyst_api.scheduler import AlertScheduler
from catalyst_api.settings import Settings

ROUTE_TABLES = (auth.routes, clients.routes, tasks.routes, metrics.routes, reports.routes,
                alerts.routes, leads.routes)


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

    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[api_middleware(authenticate)],
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
    api_doc(app, config_rel_url="/openapi.json", url_prefix="/docs", title="Catalyst API")
    # swagger-ui-py points the page at url_prefix + config_rel_url (/docs/openapi.json); serve it there.
    app.router.add_get("/docs/openapi.json", openapi_json, name="docs_openapi")

    scheduler = AlertScheduler(container.alerts, interval=settings.scheduler_interval_seconds)

    async def on_startup(_: web.Application) -> None:
        await start_storage(container)
        if settings.scheduler:
            scheduler.start()

    async def on_cleanup(_: web.Application) -> None:
        await scheduler.stop()
        await stop_storage(container)

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
