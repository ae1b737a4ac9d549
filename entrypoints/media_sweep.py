"""Deletes creative files whose submission never committed (a crash between storing the file and
its row), a minute after start and then hourly, in the background of `catalyst serve`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from catalyst_core.creatives.service import ORPHAN_AGE, CreativesService

log = logging.getLogger("catalyst.media")

SWEEP_INTERVAL_SECONDS = 3600.0
# Not at once: a starting server has enough to do, and the service is resolved on first use only
# (so a container's overrides made after startup still apply).
FIRST_SWEEP_AFTER_SECONDS = 60.0


class MediaSweeper:
    def __init__(self, creatives: Callable[[], CreativesService], blobs: Callable[[], Any], *,
                 interval: float = SWEEP_INTERVAL_SECONDS,
                 first_after: float = FIRST_SWEEP_AFTER_SECONDS) -> None:
        self._creatives, self._blobs = creatives, blobs
        self._interval, self._first_after = interval, first_after
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="catalyst-media-sweep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        await asyncio.sleep(self._first_after)
        while True:
            try:
                swept = await self._creatives().sweep_orphans()
                if swept:
                    log.warning("deleted %d creative files that no submission refers to", swept)
                # A local folder may also hold the temp file of a put whose process died.
                remove_partials = getattr(self._blobs(), "remove_partials", None)
                if remove_partials is not None:
                    await remove_partials(ORPHAN_AGE.total_seconds())
            except Exception:  # the storage may be down for a while: try again next time
                log.exception("sweeping orphaned creative files failed")
            await asyncio.sleep(self._interval)
