"""The BlobStore port's contract suite: every BlobStore adapter must pass it.

Bind it with a subclass and an async fixture named `blob_store` that yields an EMPTY store:

    class TestMyBlobStore(BlobStoreContract):
        @pytest.fixture
        async def blob_store(self):
            yield MyBlobStore(...)

The promises checked are the port's docstring (catalyst_core.ports.BlobStore): whole-or-nothing puts
(too large, a failing source, cancellation), visibility only once complete, replace, clamped ranges,
strict keys, and independent concurrent puts."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalyst_core.errors import NotFound, TooLarge
from catalyst_core.ports import StoredBlob

MiB = 1024 * 1024
# Hypothesis runs its examples on one store (the test's fixture): every example uses a fresh key.
EXAMPLES = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
_serial = itertools.count(1)

BAD_KEYS = ["", ".", "..", "../escape", "a/b", "a\\b", "/abs", "a.b", ".hidden", "a b", "a\x00b", "é",
            "key\n", "C:x", "~user", "a*", "a%2Fb"]


def fresh_key(prefix: str = "blob") -> str:
    return f"{prefix}-{next(_serial)}"


async def source(*parts: bytes) -> AsyncIterator[bytes]:
    """An async byte source that gives the loop a turn between chunks, like a network read."""
    for part in parts:
        await asyncio.sleep(0)
        yield part


def split(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """`data` cut at the given offsets (sorted, clamped), empty pieces included on purpose."""
    points = sorted(min(max(c, 0), len(data)) for c in cuts)
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


async def read_all(store: Any, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, start, end)])


async def assert_absent(store: Any, key: str) -> None:
    assert await store.stat(key) is None
    assert key not in await store.keys()
    with pytest.raises(NotFound):
        await read_all(store, key)


class _Boom(Exception):
    pass


class BlobStoreContract:
    """BlobStore semantics. Needs an async fixture `blob_store` yielding an empty store."""

    # -- the basics ---------------------------------------------------------------------------------

    async def test_put_stat_read_delete(self, blob_store: Any) -> None:
        data = b"hello, " * 1000 + b"world"
        stored = await blob_store.put("k1", source(data[:10], data[10:]), max_bytes=len(data))
        assert isinstance(stored, StoredBlob)
        assert (stored.key, stored.size) == ("k1", len(data))
        assert stored.created_at.utcoffset() == timedelta(0)
        stat = await blob_store.stat("k1")
        assert stat is not None and (stat.key, stat.size) == ("k1", len(data))
        assert stat.created_at.utcoffset() == timedelta(0)
        assert await read_all(blob_store, "k1") == data
        assert await blob_store.keys() == ["k1"]
        await blob_store.delete("k1")
        await assert_absent(blob_store, "k1")
        await blob_store.delete("k1")  # a missing key is no error

    async def test_an_empty_store(self, blob_store: Any) -> None:
        assert await blob_store.keys() == []
        await assert_absent(blob_store, "nothing")

    async def test_an_empty_blob(self, blob_store: Any) -> None:
        stored = await blob_store.put("empty", source(), max_bytes=0)
        assert stored.size == 0
        assert (await blob_store.stat("empty")).size == 0
        assert await read_all(blob_store, "empty") == b""
        assert await blob_store.keys() == ["empty"]

    async def test_keys_lists_every_blob_and_nothing_else(self, blob_store: Any) -> None:
        names = ["a", "B-2", "c_3", "0"]
        for name in names:
            await blob_store.put(name, source(name.encode()), max_bytes=10)
        assert sorted(await blob_store.keys()) == sorted(names)
        await blob_store.delete("B-2")
        assert sorted(await blob_store.keys()) == sorted(set(names) - {"B-2"})

    async def test_put_replaces(self, blob_store: Any) -> None:
        await blob_store.put("k", source(b"old contents, longer"), max_bytes=100)
        stored = await blob_store.put("k", source(b"new"), max_bytes=100)
        assert stored.size == 3
        assert (await blob_store.stat("k")).size == 3
        assert await read_all(blob_store, "k") == b"new"
        assert await blob_store.keys() == ["k"]

    async def test_the_store_keeps_its_own_copy(self, blob_store: Any) -> None:
        chunk = bytearray(b"original")
        await blob_store.put("k", source(chunk), max_bytes=100)
        chunk[:] = b"XXXXXXXX"
        assert await read_all(blob_store, "k") == b"original"

    # -- ranges -------------------------------------------------------------------------------------

    async def test_ranges_are_half_open_and_clamped(self, blob_store: Any) -> None:
        data = bytes(range(256)) * 4
        await blob_store.put("r", source(data), max_bytes=len(data))
        cases = [(0, None), (0, 1), (10, 20), (1000, None), (1023, 1024), (0, len(data)),
                 (5, 5), (7, 3), (len(data), None), (len(data) + 10, None), (1000, 10_000),
                 (len(data) + 1, len(data) + 5)]
        for start, end in cases:
            assert await read_all(blob_store, "r", start, end) == data[start:end], (start, end)

    async def test_negative_ranges_are_refused(self, blob_store: Any) -> None:
        await blob_store.put("r", source(b"abc"), max_bytes=3)
        for start, end in ((-1, None), (0, -1)):
            with pytest.raises(ValueError):
                await read_all(blob_store, "r", start, end)

    async def test_a_big_blob_is_read_in_bounded_chunks(self, blob_store: Any) -> None:
        data = os.urandom(3 * MiB + 17)
        await blob_store.put("big", source(*split(data, range(0, len(data), 8192))), max_bytes=len(data))
        chunks = [chunk async for chunk in blob_store.read("big")]
        assert b"".join(chunks) == data
        assert len(chunks) >= 3
        assert max(map(len, chunks)) <= MiB
        middle = [chunk async for chunk in blob_store.read("big", MiB, 3 * MiB)]
        assert b"".join(middle) == data[MiB:3 * MiB]

    @EXAMPLES
    @given(data=st.binary(max_size=5000), cuts=st.lists(st.integers(0, 5000), max_size=6),
           ranges=st.lists(st.tuples(st.integers(0, 6000), st.none() | st.integers(0, 6000)), max_size=5),
           slack=st.integers(0, 3))
    async def test_any_bytes_any_chunking_any_range(self, blob_store: Any, data: bytes, cuts: list[int],
                                                    ranges: list[tuple[int, int | None]],
                                                    slack: int) -> None:
        key = fresh_key("prop")
        stored = await blob_store.put(key, source(*split(data, cuts)), max_bytes=len(data) + slack)
        assert stored.size == len(data)
        assert (await blob_store.stat(key)).size == len(data)
        assert await read_all(blob_store, key) == data
        for start, end in ranges:
            assert await read_all(blob_store, key, start, end) == data[start:end]

    # -- whole or nothing -----------------------------------------------------------------------------

    async def test_the_limit_is_inclusive(self, blob_store: Any) -> None:
        stored = await blob_store.put("k", source(b"12345", b"67890"), max_bytes=10)
        assert stored.size == 10

    async def test_too_large_keeps_nothing(self, blob_store: Any) -> None:
        with pytest.raises(TooLarge):
            await blob_store.put("big", source(b"12345", b"67890", b"1"), max_bytes=10)
        await assert_absent(blob_store, "big")
        with pytest.raises(TooLarge):
            await blob_store.put("big", source(b"x" * (MiB + 1)), max_bytes=MiB)
        await assert_absent(blob_store, "big")
        assert await blob_store.keys() == []

    async def test_too_large_stops_reading_the_source(self, blob_store: Any) -> None:
        pulled = 0

        async def endless() -> AsyncIterator[bytes]:
            nonlocal pulled
            while pulled < 1000:  # bounded, so a store that never stops fails instead of hanging
                pulled += 1
                await asyncio.sleep(0)
                yield b"x" * 1000

        with pytest.raises(TooLarge):
            await blob_store.put("k", endless(), max_bytes=10_000)
        assert pulled <= 11
        await assert_absent(blob_store, "k")

    async def test_a_failed_replace_keeps_the_old_blob(self, blob_store: Any) -> None:
        await blob_store.put("k", source(b"old"), max_bytes=100)
        with pytest.raises(TooLarge):
            await blob_store.put("k", source(b"x" * 101), max_bytes=100)

        async def failing() -> AsyncIterator[bytes]:
            yield b"new part"
            raise _Boom()

        with pytest.raises(_Boom):
            await blob_store.put("k", failing(), max_bytes=100)
        assert await read_all(blob_store, "k") == b"old"
        assert (await blob_store.stat("k")).size == 3

    async def test_a_failing_source_keeps_nothing(self, blob_store: Any) -> None:
        async def failing() -> AsyncIterator[bytes]:
            yield b"a" * 100_000
            await asyncio.sleep(0)
            yield b"b" * 100_000
            raise _Boom("the client went away")

        with pytest.raises(_Boom):
            await blob_store.put("k", failing(), max_bytes=10 * MiB)
        await assert_absent(blob_store, "k")
        assert await blob_store.keys() == []

    async def test_a_cancelled_put_keeps_nothing_and_is_never_visible_half_written(
            self, blob_store: Any) -> None:
        started, release = asyncio.Event(), asyncio.Event()

        async def stalled() -> AsyncIterator[bytes]:
            yield b"first part " * 10_000
            started.set()
            await release.wait()  # never set: the put hangs here until cancelled
            yield b"never"

        put = asyncio.create_task(blob_store.put("k", stalled(), max_bytes=10 * MiB))
        await asyncio.wait_for(started.wait(), timeout=10)
        for _ in range(5):  # let any write of the first part proceed
            await asyncio.sleep(0)
        await assert_absent(blob_store, "k")  # in flight: not visible
        put.cancel()
        with pytest.raises(asyncio.CancelledError):
            await put
        await assert_absent(blob_store, "k")
        assert await blob_store.keys() == []

    async def test_a_put_in_flight_leaves_the_old_blob_readable(self, blob_store: Any) -> None:
        await blob_store.put("k", source(b"old"), max_bytes=100)
        started, release = asyncio.Event(), asyncio.Event()

        async def slow() -> AsyncIterator[bytes]:
            yield b"new "
            started.set()
            await release.wait()
            yield b"contents"

        put = asyncio.create_task(blob_store.put("k", slow(), max_bytes=100))
        await asyncio.wait_for(started.wait(), timeout=10)
        assert await read_all(blob_store, "k") == b"old"
        assert (await blob_store.stat("k")).size == 3
        release.set()
        assert (await put).size == len(b"new contents")
        assert await read_all(blob_store, "k") == b"new contents"

    # -- keys -----------------------------------------------------------------------------------------

    @pytest.mark.parametrize("bad", BAD_KEYS)
    async def test_invalid_keys_are_value_errors(self, blob_store: Any, bad: str) -> None:
        with pytest.raises(ValueError):
            await blob_store.put(bad, source(b"x"), max_bytes=10)
        with pytest.raises(ValueError):
            await blob_store.stat(bad)
        with pytest.raises(ValueError):
            await read_all(blob_store, bad)
        with pytest.raises(ValueError):
            await blob_store.delete(bad)
        assert await blob_store.keys() == []

    async def test_a_key_that_is_not_a_string_is_a_value_error(self, blob_store: Any) -> None:
        for bad in (None, 1, b"bytes"):
            with pytest.raises(ValueError):
                await blob_store.stat(bad)

    # -- concurrency ----------------------------------------------------------------------------------

    async def test_concurrent_puts_of_different_keys(self, blob_store: Any) -> None:
        blobs = {f"c{i}": os.urandom(1000 + 37 * i) * (i + 1) for i in range(12)}

        async def put(key: str, data: bytes) -> StoredBlob:
            return await blob_store.put(key, source(*split(data, range(0, len(data), 700))),
                                        max_bytes=len(data))

        stored = await asyncio.gather(*(put(k, v) for k, v in blobs.items()))
        assert {s.key: s.size for s in stored} == {k: len(v) for k, v in blobs.items()}
        assert sorted(await blob_store.keys()) == sorted(blobs)
        contents = await asyncio.gather(*(read_all(blob_store, k) for k in blobs))
        assert dict(zip(blobs, contents, strict=True)) == blobs

    async def test_concurrent_failures_do_not_disturb_other_puts(self, blob_store: Any) -> None:
        async def failing() -> AsyncIterator[bytes]:
            yield b"partial"
            await asyncio.sleep(0)
            raise _Boom()

        results = await asyncio.gather(
            blob_store.put("ok-1", source(b"one", b"two"), max_bytes=100),
            blob_store.put("bad-1", failing(), max_bytes=100),
            blob_store.put("bad-2", source(b"x" * 60, b"x" * 60), max_bytes=100),
            blob_store.put("ok-2", source(b"three"), max_bytes=100),
            return_exceptions=True)
        assert isinstance(results[1], _Boom) and isinstance(results[2], TooLarge)
        assert sorted(await blob_store.keys()) == ["ok-1", "ok-2"]
        assert await read_all(blob_store, "ok-1") == b"onetwo"
