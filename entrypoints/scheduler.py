"""The alert scheduler: runs due alerts in passes, inside `catalyst serve` or on its own
(`catalyst scheduler`). Any number of schedulers may run over one database: each pass claims every
alert's slot atomically in storage (AlertsService.run_due), so each slot runs once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import Any

from catalyst_api.settings import Settings
from catalyst_core.alerts.service import AlertsService

log = logging.getLogger("catalyst.scheduler")

ALERTS_PER_PASS = 100


class AlertScheduler:
    """Runs a pass every `interval` seconds; a pass that found a full batch is followed at once by
    another, so a backlog (after downtime, or a popular 05:00) drains without waiting."""

    def __init__(self, alerts: Callable[[], AlertsService], *, interval: float,
                 batch: int = ALERTS_PER_PASS) -> None:
        # A provider, resolved at each pass: the container's services are built on first use.
        self.alerts, self.interval, self.batch = alerts, interval, batch
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run_forever(),
                                                                name="alert-scheduler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_forever(self) -> None:
        log.info("alert scheduler started (a pass every %ss)", self.interval)
        while True:
            ran = await self.run_pass()
            if ran < self.batch:
                await asyncio.sleep(self.interval)

    async def run_pass(self) -> int:
        """One pass; never raises (an unavailable database is retried at the next pass)."""
        try:
            result = await self.alerts().run_due(limit=self.batch)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("alert scheduler pass failed; retrying in %ss", self.interval)
            return 0
        if result.ran:
            log.info("ran %d due alerts: %d new instances, %d failed", result.ran,
                     result.instances_created, result.failed)
        return result.ran


async def run_scheduler(container: Any, settings: Settings, *, once: bool = False) -> int:
    """`catalyst scheduler`: passes until SIGINT or SIGTERM (or one pass with `once`)."""
    scheduler = AlertScheduler(container.alerts, interval=settings.scheduler_interval_seconds)
    if once:
        ran = created = failed = 0
        while True:  # passes until what was due now has run (a pass takes at most a batch)
            result = await container.alerts().run_due(limit=ALERTS_PER_PASS)
            ran, created, failed = ran + result.ran, created + result.instances_created, \
                failed + result.failed
            if result.ran < ALERTS_PER_PASS:
                break
        print(f"ran {ran} due alerts: {created} new instances, {failed} failed")
        return 1 if failed else 0
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers here
            loop.add_signal_handler(signal_number, stop.set)
    scheduler.start()
    try:
        await stop.wait()
    finally:
        await scheduler.stop()
    return 0
