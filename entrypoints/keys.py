"""Typed keys of the aiohttp application, and the one way handlers reach the container."""

from aiohttp import web

from catalyst_api.container import Container

CONTAINER = web.AppKey("container", Container)


def services(request: web.Request) -> Container:
    """The container of the application serving `request`."""
    return request.app[CONTAINER]
