"""The middleware: request ids, bearer authentication, and the error envelope for every error."""

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


def api_middleware(authenticate: Callable[[str], Awaitable[Actor]]) -> Callable[..., object]:
    """The one middleware (each layer of middleware costs every request a little): it gives the
    request its id, resolves the bearer token on API routes, and turns whatever is raised below
    into the error envelope."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = _request_id(request)
        token = request_id_var.set(request_id)
        try:
            try:
                await _authenticate(request, authenticate)
                response = await handler(request)
            except Exception as e:
                response = _error_response(request, e)
        except web.HTTPException as e:  # a redirect or other non-error answer from aiohttp
            e.headers[REQUEST_ID_HEADER] = request_id
            raise
        finally:
            request_id_var.reset(token)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    return middleware


def _request_id(request: web.Request) -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = incoming if _VALID_REQUEST_ID.match(incoming) else _new_request_id()
    request[REQUEST_ID] = request_id
    return request_id


async def _authenticate(request: web.Request, authenticate: Callable[[str], Awaitable[Actor]]) -> None:
    """request[ACTOR] from `Authorization: Bearer <token>` on every non-public API route."""
    route = request.match_info.route
    if (request.match_info.http_exception is None and request.path.startswith(API_PREFIX)
            and route.name not in PUBLIC_ROUTES):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("a bearer token is required")
        request[ACTOR] = await authenticate(token.strip())


def _domain_status(error: DomainError) -> int:
    return next((status for cls, status in _STATUS_OF if isinstance(error, cls)), 400)


def _error_response(request: web.Request, error: Exception) -> web.StreamResponse:
    """Every error leaves in the envelope: domain errors, aiohttp's own (404, 405, 413) and bugs.
    Re-raises what is not an error to answer: aiohttp's non-error responses, a vanished client."""
    match error:
        case InvalidInput():
            detail = [{"field": f, "message": m} for f, m in error.fields.items()]
            return error_response(422, error.message, detail)
        case Unauthenticated():
            return error_response(401, "Unauthorized", error.message,
                                  headers={"WWW-Authenticate": "Bearer"})
        case DomainError():
            status = _domain_status(error)
            return error_response(status, _reason(status), error.message)
        case MalformedBody():
            return error_response(400, "Bad Request", str(error))
        case web.HTTPException() if error.status >= 400:
            headers = {k: v for k, v in error.headers.items() if k.lower() in ("allow", "retry-after")}
            return error_response(error.status, error.reason, _http_detail(error), headers=headers)
        case web.HTTPException():
            raise error
        case ConnectionError() if request.transport is None or request.transport.is_closing():
            raise error  # the client went away mid-request: nobody to answer, nothing went wrong here
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=error)
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


def actor(request: web.Request) -> Actor:
    return request[ACTOR]
