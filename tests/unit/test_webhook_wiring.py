"""The container sends events to a webhook when one is configured, through the outbox."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks import Webhook

from catalyst_adapters.notifier import LogNotifier
from catalyst_adapters.webhooks import WebhookNotifier, new_webhook_secret
from catalyst_api.container import build_container, start_storage, stop_storage
from catalyst_api.settings import Settings
from catalyst_core.auth.model import Actor, GlobalRole
from catalyst_core.tasks.model import NewTask


def test_without_a_url_events_go_to_the_log() -> None:
    container = build_container(Settings(database_url="memory", data_dir=Path("unused")))
    assert isinstance(container.notifier(), LogNotifier)


def test_a_url_without_a_secret_is_refused_with_what_to_do() -> None:
    with pytest.raises(ValueError, match="CATALYST_WEBHOOK_SECRET"):
        build_container(Settings(database_url="memory", data_dir=Path("unused"),
                                 webhook_url="http://127.0.0.1:9/hook"))


async def test_a_task_event_reaches_the_configured_webhook_signed(tmp_path: Path) -> None:
    received: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        await received.put((await request.read(), dict(request.headers)))
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    server = TestServer(receiver)
    await server.start_server()
    secret = new_webhook_secret()
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
                        data_dir=tmp_path, webhook_url=str(server.make_url("/hook")),
                        webhook_secret=secret, read_processes=0)
    container = build_container(settings)
    try:
        await start_storage(container)
        assert isinstance(container.notifier(), WebhookNotifier)
        admin = await container.auth().register("a@example.com", "correct horse battery", "Ada",
                                                role=GlobalRole.ADMIN)
        actor = Actor(admin.id, GlobalRole.ADMIN)
        client = await container.clients().create(actor, "Acme")
        task = await container.tasks().create(actor, NewTask(client.client.id, "Launch",
                                                             assignees=[admin.id]))
        body, headers = await asyncio.wait_for(received.get(), timeout=10)
        Webhook(secret.removeprefix("whsec_")).verify(body, headers)
        message = json.loads(body)
        assert message["type"] == "TaskAssigned" and message["data"]["task_id"] == str(task.id)
    finally:
        await stop_storage(container)
        await server.close()


async def test_each_delivery_attempt_is_counted_in_the_metrics(tmp_path: Path) -> None:
    """The app's /metrics counts webhook attempts by outcome (WebhookNotifier's on_attempt)."""
    from aiohttp.test_utils import TestClient

    from catalyst_api.app import create_app

    delivered = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        delivered.set()
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    server = TestServer(receiver)
    await server.start_server()
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}",
                        data_dir=tmp_path, webhook_url=str(server.make_url("/hook")),
                        webhook_secret=new_webhook_secret(), read_processes=0, scheduler=False,
                        jwt_secret="metrics-test-secret-long-enough-for-hs256")
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        from catalyst_api.keys import CONTAINER

        container = client.app[CONTAINER]
        admin = await container.auth().register("a@example.com", "correct horse battery", "Ada",
                                                role=GlobalRole.ADMIN)
        actor = Actor(admin.id, GlobalRole.ADMIN)
        c = await container.clients().create(actor, "Acme")
        await container.tasks().create(actor, NewTask(c.client.id, "Launch", assignees=[admin.id]))
        await asyncio.wait_for(delivered.wait(), timeout=10)
        for _ in range(100):
            text = await (await client.get("/metrics")).text()
            if 'catalyst_webhook_deliveries_total{outcome="delivered"}' in text:
                break
            await asyncio.sleep(0.05)
        assert 'catalyst_webhook_deliveries_total{outcome="delivered"}' in text
    finally:
        await client.close()
        await server.close()
