"""WebhookNotifier against a real aiohttp receiver on a local port: Standard Webhooks signatures,
retries with backoff, giving up, resuming after a restart, and a `notify` that never waits."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from catalyst_adapters import webhooks
from catalyst_adapters.clock import SystemClock
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.notifier import LogNotifier, RecordingNotifier
from catalyst_adapters.sql import SqlStorage, create_engine, migrate
from catalyst_adapters.webhooks import WebhookNotifier, new_webhook_secret
from catalyst_core.auth.model import Actor, GlobalRole, User
from catalyst_core.clients.model import Client, ClientRole, Membership
from catalyst_core.errors import Unavailable
from catalyst_core.events import Delivery, Event, TaskCompleted
from catalyst_core.ids import ClientId, TaskId, UserId, sequential_ids
from catalyst_core.tasks.model import NewTask, Priority, TaskType
from catalyst_core.tasks.service import TasksService

SECRET = new_webhook_secret()
FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)
HANG = "hang"  # a receiver answer: keep the request open until the receiver is released
LOGGER = "catalyst.webhooks"


# -- a real receiver ------------------------------------------------------------------------------

class Receiver:
    """An aiohttp app on a local port that records every request and answers from a script
    (a status, or HANG), then 200 once the script runs out."""

    def __init__(self, *answers: int | str, port: int | None = None) -> None:
        self.answers, self.port = list(answers), port
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.release = asyncio.Event()
        self.open = self.most_open = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        answer = self.answers.pop(0) if self.answers else 200
        if answer == HANG:
            self.open += 1
            self.most_open = max(self.most_open, self.open)
            try:
                await self.release.wait()
            finally:
                self.open -= 1
            answer = 200
        return web.Response(status=int(answer))

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.server = TestServer(app, host="127.0.0.1", port=self.port)
        await self.server.start_server()
        self.url = str(self.server.make_url("/hook"))
        return self

    async def __aexit__(self, *_: Any) -> None:
        self.release.set()
        await self.server.close()

    def ids(self) -> list[str]:
        return [headers["webhook-id"] for headers, _ in self.requests]


async def eventually(check: Callable[[], Any], within: float = 10.0) -> None:
    """Wait until `check()` (or the awaitable it returns) is truthy; a guard, not a measurement."""
    async with asyncio.timeout(within):
        while True:
            result = check()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return
            await asyncio.sleep(0.01)


# -- storage and notifiers ------------------------------------------------------------------------

def delivery(kind: str = "TaskCompleted", payload: dict[str, Any] | None = None,
             occurred_at: datetime | None = None) -> Delivery:
    occurred_at = occurred_at or datetime.now(UTC)
    return Delivery(id=uuid.uuid4(), kind=kind, payload=payload or {"task_id": str(uuid.uuid4())},
                    occurred_at=occurred_at, next_attempt_at=occurred_at)


async def add(storage: Any, *deliveries: Delivery) -> None:
    async with storage.transaction() as tx:
        await tx.outbox.add(list(deliveries))


async def pending(storage: Any) -> list[Delivery]:
    """Every delivery still to be sent (leased ones included)."""
    async with storage.transaction(write=False) as tx:
        return await tx.outbox.due(FAR_FUTURE, 1000)


def an_event() -> Event:
    return TaskCompleted(occurred_at=datetime.now(UTC), task_id=TaskId(uuid.uuid4()),
                         client_id=ClientId(uuid.uuid4()), by=UserId(uuid.uuid4()))


async def sqlite_storage(path: Path) -> SqlStorage:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await migrate(engine)
    return SqlStorage(engine)


@pytest.fixture
async def notifiers() -> AsyncIterator[Callable[..., WebhookNotifier]]:
    """`notifiers(storage, url, **options)`: a started notifier with test-sized timings, closed
    after the test."""
    made: list[WebhookNotifier] = []

    def make(storage: Any, url: str, **options: Any) -> WebhookNotifier:
        options = {"timeout": 5.0, "backoff_base": 0.02, "backoff_cap": 0.2, "max_attempts": 10,
                   "close_grace": 0.1, **options}
        notifier = WebhookNotifier(storage, url, SECRET, SystemClock(), **options)
        notifier.start()
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        await notifier.close()


def verify_independently(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The Standard Webhooks check written out with hmac, not through the signing library."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    versions = [part.split(",", 1) for part in headers["webhook-signature"].split(" ")]
    return any(v == "v1" and hmac.compare_digest(sig, expected) for v, sig in versions)


# -- tests ----------------------------------------------------------------------------------------

async def test_webhook_is_signed_the_standard_webhooks_way(notifiers: Any) -> None:
    storage = MemoryStorage()
    sent = delivery(payload={"task_id": str(uuid.uuid4()), "note": "naïve ✓ 🚀 中文", "n": [1, 2.5]},
                    occurred_at=datetime(2024, 3, 1, 12, 30, 15, 250000, tzinfo=UTC))
    await add(storage, sent)
    async with Receiver() as receiver:
        notifiers(storage, receiver.url)
        await eventually(lambda: receiver.requests)
        [(headers, body)] = receiver.requests
        assert Webhook(SECRET).verify(body, headers) == {
            "type": "TaskCompleted", "timestamp": "2024-03-01T12:30:15.250000Z", "data": sent.payload}
        assert verify_independently(SECRET, headers, body)
        assert headers["webhook-id"] == str(sent.id)
        assert headers["Content-Type"] == "application/json"
        assert abs(int(headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60
        with pytest.raises(WebhookVerificationError):
            Webhook(SECRET).verify(body.replace(b"12:30", b"12:31"), headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(new_webhook_secret()).verify(body, headers)
        await eventually(lambda: _empty(storage))


async def _empty(storage: Any) -> bool:
    return await pending(storage) == []


async def test_webhook_is_retried_until_the_receiver_accepts_it(notifiers: Any) -> None:
    storage = MemoryStorage()
    sent = delivery()
    await add(storage, sent)
    # A request that times out, then an error, then success.
    async with Receiver(HANG, 503) as receiver:
        notifiers(storage, receiver.url, timeout=0.3)
        await eventually(lambda: _empty(storage))
        assert receiver.ids() == [str(sent.id)] * 3
        assert len({body for _, body in receiver.requests}) == 1
        assert all(Webhook(SECRET).verify(body, headers) for headers, body in receiver.requests)


async def test_webhook_to_a_receiver_that_is_down_is_sent_once_it_is_up(notifiers: Any) -> None:
    with socket.socket() as probe:  # a free port nobody listens on, yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    storage = MemoryStorage()
    sent = delivery()
    await add(storage, sent)
    notifiers(storage, f"http://127.0.0.1:{port}/hook")
    await eventually(lambda: _attempted(storage, 2))
    async with Receiver(port=port) as receiver:
        await eventually(lambda: _empty(storage))
        assert receiver.ids() == [str(sent.id)]


async def _attempted(storage: Any, times: int) -> bool:
    return any(d.attempts >= times for d in await pending(storage))


async def test_webhook_gives_up_after_max_attempts(notifiers: Any, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    storage = await sqlite_storage(tmp_path / "db.sqlite3")
    try:
        failing = delivery()
        await add(storage, failing)
        async with Receiver(500, 500, 500, 500, 500) as receiver:
            notifiers(storage, receiver.url, max_attempts=3)
            await eventually(lambda: [r for r in caplog.records if r.name == LOGGER
                                      and r.levelno == logging.WARNING])
            assert receiver.ids() == [str(failing.id)] * 3
        assert await pending(storage) == []
        warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and str(failing.id) in warnings[0].getMessage()
        async with storage.engine.connect() as conn:  # kept for operators, marked as failed
            row = (await conn.execute(sqlalchemy.text(
                "SELECT attempts, last_error, failed_at FROM outbox"))).one()
        assert (row.attempts, row.last_error) == (3, "HTTP 500") and row.failed_at is not None
    finally:
        await storage.close()


async def test_webhook_pending_at_close_is_sent_by_the_next_notifier(notifiers: Any,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    first_storage = await sqlite_storage(path)
    sent, later = delivery(), delivery()
    await add(first_storage, sent)
    async with Receiver(HANG) as hanging:
        first = notifiers(first_storage, hanging.url)
        await eventually(lambda: hanging.requests)
        await add(first_storage, later)  # written, but nobody is told
        await first.close()
    await first_storage.close()

    second_storage = await sqlite_storage(path)  # as after a restart of the process
    try:
        async with Receiver() as receiver:
            notifiers(second_storage, receiver.url)
            await eventually(lambda: _empty(second_storage))
            assert sorted(receiver.ids()) == sorted([str(sent.id), str(later.id)])
    finally:
        await second_storage.close()


async def test_notify_returns_at_once_while_the_receiver_hangs(notifiers: Any) -> None:
    storage = MemoryStorage()
    deliveries = [delivery() for _ in range(3)]
    async with Receiver(HANG, HANG, HANG) as receiver:
        notifier = notifiers(storage, receiver.url, max_in_flight=2, timeout=30.0)
        await add(storage, deliveries[0])
        await asyncio.wait_for(notifier.notify(an_event()), 1)
        await eventually(lambda: receiver.open == 1)
        await add(storage, *deliveries[1:])
        await asyncio.wait_for(notifier.notify(an_event()), 1)  # the receiver is still hanging
        await eventually(lambda: receiver.open == 2)
        await asyncio.sleep(0.2)  # room for a third request, were the sender not bounded
        assert len(receiver.requests) == 2 and not receiver.release.is_set()
        receiver.release.set()
        await eventually(lambda: _empty(storage))
        assert sorted(receiver.ids()) == sorted(str(d.id) for d in deliveries)
        assert receiver.most_open == 2


class FlakyStorage:
    """MemoryStorage that is unreachable while `down` is set, as SqlStorage is in an outage."""

    def __init__(self) -> None:
        self.inner, self.down, self.failures = MemoryStorage(), True, 0

    def transaction(self, *, write: bool = True) -> Any:
        if self.down:
            self.failures += 1
            raise Unavailable("the database is unavailable")
        return self.inner.transaction(write=write)


async def test_storage_outage_is_waited_out(notifiers: Any, monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(webhooks, "STORAGE_PAUSES", (0.01, 0.05))
    caplog.set_level(logging.INFO, LOGGER)
    storage = FlakyStorage()
    sent = delivery()
    await add(storage.inner, sent)
    async with Receiver() as receiver:
        notifier = notifiers(storage, receiver.url)
        await notifier.notify(an_event())
        await eventually(lambda: storage.failures >= 3)
        storage.down = False
        await eventually(lambda: _empty(storage.inner))
        assert receiver.ids() == [str(sent.id)]
    errors = [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.ERROR]
    assert len(errors) == 1  # logged once per outage, not once per try


async def test_a_use_case_event_reaches_the_receiver(notifiers: Any) -> None:
    storage, now = MemoryStorage(), datetime.now(UTC)
    admin, other = (UserId(uuid.uuid4()) for _ in range(2))
    client_id = ClientId(uuid.uuid4())
    async with storage.transaction() as tx:
        for user_id in (admin, other):
            await tx.users.add(User(user_id, f"{user_id.hex}@example.com", "User", "hash",
                                    GlobalRole.MEMBER, True, now, now))
        await tx.clients.add(Client(client_id, "Acme", None, True, now, now))
        await tx.members.add(Membership(client_id, admin, ClientRole.ADMIN, now))
        await tx.members.add(Membership(client_id, other, ClientRole.MEMBER, now))
    async with Receiver() as receiver:
        notifier = notifiers(storage, receiver.url)
        tasks = TasksService(storage, SystemClock(), notifier, sequential_ids())
        task = await tasks.create(Actor(admin, GlobalRole.MEMBER), NewTask(
            client_id=client_id, name="Review", task_type=TaskType.OTHER, priority=Priority.LOW,
            assignees=[other]))
        await eventually(lambda: receiver.requests)
        [(headers, body)] = receiver.requests
        message = Webhook(SECRET).verify(body, headers)
        assert message["type"] == "TaskAssigned"
        assert message["data"]["task_id"] == str(task.id)
        assert message["data"]["assignees"] == [str(other)]
        await eventually(lambda: _empty(storage))


def test_new_webhook_secret_is_random_and_in_standard_form() -> None:
    first, second = new_webhook_secret(), new_webhook_secret()
    assert first != second and first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32


@pytest.mark.parametrize("secret", ["", "plain-secret", "whsec_", "whsec_not base64!"])
def test_webhook_notifier_refuses_a_malformed_secret(secret: str) -> None:
    with pytest.raises(ValueError):
        WebhookNotifier(MemoryStorage(), "http://127.0.0.1/hook", secret, SystemClock())


@pytest.mark.parametrize("url", ["", "/hook", "ftp://example.com/hook", "http://"])
def test_webhook_notifier_refuses_a_url_it_cannot_post_to(url: str) -> None:
    with pytest.raises(ValueError):
        WebhookNotifier(MemoryStorage(), url, SECRET, SystemClock())


def test_which_notifiers_are_durable() -> None:
    assert WebhookNotifier(MemoryStorage(), "https://example.com/hook", SECRET, SystemClock()).durable
    assert LogNotifier().durable is False
    assert RecordingNotifier().durable is False
    assert RecordingNotifier(durable=True).durable is True


async def test_webhook_payload_body_is_compact_utf8_json(notifiers: Any) -> None:
    storage = MemoryStorage()
    await add(storage, delivery(payload={"name": "Zoë 🚀"}))
    async with Receiver() as receiver:
        notifiers(storage, receiver.url)
        await eventually(lambda: receiver.requests)
        [(_, body)] = receiver.requests
        assert "Zoë 🚀".encode() in body and b": " not in body
        assert json.loads(body)["data"] == {"name": "Zoë 🚀"}
        await eventually(lambda: _empty(storage))

