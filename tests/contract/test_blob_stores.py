"""The BlobStore contract bound to both adapters, plus what only the local directory can show: no temp
file survives a failed put, blobs outlive the store object, and keys never leave the directory."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from catalyst_adapters.blobs import LocalDirectoryBlobStore, MemoryBlobStore
from catalyst_adapters.clock import FrozenClock
from catalyst_contracts.blobs import BlobStoreContract, read_all, source
from catalyst_core.errors import TooLarge


class TestBlobStore(BlobStoreContract):
    # One class with a parametrised fixture (as the storage contract does): hypothesis wants each test
    # method run from a single class.
    @pytest.fixture(params=("memory", "local"))
    async def blob_store(self, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
        if request.param == "memory":
            return MemoryBlobStore()
        # A directory that does not exist yet: the store creates it on first use.
        return LocalDirectoryBlobStore(tmp_path / "blobs")


# -- the local directory only ----------------------------------------------------------------------

def files_in(root: Path) -> list[str]:
    return sorted(os.listdir(root)) if root.exists() else []


async def test_local_failures_leave_no_temp_file(tmp_path: Path) -> None:
    store = LocalDirectoryBlobStore(tmp_path)

    async def failing() -> AsyncIterator[bytes]:
        yield b"x" * 200_000
        raise RuntimeError("source died")

    with pytest.raises(TooLarge):
        await store.put("big", source(b"x" * 100_000, b"x" * 100_000), max_bytes=150_000)
    with pytest.raises(RuntimeError):
        await store.put("broken", failing(), max_bytes=10**7)
    assert files_in(tmp_path) == []

    started = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b"y" * 300_000  # more than the write buffer: some of it reaches the temp file
        started.set()
        await asyncio.Event().wait()
        yield b""

    put = asyncio.create_task(store.put("cancelled", stalled(), max_bytes=10**7))
    await asyncio.wait_for(started.wait(), timeout=10)
    assert len(files_in(tmp_path)) == 1 and files_in(tmp_path)[0].startswith(".partial-")
    put.cancel()
    with pytest.raises(asyncio.CancelledError):
        await put
    assert files_in(tmp_path) == []


async def test_local_files_are_the_blobs_and_outlive_the_store(tmp_path: Path) -> None:
    stored = await LocalDirectoryBlobStore(tmp_path).put("kept", source(b"abc", b"def"), max_bytes=6)
    assert (tmp_path / "kept").read_bytes() == b"abcdef"
    again = LocalDirectoryBlobStore(tmp_path)
    assert await again.keys() == ["kept"]
    assert await again.stat("kept") == stored
    assert await read_all(again, "kept", 2, 4) == b"cd"


async def test_local_created_at_is_the_file_mtime_in_utc(tmp_path: Path) -> None:
    store = LocalDirectoryBlobStore(tmp_path)
    await store.put("k", source(b"x"), max_bytes=1)
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    os.utime(tmp_path / "k", (when.timestamp(), when.timestamp()))
    stat = await store.stat("k")
    assert stat is not None and stat.created_at == when


async def test_local_keys_ignore_temp_files_and_strangers(tmp_path: Path) -> None:
    store = LocalDirectoryBlobStore(tmp_path)
    await store.put("real", source(b"x"), max_bytes=1)
    (tmp_path / ".partial-abc.tmp").write_bytes(b"half")
    (tmp_path / "notes.txt").write_bytes(b"not ours")
    (tmp_path / "subdir").mkdir()
    assert await store.keys() == ["real"]
    assert await store.stat("subdir") is None


async def test_local_remove_partials_spares_fresh_ones(tmp_path: Path) -> None:
    store = LocalDirectoryBlobStore(tmp_path)
    old, fresh = tmp_path / ".partial-old.tmp", tmp_path / ".partial-new.tmp"
    old.write_bytes(b"crashed mid-put")
    fresh.write_bytes(b"in flight")
    an_hour_ago = datetime.now(UTC).timestamp() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    await store.put("blob", source(b"x"), max_bytes=1)
    assert await store.remove_partials(older_than_seconds=600) == 1
    assert files_in(tmp_path) == [".partial-new.tmp", "blob"]


@pytest.mark.parametrize("bad", ["../outside", "..", "x" * 201, "sub/inner"])
async def test_local_keys_never_leave_the_directory(tmp_path: Path, bad: str) -> None:
    root = tmp_path / "blobs"
    store = LocalDirectoryBlobStore(root)
    with pytest.raises(ValueError):
        await store.put(bad, source(b"x"), max_bytes=1)
    assert files_in(tmp_path) == []  # not even the directory was made


async def test_memory_created_at_comes_from_its_clock() -> None:
    clock = FrozenClock(datetime(2024, 3, 1, tzinfo=UTC))
    store = MemoryBlobStore(clock)
    stored = await store.put("k", source(b"x"), max_bytes=1)
    assert stored.created_at == clock.now() == (await store.stat("k")).created_at


async def test_a_read_in_progress_keeps_its_version(tmp_path: Path) -> None:
    for store in (MemoryBlobStore(read_chunk=4), LocalDirectoryBlobStore(tmp_path)):
        old = b"o" * 200_000
        await store.put("k", source(old), max_bytes=len(old))
        reader: Any = store.read("k")
        first = await reader.__anext__()
        await store.put("k", source(b"new"), max_bytes=3)
        rest = b"".join([chunk async for chunk in reader])
        assert first + rest == old
        assert await read_all(store, "k") == b"new"
