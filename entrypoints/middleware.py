"""The middleware: request ids, bearer authentication, and the error envelope for every error."""

from __future__ import annotations

import contextvars
import logging
import os
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from time import perf_counter

from aiohttp import web

from catalyst_api.pacing import ReadPacer
from catalyst_api.web_security import DOCS_PREFIX, add_headers
from catalyst_api.wire import MalformedBody, error_response
from catalyst_core.auth.model import Actor
from catalyst_core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthenticated,
    Unavailable,
    UnsupportedMedia,
)
from catalyst_core.ids import UserId
from catalyst_core.limits import RateStatus, RequestLimits

log = logging.getLogger("catalyst.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID = web.RequestKey("request_id", str)
ACTOR = web.RequestKey("actor", Actor)
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")

API_PREFIX = "/api/v1"
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_ROUTES = frozenset({"health", "register", "login"})

_STATUS_OF: list[tuple[type[DomainError], int]] = [
    (InvalidInput, 422), (Unauthenticated, 401), (Forbidden, 403), (NotFound, 404),
    (Conflict, 409), (TooLarge, 413), (UnsupportedMedia, 415), (RateLimited, 429), (Unavailable, 503),
]
# Seconds a client is asked to wait after a 503 (the database down or locked past its bound).
UNAVAILABLE_RETRY_AFTER = "5"


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


def api_middleware(authenticate: Callable[[str], Awaitable[Actor]], *,
                   headers: Mapping[str, str] | None = None,
                   docs_headers: Mapping[str, str] | None = None,
                   observe: Callable[[web.Request, web.StreamResponse, float], None] | None = None,
                   rate_limit: Callable[[UserId], Awaitable[RateStatus]] | None = None,
                   pacer: ReadPacer | None = None,
                   ) -> Callable[..., object]:
    """The one middleware (each layer of middleware costs every request a little): it gives the
    request its id, resolves the bearer token on API routes, turns whatever is raised below into
    the error envelope, and adds the security headers (`docs_headers` under /docs, prepared once
    by catalyst_api.web_security). `observe(request, response, seconds)` sees every answered
    request (catalyst_api.observability: the request log line and metrics). `rate_limit(user_id)`
    spends one request of the authenticated caller's quota: its X-RateLimit-* headers go on every
    authenticated response, errors included, and past the limit the request is answered 429.
    With a `pacer`, reads give way to writes that arrive meanwhile (catalyst_api.pacing)."""
    headers, docs_headers = headers or {}, docs_headers or {}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = perf_counter()
        request_id = _request_id(request)
        token = request_id_var.set(request_id)
        rate = None
        try:
            try:
                if pacer is not None:
                    if request.method not in _READ_METHODS:
                        pacer.wrote(started)
                    elif pacer.pacing(started):
                        await pacer.admit()
                await _authenticate(request, authenticate)
                if rate_limit is not None and ACTOR in request:
                    rate = await rate_limit(request[ACTOR].user_id)
                    if not rate.allowed:
                        raise RequestLimits.refusal(rate)
                response = await handler(request)
            except Exception as e:
                response = _error_response(request, e)
        except web.HTTPException as e:  # a redirect or other non-error answer from aiohttp
            e.headers[REQUEST_ID_HEADER] = request_id
            raise
        finally:
            request_id_var.reset(token)
        response.headers[REQUEST_ID_HEADER] = request_id
        if rate is not None:
            _rate_headers(response, rate)
        add_headers(response, docs_headers if request.path.startswith(DOCS_PREFIX) else headers)
        if observe is not None:
            observe(request, response, perf_counter() - started)
        return response

    return middleware


def _rate_headers(response: web.StreamResponse, rate: RateStatus) -> None:
    headers = response.headers
    headers["X-RateLimit-Limit"] = str(rate.limit)
    headers["X-RateLimit-Remaining"] = str(rate.remaining)
    headers["X-RateLimit-Reset"] = str(rate.reset)


def _request_id(request: web.Request) -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = incoming if _VALID_REQUEST_ID.match(incoming) else _new_request_id()
    request[REQUEST_ID] = request_id
    return request_id


async def _authenticate(request: web.Request, authenticate: Callable[[str], Awaitable[Actor]]) -> None:
    """request[ACTOR] from `Authorization: Bearer <token>` on every non-public API route."""
    route = request.match_info.route
    if (request.match_info.http_exception is None and request.path.startswith(API_PREFIX)
            and route.name not in PUBLIC_ROUTES and request.method != "OPTIONS"):
        # OPTIONS is the CORS preflight (aiohttp-cors answers it): browsers send it without
        # credentials, so it must not need a token. No API route takes OPTIONS otherwise.
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("a bearer token is required")
        if len(request.headers.getall("Authorization")) > 1:
            # Which one would a proxy in front have checked? Refuse rather than guess.
            raise Unauthenticated("send one Authorization header")
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
        case RateLimited():
            return error_response(429, _reason(429), error.message,
                                  headers={"Retry-After": str(error.retry_after)})
        case Unavailable():  # the database is down or locked past its bound: worth a retry
            return error_response(503, _reason(503), error.message,
                                  headers={"Retry-After": UNAVAILABLE_RETRY_AFTER})
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
            409: "Conflict", 413: "Payload Too Large", 415: "Unsupported Media Type",
            422: "Validation error", 429: "Too Many Requests",
            503: "Service Unavailable"}.get(status, "Error")


def actor(request: web.Request) -> Actor:
    return request[ACTOR]
