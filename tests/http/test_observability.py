"""/health, /ready, /metrics and the request log (issue 13)."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer
from dependency_injector import providers

from catalyst_adapters.security import PasslibHasher
from catalyst_api.app import create_app
from catalyst_api.container import build_container
from catalyst_api.logs import log_handler
from catalyst_api.observability import Telemetry
from catalyst_api.settings import Settings


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", data_dir=tmp_path,
                        jwt_secret="k" * 40, scheduler=False)
    container = build_container(settings)
    container.hasher.override(providers.Object(PasslibHasher.fast_for_tests()))
    c = TestClient(TestServer(create_app(settings, container=container)))
    await c.start_server()
    c.db_path = tmp_path / "c.db"  # type: ignore[attr-defined]
    yield c
    await c.close()


def samples(text: str, name: str) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith(name)}


async def test_health_and_ready(client: TestClient) -> None:
    assert (await (await client.get("/health")).json())["data"] == {"status": "ok"}
    r = await client.get("/ready")
    assert r.status == 200 and (await r.json())["data"]["migrations"] == "current"
    assert (await client.get("/api/v1/health")).status == 200  # the API's own, kept


async def test_ready_says_what_to_do_when_the_schema_is_behind(client: TestClient) -> None:
    with sqlite3.connect(client.db_path) as db:  # type: ignore[attr-defined]
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    r = await client.get("/ready")
    assert r.status == 503 and "catalyst migrate" in (await r.json())["detail"]
    assert (await client.get("/health")).status == 200  # liveness does not look at the database


async def test_metrics_count_by_route_template_and_status(client: TestClient) -> None:
    for task in ("5f0c5a9e-0000-4000-8000-000000000001", "5f0c5a9e-0000-4000-8000-000000000002"):
        assert (await client.get(f"/api/v1/tasks/{task}")).status == 401
    assert (await client.get("/no/such/page")).status == 404
    text = await (await client.get("/metrics")).text()
    counts = samples(text, "catalyst_http_requests_total")
    assert counts['catalyst_http_requests_total{method="GET",route="/api/v1/tasks/{task_id}",'
                  'status="401"}'] == 2
    assert counts['catalyst_http_requests_total{method="GET",route="unmatched",status="404"}'] == 1
    latency = samples(text, "catalyst_http_request_duration_seconds_count")
    assert latency['catalyst_http_request_duration_seconds_count{method="GET",'
                   'route="/api/v1/tasks/{task_id}",status="401"}'] == 2
    db = samples(text, "catalyst_db_statement_duration_seconds_count")
    assert db.get('catalyst_db_statement_duration_seconds_count{statement="SELECT"}', 0) > 0


async def test_json_request_log_carries_the_fields(client: TestClient) -> None:
    stream = io.StringIO()
    handler = log_handler("json")
    handler.setStream(stream)
    access = logging.getLogger("catalyst.access")
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        body = {"email": "j@example.com", "password": "a long password", "name": "J"}
        assert (await client.post("/api/v1/auth/register", json=body)).status == 201
        credentials = {"email": body["email"], "password": body["password"]}
        r = await client.post("/api/v1/auth/login", json=credentials)
        token = (await r.json())["data"]["access_token"]
        me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        user_id = (await me.json())["data"]["id"]
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    last = lines[-1]
    assert {k: last[k] for k in ("method", "route", "status", "user", "request_id", "level")} == {
        "method": "GET", "route": "/api/v1/users/me", "status": 200, "user": user_id,
        "request_id": me.headers["X-Request-ID"], "level": "INFO"}
    assert last["duration_ms"] >= 0 and "time" in last
    assert lines[0]["user"] == "-"  # registration is anonymous


async def test_scheduler_passes_are_counted() -> None:
    telemetry = Telemetry()

    class Alerts:
        async def run_due(self, *, limit: int) -> SimpleNamespace:
            return SimpleNamespace(ran=3, failed=1, instances_created=2)

    alerts = telemetry.counted_alerts(Alerts)
    await alerts().run_due(limit=10)
    text = telemetry.exposition().decode()
    assert 'catalyst_scheduler_passes_total{outcome="ok"} 1.0' in text
    assert 'catalyst_alert_runs_total{outcome="ok"} 2.0' in text
    assert 'catalyst_alert_runs_total{outcome="failed"} 1.0' in text
