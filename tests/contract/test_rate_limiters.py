"""The RateLimiter contract suite bound to every limiter we ship (memory, shared memory, Redis), and
what each adds: the shared table across forked processes, Redis going away and coming back.

Redis tests use CATALYST_TEST_REDIS_URL (default: the server on 127.0.0.1:6379) under a key prefix
of their own; without the server they skip, unless CATALYST_REQUIRE_SERVICES=1 (as in CI)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from catalyst_adapters.ratelimit import (
    MemoryRateLimiter,
    RedisRateLimiter,
    SharedMemoryRateLimiter,
    SharedRateTable,
)
from catalyst_contracts.rate_limiter import HOUR, T0, RateLimiterContract, fresh
from tests.conftest import services_required
from tests.tcp_proxy import CuttableProxy

REDIS_URL = os.environ.get("CATALYST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="forked processes and fcntl: POSIX")


async def _redis_reachable(url: str) -> None:
    """Skips (or, where the services are required, fails) the test when Redis does not answer."""
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    except Exception as e:
        message = f"Redis unavailable at {url}: {e}"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    finally:
        await client.aclose()


async def _forget(url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    await _redis_reachable(REDIS_URL)
    prefix = f"catalyst-test:{uuid.uuid4().hex}:"
    yield prefix
    await _forget(REDIS_URL, prefix)


class TestMemoryRateLimiter(RateLimiterContract):
    @pytest.fixture
    async def limiter(self) -> AsyncIterator[Any]:
        limiter = MemoryRateLimiter()
        yield limiter
        await limiter.close()


@posix_only
class TestSharedMemoryRateLimiter(RateLimiterContract):
    @pytest.fixture
    async def limiter(self) -> AsyncIterator[Any]:
        table = SharedRateTable(rows=4)
        yield SharedMemoryRateLimiter(table)
        table.close()


class TestRedisRateLimiter(RateLimiterContract):
    @pytest.fixture
    async def limiter(self, redis_prefix: str) -> AsyncIterator[Any]:
        limiter = RedisRateLimiter(REDIS_URL, prefix=redis_prefix)
        yield limiter
        await limiter.close()


@posix_only
async def test_a_full_probe_set_reuses_ended_windows_first_then_evicts_the_smallest_count() -> None:
    table = SharedRateTable(rows=1, slots=4)  # four slots: every key probes all of them
    limiter = SharedMemoryRateLimiter(table)
    try:
        old = [fresh("old") for _ in range(4)]
        for key in old:
            await limiter.hit(key, 60, T0)
        # A minute on, their windows have ended: new keys take their slots and count exactly.
        new = [fresh("new") for _ in range(4)]
        for i, key in enumerate(new):
            for _ in range(i + 1):
                await limiter.hit(key, 60, T0 + 60)
        assert [await limiter.count(key, 60, T0 + 60) for key in new] == [1, 2, 3, 4]
        # A fifth live key has no free slot: it takes the smallest count's (new[0], one hit).
        assert await limiter.hit(fresh("fifth"), 60, T0 + 60) == 1
        assert [await limiter.count(key, 60, T0 + 60) for key in new] == [0, 2, 3, 4]
    finally:
        table.close()


# -- the shared table across processes --------------------------------------------------------------

def _hit_in_child(table: SharedRateTable, key: str, times: int, start: Any, done: Any) -> None:
    limiter = SharedMemoryRateLimiter(table)
    start.wait()
    counts = [limiter.hit_now(key, HOUR, T0) for _ in range(times)]
    done.put(counts)


def _run_children(table: SharedRateTable, key: str, per_child: list[int]) -> list[list[int]]:
    ctx = multiprocessing.get_context("fork")  # the table reaches children only by forking
    start, done = ctx.Event(), ctx.Queue()
    children = [ctx.Process(target=_hit_in_child, args=(table, key, n, start, done)) for n in per_child]
    for child in children:
        child.start()
    start.set()
    results = [done.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    return results


@posix_only
async def test_forked_processes_count_one_total() -> None:
    table = SharedRateTable(rows=6)
    limiter = SharedMemoryRateLimiter(table)
    key = fresh("user")
    try:
        results = _run_children(table, key, [300, 300, 300])
        assert await limiter.count(key, HOUR, T0) == 900
        # Each process saw a count that includes the others' hits: with per-process counting the
        # largest count anyone saw would be 300.
        assert max(max(r) for r in results) > 300
        for counts in results:
            assert counts == sorted(counts) and len(set(counts)) == len(counts)
        assert await limiter.hit(key, HOUR, T0) == 901
        assert await limiter.count(key, HOUR, T0 + HOUR) == 0
    finally:
        table.close()


@posix_only
async def test_a_dead_processs_row_is_reused_and_its_counts_still_count() -> None:
    table = SharedRateTable(rows=1)  # one row: each child can only count if the last one's row freed
    key = fresh("user")
    try:
        first, = _run_children(table, key, [5])
        second, = _run_children(table, key, [5])
        assert first == [1, 2, 3, 4, 5] and second == [6, 7, 8, 9, 10]
        assert await SharedMemoryRateLimiter(table).count(key, HOUR, T0) == 10
    finally:
        table.close()


@posix_only
async def test_with_every_row_taken_a_process_still_serves_and_counts() -> None:
    table = SharedRateTable(rows=1)
    key = fresh("user")
    try:
        mine = SharedMemoryRateLimiter(table)
        assert await mine.hit(key, HOUR, T0) == 1  # this process now holds the only row
        (counts,) = _run_children(table, key, [3])  # the child finds no free row
        assert counts == [2, 3, 4]  # its own hits on top of what the table holds
    finally:
        table.close()


# -- Redis going away ---------------------------------------------------------------------------------

async def test_redis_going_away_is_survived_logged_once_and_counting_resumes(
        redis_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    target = urlsplit(REDIS_URL)
    proxy = CuttableProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{proxy.port}{target.path}", prefix=redis_prefix,
                               retry_interval=1.0)
    key = fresh("user")
    try:
        assert [await limiter.hit(key, HOUR, T0), await limiter.hit(key, HOUR, T0)] == [1, 2]
        await proxy.cut()
        with caplog.at_level(logging.WARNING, logger="catalyst.ratelimit"):
            # Six hits over three seconds: Redis is tried again every second and still fails.
            during = [await limiter.hit(key, HOUR, T0 + i / 2) for i in range(6)]
            assert await limiter.count(key, HOUR, T0 + 3) == 6
        assert during == [1, 2, 3, 4, 5, 6]  # served all along, counted in this process meanwhile
        downs = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(downs) == 1, [r.getMessage() for r in caplog.records]
        caplog.clear()

        await proxy.restore()  # the same port again
        with caplog.at_level(logging.WARNING, logger="catalyst.ratelimit"):
            assert await limiter.hit(key, HOUR, T0 + 5) == 3  # Redis's count, resumed
            assert await limiter.hit(key, HOUR, T0 + 6) == 4
        backs = [r for r in caplog.records if "is back" in r.getMessage()]
        assert len(backs) == 1
    finally:
        await limiter.close()
        await proxy.close()


async def test_redis_never_reachable_still_counts_in_the_process(caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0")
    key = fresh("user")
    try:
        with caplog.at_level(logging.WARNING, logger="catalyst.ratelimit"):
            assert [await limiter.hit(key, HOUR, T0 + i) for i in range(4)] == [1, 2, 3, 4]
        assert sum("unreachable" in r.getMessage() for r in caplog.records) == 1
    finally:
        await limiter.close()
