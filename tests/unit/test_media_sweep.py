"""The media sweeper of `catalyst serve`: it deletes files no submission refers to once they are old
enough, and the temp files of puts whose process died, and survives a failing pass."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from catalyst_adapters.blobs import LocalDirectoryBlobStore
from catalyst_adapters.clock import FrozenClock
from catalyst_adapters.media import HeaderMediaProbe
from catalyst_adapters.memory import MemoryStorage
from catalyst_adapters.notifier import RecordingNotifier
from catalyst_api.media_sweep import MediaSweeper
from catalyst_core.creatives.service import CreativesService
from catalyst_core.ids import sequential_ids


async def one_chunk(data: bytes):  # type: ignore[no-untyped-def]
    yield data


async def test_the_sweeper_removes_orphans_and_stale_partials(tmp_path: Path) -> None:
    store = LocalDirectoryBlobStore(tmp_path)
    clock = FrozenClock(datetime.now(UTC))  # the local store's times are the file system's
    service = CreativesService(MemoryStorage(), clock, RecordingNotifier(), sequential_ids(), store,
                               HeaderMediaProbe(), max_upload_bytes=1000)
    await store.put("orphan", one_chunk(b"x"), max_bytes=10)
    await store.put("young", one_chunk(b"y"), max_bytes=10)  # may be an upload in flight: stays
    stale = tmp_path / ".partial-dead.tmp"
    stale.write_bytes(b"half")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    os.utime(tmp_path / "orphan", (old, old))
    sweeper = MediaSweeper(lambda: service, lambda: store, interval=3600, first_after=0)
    sweeper.start()
    for _ in range(100):
        await asyncio.sleep(0.01)
        if os.listdir(tmp_path) == ["young"]:
            break
    await sweeper.stop()
    assert os.listdir(tmp_path) == ["young"]


async def test_a_failing_pass_does_not_stop_the_sweeper() -> None:
    calls = 0

    class Broken:
        async def sweep_orphans(self) -> int:
            nonlocal calls
            calls += 1
            raise ConnectionError("the database is down")

    sweeper = MediaSweeper(lambda: Broken(), lambda: object(),  # type: ignore[arg-type, return-value]
                           interval=0.01, first_after=0)
    sweeper.start()
    await asyncio.sleep(0.1)
    await sweeper.stop()
    assert calls >= 2
