"""Middlewares: request ids, the error envelope for every error, and bearer authentication."""

from __future__ import annotations

import contextvars
import logging
import os
import random
import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from catalyst_api.wire import MalformedBody, error_response
from catalyst_core.auth.model import Actor
from catalyst_core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger("catalyst.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID = web.RequestKey("request_id", str)
ACTOR = web.RequestKey("actor", Actor)
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")

API_PREFIX = "/api/v1"
PUBLIC_ROUTES = frozenset({"health", "register", "login"})

_STATUS_OF: list[tuple[type[DomainError], int]] = [
    (InvalidInput, 422), (Unauthenticated, 401), (Forbidden, 403), (NotFound, 404),
    (Conflict, 409), (Unavailable, 503),
]


_ids = random.Random()  # seeded from the OS once; request ids need uniqueness, not secrecy
os.register_at_fork(after_in_child=_ids.seed)  # forked workers must not repeat each other's ids


def _new_request_id() -> str:
    # uuid4() asks the OS for randomness on every call, which showed up in the list profile.
    return f"{_ids.getrandbits(128):032x}"


class RequestIdFilter(logging.Filter):
    """Adds the current request id to every log record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = incoming if _VALID_REQUEST_ID.match(incoming) else _new_request_id()
    token = request_id_var.set(request_id)
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except web.HTTPException as e:  # only when an inner middleware lets one through
        e.headers[REQUEST_ID_HEADER] = request_id
        raise
    finally:
        request_id_var.reset(token)
    response.headers[REQUEST_ID_HEADER] = request_id
    return response


def _domain_status(error: DomainError) -> int:
    return next((status for cls, status in _STATUS_OF if isinstance(error, cls)), 400)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves in the envelope: domain errors, aiohttp's own (404, 405, 413) and bugs."""
    try:
        return await handler(request)
    except InvalidInput as e:
        detail = [{"field": f, "message": m} for f, m in e.fields.items()]
        return error_response(422, e.message, detail)
    except Unauthenticated as e:
        return error_response(401, "Unauthorized", e.message, headers={"WWW-Authenticate": "Bearer"})
    except DomainError as e:
        status = _domain_status(e)
        return error_response(status, _reason(status), e.message)
    except MalformedBody as e:
        return error_response(400, "Bad Request", str(e))
    except web.HTTPException as e:
        if e.status < 400:
            raise
        headers = {k: v for k, v in e.headers.items() if k.lower() in ("allow", "retry-after")}
        return error_response(e.status, e.reason, _http_detail(e), headers=headers)
    except Exception as e:
        if isinstance(e, ConnectionError) and (request.transport is None or request.transport.is_closing()):
            raise  # the client went away mid-request: nobody to answer, nothing went wrong here
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Internal Server Error",
                              f"an unexpected error occurred (request id {request.get(REQUEST_ID)})")


def _http_detail(e: web.HTTPException) -> str:
    if e.status == 404:
        return "no such route"
    if e.status == 405:
        return f"method not allowed; allowed: {e.headers.get('Allow', '')}"
    if e.status == 413:
        return "the request body is too large"
    return e.text or e.reason


def _reason(status: int) -> str:
    return {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            409: "Conflict", 422: "Validation error", 503: "Service Unavailable"}.get(status, "Error")


def auth_middleware(authenticate: Callable[[str], Awaitable[Actor]]) -> Callable[..., object]:
    """Resolves `Authorization: Bearer <token>` into request["actor"] on every non-public API route."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route
        if (request.match_info.http_exception is None and request.path.startswith(API_PREFIX)
                and route.name not in PUBLIC_ROUTES):
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("a bearer token is required")
            request[ACTOR] = await authenticate(token.strip())
        return await handler(request)

    return middleware


def actor(request: web.Request) -> Actor:
    return request[ACTOR]
