"""Security headers on every answer (errors included) and CORS: none allowed by default, the
configured origins allowed (preflight answered without a token), the Swagger UI page's policy
letting exactly its own assets and inline script run, HSTS only when configured."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest

from catalyst_api.settings import Settings
from catalyst_api.web_security import API_CSP
from tests.helpers import API, register

APP = "https://app.example"
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}


def assert_safe_headers(headers: Any, where: str) -> None:
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") == "no-referrer", where
    assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), where
    assert "Strict-Transport-Security" not in headers, where  # only when configured


async def test_every_kind_of_answer_carries_the_headers_and_no_cors(api_factory: Any) -> None:
    api = await api_factory("memory")
    alice = await register(api, "Alice")
    answers = {
        "ok": await api.get(f"{API}/users/me", headers=alice.headers),
        "public": await api.get(f"{API}/health"),
        "401": await api.get(f"{API}/clients"),
        "404 route": await api.get(f"{API}/nope"),
        "405": await api.delete(f"{API}/health"),
        "422": await api.post(f"{API}/auth/register", json={}),
        "openapi": await api.get("/openapi.json"),
        "cross-origin": await api.get(f"{API}/users/me", headers={**alice.headers, "Origin": APP}),
    }
    for where, r in answers.items():
        assert_safe_headers(r.headers, where)
        assert r.headers["Content-Security-Policy"] == API_CSP, where
        assert not any(h.lower().startswith("access-control-") for h in r.headers), where
    # No origin is allowed by default: a preflight is not answered with permission (and not 401).
    r = await api.options(f"{API}/tasks", headers=PREFLIGHT)
    assert r.status in (403, 405) and "Access-Control-Allow-Origin" not in r.headers
    assert (await r.json())["status_code"] == r.status


async def test_configured_origins_get_cors_and_a_tokenless_preflight(api_factory: Any) -> None:
    api = await api_factory("memory", cors_origins=(APP, "http://localhost:3000"))
    alice = await register(api, "Alice")
    for path in ("/tasks", "/clients/00000000-0000-0000-0000-000000000001/members", "/auth/login"):
        r = await api.options(API + path, headers=PREFLIGHT)
        assert r.status == 200, (path, await r.text())
        assert r.headers["Access-Control-Allow-Origin"] == APP
        assert "POST" in r.headers["Access-Control-Allow-Methods"]
        allowed = r.headers["Access-Control-Allow-Headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed
        assert "Access-Control-Allow-Credentials" not in r.headers  # bearer tokens, not cookies

    r = await api.get(f"{API}/users/me", headers={**alice.headers, "Origin": APP})
    assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == APP
    exposed = r.headers["Access-Control-Expose-Headers"].lower()
    assert "x-request-id" in exposed and "x-ratelimit-remaining" in exposed
    # Errors carry CORS too, so the page can read why it was refused.
    r = await api.get(f"{API}/clients", headers={"Origin": APP})
    assert r.status == 401 and r.headers["Access-Control-Allow-Origin"] == APP

    # Another origin: no permission, neither in a preflight nor in an answer.
    r = await api.options(f"{API}/tasks", headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert r.status == 403 and "Access-Control-Allow-Origin" not in r.headers
    r = await api.get(f"{API}/users/me", headers={**alice.headers, "Origin": "https://evil.example"})
    assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers


async def test_the_swagger_ui_page_may_run_its_own_script_and_assets_only(api_factory: Any) -> None:
    api = await api_factory("memory")
    r = await api.get("/docs/")
    assert r.status == 200
    page = await r.text()
    csp = r.headers["Content-Security-Policy"]
    assert_safe_headers(r.headers, "/docs")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in csp
    inline = re.findall(r"<script>(.*?)</script>", page, re.DOTALL)
    assert inline, "the page has no inline script: the hash check below would prove nothing"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in directives["script-src"]
    # Every asset the page names is served by this server, under the page's policy.
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/docs/") for a in assets), assets
    for asset in assets:
        r = await api.get(asset)
        assert r.status == 200, asset
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert (await api.get("/docs/openapi.json")).status == 200


async def test_hsts_when_configured_and_headers_off_when_a_proxy_sets_them(api_factory: Any) -> None:
    api = await api_factory("memory", hsts_seconds=31536000)
    r = await api.get(f"{API}/health")
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    api = await api_factory("memory", security_headers=False)
    r = await api.get(f"{API}/health")
    assert not {"X-Frame-Options", "Content-Security-Policy", "X-Content-Type-Options"} & set(r.headers)


@pytest.mark.parametrize("raw, expected", [
    ("", ()), (" https://a.example , http://localhost:3000 ", ("https://a.example", "http://localhost:3000")),
    ("*", ("*",)),
])
def test_cors_origins_from_the_environment(raw: str, expected: tuple[str, ...]) -> None:
    settings = Settings.from_env({"CATALYST_CORS_ORIGINS": raw, "CATALYST_DATA_DIR": "unused"})
    assert settings.cors_origins == expected


@pytest.mark.parametrize("raw", ["https://a.example/", "a.example", "https://a.example/path",
                                 "ftp://a.example", "https://a.example, javascript:alert(1)"])
def test_a_malformed_origin_is_refused_at_start(raw: str) -> None:
    with pytest.raises(ValueError, match="CATALYST_CORS_ORIGINS"):
        Settings.from_env({"CATALYST_CORS_ORIGINS": raw, "CATALYST_DATA_DIR": "unused"})
