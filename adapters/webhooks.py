"""WebhookNotifier: durable delivery of events to one HTTP endpoint, signed as Standard Webhooks.

Use cases write each event to the outbox in the transaction of the change that caused it
(catalyst_core.notifications); this notifier's `notify` only wakes its sender, a background task
that claims due deliveries, POSTs them and records the outcome. Delivery is at least once: a
receiver deduplicates on `webhook-id` (the delivery id, the same on every attempt).

Claims are leases: `OutboxRepo.claim` moves a claimed delivery's next attempt `timeout +
LEASE_MARGIN` ahead atomically, so several senders over one database (any number of processes, on
SQLite or PostgreSQL) never send the same delivery at once, and a sender that dies mid-send leaves
the delivery to be retried when its lease runs out."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import random
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import yarl
from standardwebhooks import Webhook

from catalyst_core.events import Delivery, Event
from catalyst_core.ports import Clock, OutboxRepo, Storage

log = logging.getLogger("catalyst.webhooks")

SECRET_PREFIX = "whsec_"
LEASE_MARGIN = 30.0  # seconds a claim outlives the request timeout, for recording the outcome
STORAGE_PAUSES = (0.5, 30.0)  # first and longest pause while the storage is unreachable
USER_AGENT = "Catalyst-Webhooks/1"


def new_webhook_secret(size: int = 32) -> str:
    """A fresh signing secret in Standard Webhooks form: `whsec_` and base64 of `size` random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(size)).decode()


def _signer(secret: str) -> Webhook:
    """The signer of a `whsec_<base64>` secret; ValueError names what is wrong with it."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret has the form {SECRET_PREFIX}<base64> "
                         "(new_webhook_secret() makes one)")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except binascii.Error:
        raise ValueError("the webhook secret is not valid base64 after whsec_") from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return Webhook(key)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class WebhookNotifier:
    """The Notifier port over webhooks (durable). `start()` inside the running loop, `await close()`
    before closing the storage. At most `max_in_flight` requests are open at once; a failed attempt
    (not 2xx, a timeout, a connection error) is retried after `backoff_base * 2**(n-1)` seconds,
    capped at `backoff_cap`, with jitter; after `max_attempts` failures the delivery is given up
    (it stays in the outbox, out of the way, for operators)."""

    durable = True

    def __init__(self, storage: Storage, url: str, secret: str, clock: Clock, *,
                 timeout: float = 10.0, max_attempts: int = 15, backoff_base: float = 5.0,
                 backoff_cap: float = 3600.0, max_in_flight: int = 8, poll_interval: float = 60.0,
                 close_grace: float = 5.0,
                 on_attempt: Callable[[str, float], None] | None = None) -> None:
        if max_attempts < 1 or max_in_flight < 1 or timeout <= 0:
            raise ValueError("max_attempts and max_in_flight must be at least 1, timeout positive")
        if yarl.URL(url).scheme not in ("http", "https") or not yarl.URL(url).host:
            raise ValueError(f"a webhook URL is an absolute http(s) URL, not {url!r}")
        self.storage, self.url, self.clock = storage, url, clock
        self._signer = _signer(secret)
        self.timeout, self.max_attempts = timeout, max_attempts
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.max_in_flight, self.poll_interval, self.close_grace = max_in_flight, poll_interval, close_grace
        self._random = random.Random()
        self._wake = asyncio.Event()
        self._in_flight: dict[uuid.UUID, Delivery] = {}
        self._sends: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        # Told of every attempt: its outcome (`delivered`, `retry`, `gave_up`) and its seconds.
        self._on_attempt = on_attempt

    # -- the Notifier port and the lifecycle ---------------------------------------------------

    async def notify(self, event: Event) -> None:
        """The event is already in the outbox: wake the sender, nothing more (never blocks)."""
        with contextlib.suppress(Exception):
            self._wake.set()

    def start(self) -> None:
        """Start the sender in the running loop; it first resumes what the outbox holds."""
        if self._runner is not None:
            return
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=self.max_in_flight),
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"})
        self._runner = asyncio.get_running_loop().create_task(self._run(), name="webhook-sender")

    async def close(self) -> None:
        """Stop claiming, give open requests `close_grace` seconds, then cancel them and hand their
        deliveries back to the outbox (a later start sends them)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        if self._sends:
            _, pending = await asyncio.wait(set(self._sends), timeout=self.close_grace)
            interrupted = list(self._in_flight.values())
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if pending:
                await self._release(interrupted)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- the sender --------------------------------------------------------------------------------

    async def _run(self) -> None:
        log.info("webhook sender started for %s", self.url)
        pause: float | None = None
        while True:
            self._wake.clear()
            try:
                delay = await self._claim_and_send()
                if pause is not None:
                    log.info("webhook sender reaches the storage again")
                pause = None
            except asyncio.CancelledError:
                raise
            except Exception:
                if pause is None:
                    log.exception("webhook sender cannot read the outbox; retrying")
                pause = min(STORAGE_PAUSES[1], STORAGE_PAUSES[0] if pause is None else pause * 2)
                delay = pause
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _claim_and_send(self) -> float:
        """Claim what is due (as many as there are free slots) and start sending it; answer how
        long to sleep unless woken: until the next delivery falls due, at most `poll_interval`."""
        free = self.max_in_flight - len(self._in_flight)
        if free <= 0:
            return self.poll_interval  # a finishing send wakes the sender
        now = self.clock.now()
        # A read first: most wake-ups find nothing new, and on SQLite a write transaction would
        # make every reader wait for it.
        async with self.storage.transaction(write=False) as tx:
            if not await self._due(tx.outbox, now, free):
                return self._sleep_until(await self._due(
                    tx.outbox, now + timedelta(seconds=self.poll_interval), 1), now)
        lease_until = now + timedelta(seconds=self.timeout + LEASE_MARGIN)
        async with self.storage.transaction() as tx:
            # Atomic in storage: senders in other processes never claim the same delivery.
            found = await tx.outbox.claim(now, free, lease_until, f"sending since {_iso(now)}")
        for d in found:
            self._in_flight[d.id] = d
            task = asyncio.get_running_loop().create_task(self._deliver(d))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
        return 0.0  # look again at once: there may be more, or a sooner next attempt

    async def _due(self, outbox: OutboxRepo, now: datetime, limit: int) -> list[Delivery]:
        """Up to `limit` deliveries due at `now` that this sender is not already sending."""
        found = await outbox.due(now, limit + len(self._in_flight))
        return [d for d in found if d.id not in self._in_flight][:limit]

    def _sleep_until(self, upcoming: list[Delivery], now: datetime) -> float:
        if not upcoming:
            return self.poll_interval
        return min(self.poll_interval, max(0.0, (upcoming[0].next_attempt_at - now).total_seconds()))

    async def _deliver(self, d: Delivery) -> None:
        try:
            started = time.perf_counter()
            error, final = await self._post(d)
            attempts = d.attempts + 1
            gives_up = error is not None and (final or attempts >= self.max_attempts)
            if self._on_attempt is not None:
                outcome = "delivered" if error is None else "gave_up" if gives_up else "retry"
                self._on_attempt(outcome, time.perf_counter() - started)
            if error is None:
                await self._record(lambda outbox: outbox.delivered([d.id]))
                return
            if gives_up:
                await self._record(lambda outbox: outbox.give_up(d.id, attempts, error))
                log.warning("gave up webhook delivery %s (%s) after %d attempts: %s",
                            d.id, d.kind, attempts, error)
                return
            delay = self._backoff(attempts)
            await self._record(lambda outbox: outbox.retry_later(
                d.id, attempts, self.clock.now() + timedelta(seconds=delay), error))
            log.info("webhook delivery %s failed (attempt %d of %d: %s); next in %.1fs",
                     d.id, attempts, self.max_attempts, error, delay)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug here must not end the sender; the lease brings it back
            log.exception("webhook delivery %s failed unexpectedly", d.id)
        finally:
            self._in_flight.pop(d.id, None)
            self._wake.set()

    def _backoff(self, attempts: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** min(attempts - 1, 62))
        return ceiling * self._random.uniform(0.5, 1.0)  # jitter spreads out a burst of retries

    def _message(self, d: Delivery, sent_at: datetime) -> tuple[bytes, dict[str, str]]:
        """The body and the signature headers of `d` sent at `sent_at`."""
        body = json.dumps({"type": d.kind, "timestamp": _iso(d.occurred_at), "data": d.payload},
                          ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        seconds = int(sent_at.timestamp())
        signature = self._signer.sign(str(d.id), datetime.fromtimestamp(seconds, UTC), body)
        headers = {"webhook-id": str(d.id), "webhook-timestamp": str(seconds),
                   "webhook-signature": signature}
        return body.encode(), headers

    async def _post(self, d: Delivery) -> tuple[str | None, bool]:
        """(None, _) when delivered, else (why not, whether retrying is pointless)."""
        try:
            body, headers = self._message(d, self.clock.now())
        except (TypeError, ValueError) as e:  # a payload JSON cannot carry will never go
            return f"cannot encode the payload: {e}", True
        session = self._session
        if session is None:
            return "the notifier is closed", False
        try:
            async with session.post(self.url, data=body, headers=headers, allow_redirects=False) as r:
                return (None, False) if 200 <= r.status < 300 else (f"HTTP {r.status}", False)
        except TimeoutError:
            return f"no answer within {self.timeout}s", False
        except Exception as e:  # connection errors (aiohttp.ClientError) and anything unforeseen
            return f"{type(e).__name__}: {e}"[:500], False

    async def _record(self, change: Callable[[OutboxRepo], Awaitable[Any]]) -> None:
        """Write an outcome, waiting out a storage outage (the delivery stays claimed meanwhile)."""
        pause = STORAGE_PAUSES[0]
        while True:
            try:
                async with self.storage.transaction() as tx:
                    await change(tx.outbox)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("could not record a webhook outcome; retrying in %.1fs", pause,
                            exc_info=True)
                await asyncio.sleep(pause)
                pause = min(STORAGE_PAUSES[1], pause * 2)

    async def _release(self, deliveries: list[Delivery]) -> None:
        """Hand interrupted deliveries back at once (best effort: else their leases run out)."""
        try:
            async with asyncio.timeout(self.close_grace + 1), self.storage.transaction() as tx:
                now = self.clock.now()
                for d in deliveries:
                    await tx.outbox.retry_later(d.id, d.attempts, now, "interrupted by shutdown")
        except Exception:
            log.warning("could not hand %d interrupted webhook deliveries back; they are retried "
                        "when their claims run out", len(deliveries), exc_info=True)
