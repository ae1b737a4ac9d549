"""Browser-facing protections: security headers on every response, and CORS for the configured
origins. Both are worked out once in create_app(); a request only copies a prepared header dict."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping

import aiohttp_cors
from aiohttp import web

from catalyst_api.settings import Settings

DOCS_PREFIX = "/docs"

# Headers a browser page may read from a cross-origin answer besides the CORS-safelisted ones.
EXPOSED_HEADERS = ("X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                   "Retry-After", "WWW-Authenticate", "Location", "Content-Disposition")
ALLOWED_REQUEST_HEADERS = ("Authorization", "Content-Type", "X-Request-ID", "If-Match", "Range")
ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight answer

# The API answers JSON (and media files): nothing in it may run, load or be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def docs_csp(docs_html: str) -> str:
    """The Swagger UI page's policy: its scripts, styles and images come from this server
    (packaged assets, no CDN); its one inline script (the SwaggerUIBundle call) is allowed by its
    hash, not by 'unsafe-inline'. Swagger UI sets inline styles, and draws icons from data: URLs."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode("ascii") + "'"
        for s in _INLINE_SCRIPT.findall(docs_html))
    return ("default-src 'self'; "
            f"script-src 'self' {hashes}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; "
            "connect-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def security_headers(settings: Settings, docs_html: str) -> tuple[dict[str, str], dict[str, str]]:
    """(headers for the API and everything else, headers for the Swagger UI pages under /docs)."""
    common: dict[str, str] = {}
    if settings.security_headers:
        common = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                  "Referrer-Policy": "no-referrer"}
    if settings.hsts_seconds > 0:
        # Only when configured: sent over plain HTTP by mistake, it would lock browsers out of a
        # server that has no certificate.
        common["Strict-Transport-Security"] = f"max-age={settings.hsts_seconds}; includeSubDomains"
    if not settings.security_headers:
        return common, dict(common)
    return ({**common, "Content-Security-Policy": API_CSP},
            {**common, "Content-Security-Policy": docs_csp(docs_html)})


def add_headers(response: web.StreamResponse, headers: Mapping[str, str]) -> None:
    """Adds `headers` a handler did not set itself (a media file may carry its own policy)."""
    own = response.headers
    for name, value in headers.items():
        if name not in own:
            own[name] = value


def setup_cors(app: web.Application, settings: Settings, prefixes: tuple[str, ...]) -> None:
    """CORS through aiohttp-cors for the routes under `prefixes`, for the configured origins only.
    With no origin configured nothing is installed: no CORS header is ever sent, so browsers keep
    other sites' pages from reading the API (the safe default), and no request pays for it.
    Credentials (cookies) are never allowed: the API authenticates with bearer tokens."""
    if not settings.cors_origins:
        return
    options = aiohttp_cors.ResourceOptions(
        allow_credentials=False, expose_headers=EXPOSED_HEADERS,
        allow_headers=ALLOWED_REQUEST_HEADERS, allow_methods=ALLOWED_METHODS, max_age=PREFLIGHT_MAX_AGE)
    cors = aiohttp_cors.setup(app, defaults={origin: options for origin in settings.cors_origins})
    for route in list(app.router.routes()):
        path = route.resource.canonical if route.resource is not None else ""
        if route.method != "OPTIONS" and path.startswith(prefixes):
            cors.add(route)


def swagger_page(**docs_options: object) -> str:
    """The HTML swagger-ui-py serves at /docs for these `api_doc` options (rendered here once, to
    hash its inline script into the page's policy)."""
    from swagger_ui.core import ApplicationDocument

    return str(ApplicationDocument(None, **docs_options).doc_html)
