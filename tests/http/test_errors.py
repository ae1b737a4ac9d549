"""Cross-cutting HTTP behaviour: the error envelope for every error, request ids, health, API docs."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.helpers import API, register

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def assert_envelope(body: dict[str, Any], status: int) -> None:
    assert set(body) == {"status_code", "message", "detail"}, body
    assert body["status_code"] == status
    assert isinstance(body["message"], str) and body["message"]


@pytest.mark.parametrize("path", ["/nope", f"{API}/nope", f"{API}/clients/x/y/z", "/api/v2/clients"])
async def test_unknown_route_is_404_envelope(api: TestClient, path: str) -> None:
    r = await api.get(path)
    assert r.status == 404
    assert r.content_type == "application/json"
    assert_envelope(await r.json(), 404)
    assert r.headers.get("X-Request-ID")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/clients", {"GET", "POST"}),
        ("POST", "/users/me", {"GET", "PUT"}),
        ("GET", "/auth/login", {"POST"}),
        ("PUT", "/clients/00000000-0000-0000-0000-000000000001/members", {"GET", "POST"}),
    ],
)
async def test_wrong_method_is_405_envelope_with_allow(api: TestClient, method: str, path: str,
                                                       allowed: set[str]) -> None:
    r = await api.request(method, API + path)
    assert r.status == 405
    assert_envelope(await r.json(), 405)
    assert set(r.headers["Allow"].split(",")) - {"HEAD"} == allowed
    assert r.headers.get("X-Request-ID")


async def test_oversized_body_is_413_envelope(api_factory: Callable[..., Awaitable[TestClient]]) -> None:
    api = await api_factory("memory", max_body_bytes=1024)
    payload = {"email": "big@example.com", "password": "long enough pw", "name": "x" * 2048}
    r = await api.post(f"{API}/auth/register", json=payload)
    assert r.status == 413
    assert_envelope(await r.json(), 413)
    assert r.headers.get("X-Request-ID")
    # Nothing was written, and a small body still works on the same app.
    r = await api.post(f"{API}/auth/login", json={"email": "big@example.com", "password": "long enough pw"})
    assert r.status == 401
    r = await api.post(f"{API}/auth/register", json={**payload, "name": "Small"})
    assert r.status == 201


async def test_every_response_carries_a_request_id(api: TestClient) -> None:
    alice = await register(api)
    responses = [
        await api.get(f"{API}/health"),
        await api.get(f"{API}/users/me", headers=alice.headers),
        await api.get(f"{API}/users/me"),  # 401
        await api.post(f"{API}/clients", json={}, headers=alice.headers),  # 422
        await api.post(f"{API}/auth/register", data=b"{",
                       headers={"Content-Type": "application/json"}),  # 400
        await api.get("/nowhere"),  # 404
        await api.get("/openapi.json"),
    ]
    ids = [r.headers.get("X-Request-ID", "") for r in responses]
    assert [r.status for r in responses] == [200, 200, 401, 422, 400, 404, 200]
    assert all(HEX_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)  # one per request


@pytest.mark.parametrize("incoming", ["abc-123", "req_42.retry-1", "A" * 64])
async def test_sane_incoming_request_id_is_echoed(api: TestClient, incoming: str) -> None:
    for path in (f"{API}/health", f"{API}/users/me", "/missing"):
        r = await api.get(path, headers={"X-Request-ID": incoming})
        assert r.headers["X-Request-ID"] == incoming, path


@pytest.mark.parametrize("incoming", ["has spaces", "A" * 200, "a;b", "<script>", "ünïcode", "x\ty"])
async def test_unsafe_incoming_request_id_is_replaced(api: TestClient, incoming: str) -> None:
    r = await api.get(f"{API}/health", headers={"X-Request-ID": incoming})
    assert r.status == 200
    out = r.headers["X-Request-ID"]
    assert out != incoming and HEX_ID.match(out)


async def test_unexpected_exception_is_500_envelope_without_leaking(api: TestClient,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    alice = await register(api)

    async def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret database password is hunter2")

    monkeypatch.setattr(api.container.clients(), "list", boom)  # type: ignore[attr-defined]
    r = await api.get(f"{API}/clients", headers={**alice.headers, "X-Request-ID": "trace-me-1"})
    text = await r.text()
    assert r.status == 500
    body = await r.json()
    assert_envelope(body, 500)
    assert "secret" not in text and "hunter2" not in text and "RuntimeError" not in text
    assert "Traceback" not in text
    assert r.headers["X-Request-ID"] == "trace-me-1"
    assert "trace-me-1" in body["detail"]  # so an operator can find the log line
    # The app keeps serving.
    monkeypatch.undo()
    r = await api.get(f"{API}/clients", headers=alice.headers)
    assert r.status == 200


async def test_health_needs_no_auth(api: TestClient) -> None:
    r = await api.get(f"{API}/health")
    assert r.status == 200
    body = await r.json()
    assert body["status_code"] == 200
    assert body["data"] == {"status": "ok", "database": "ok"}


async def test_health_reports_unreachable_storage_as_503(api: TestClient,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    async def down() -> None:
        raise ConnectionError("db host 10.0.0.5 refused")

    monkeypatch.setattr(api.container.storage(), "ping", down)  # type: ignore[attr-defined]
    r = await api.get(f"{API}/health")
    assert r.status == 503
    body = await r.json()
    assert_envelope(body, 503)
    assert "10.0.0.5" not in await r.text()


async def test_openapi_document_is_served(api: TestClient) -> None:
    r = await api.get("/openapi.json")
    assert r.status == 200
    assert r.content_type == "application/json"
    doc = await r.json()
    assert doc["openapi"].startswith("3.1.")
    assert doc["servers"][0]["url"] == "/api/v1"
    assert "/clients/{client_id}/members/{user_id}" in doc["paths"]


async def test_swagger_ui_is_served_with_local_assets(api: TestClient) -> None:
    r = await api.get("/docs/")
    assert r.status == 200
    assert r.content_type == "text/html"
    html = await r.text()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert assets, html
    assert not any(a.startswith(("http://", "https://", "//")) for a in assets), assets
    for asset in assets:
        a = await api.get(asset)
        assert a.status == 200, asset
        assert len(await a.read()) > 100, asset
    # The page tells Swagger UI where the document is; that URL must answer the document.
    spec_url = re.search(r'url:\s*"([^"]+)"', html)
    assert spec_url, html
    s = await api.get(spec_url.group(1))
    assert s.status == 200, spec_url.group(1)
    assert (await s.json())["openapi"].startswith("3.1.")
