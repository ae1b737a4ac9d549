"""Typed keys of the aiohttp application, and the one way handlers reach the container."""

from aiohttp import web

from catalyst_api.container import Container
from catalyst_api.settings import Settings

CONTAINER = web.AppKey("container", Container)
SETTINGS = web.AppKey("settings", Settings)


def services(request: web.Request) -> Container:
    """The container of the application serving `request`."""
    return request.app[CONTAINER]
