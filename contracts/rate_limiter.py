"""The RateLimiter port's contract suite: every RateLimiter adapter must pass it.

Bind it with a subclass and an async fixture named `limiter` that yields a limiter holding no
counts of the keys the tests use (each test makes up fresh keys, so a shared Redis is fine):

    class TestMyLimiter(RateLimiterContract):
        @pytest.fixture
        async def limiter(self):
            limiter = MyLimiter(...)
            yield limiter
            await limiter.close()

Time is passed in as Unix seconds, as the port says: the tests move it by hand and never sleep."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

HOUR = 3600
# A window start far from the epoch, like real clocks: 2024-03-01T09:00:00Z is 1709283600.
T0 = 1_709_283_600.0


def fresh(name: str = "k") -> str:
    return f"{name}:{uuid.uuid4().hex}"


class RateLimiterContract:
    """catalyst_core.ports.RateLimiter's semantics. Needs an async fixture `limiter`."""

    async def test_hits_count_up_from_one(self, limiter: Any) -> None:
        key = fresh()
        assert [await limiter.hit(key, HOUR, T0 + i) for i in range(5)] == [1, 2, 3, 4, 5]

    async def test_count_reads_without_adding(self, limiter: Any) -> None:
        key = fresh()
        assert await limiter.count(key, HOUR, T0) == 0
        await limiter.hit(key, HOUR, T0)
        await limiter.hit(key, HOUR, T0)
        assert await limiter.count(key, HOUR, T0 + 10) == 2
        assert await limiter.count(key, HOUR, T0 + 10) == 2
        assert await limiter.hit(key, HOUR, T0 + 20) == 3

    async def test_keys_are_counted_apart(self, limiter: Any) -> None:
        alice, bob = fresh("user"), fresh("user")
        for _ in range(3):
            await limiter.hit(alice, HOUR, T0)
        assert await limiter.hit(bob, HOUR, T0) == 1
        assert await limiter.count(alice, HOUR, T0) == 3

    async def test_a_key_with_another_window_is_another_counter(self, limiter: Any) -> None:
        key = fresh()
        await limiter.hit(key, HOUR, T0)
        await limiter.hit(key, HOUR, T0)
        assert await limiter.hit(key, 900, T0) == 1
        assert await limiter.count(key, HOUR, T0) == 2

    async def test_windows_are_fixed_and_aligned_to_the_epoch(self, limiter: Any) -> None:
        key = fresh()
        start = T0  # a multiple of an hour
        assert await limiter.hit(key, HOUR, start) == 1
        assert await limiter.hit(key, HOUR, start + HOUR - 0.001) == 2  # the window's last instant
        assert await limiter.count(key, HOUR, start + HOUR) == 0  # the next window starts empty
        assert await limiter.hit(key, HOUR, start + HOUR) == 1
        assert await limiter.hit(key, HOUR, start + 2 * HOUR - 1) == 2
        # Two hours on, nothing is carried over either.
        assert await limiter.hit(key, HOUR, start + 5 * HOUR + 7) == 1

    async def test_a_short_window_resets_every_few_seconds(self, limiter: Any) -> None:
        key = fresh()
        assert [await limiter.hit(key, 2, T0 + t) for t in (0, 1, 2, 3, 4.5)] == [1, 2, 1, 2, 1]

    async def test_concurrent_hits_are_never_lost(self, limiter: Any) -> None:
        key = fresh()
        counts = await asyncio.gather(*(limiter.hit(key, HOUR, T0) for _ in range(50)))
        assert sorted(counts) == list(range(1, 51))
        assert await limiter.count(key, HOUR, T0) == 50

    async def test_many_keys_keep_exact_counts(self, limiter: Any) -> None:
        keys = [fresh("many") for _ in range(300)]
        for round_ in range(1, 4):
            for i, key in enumerate(keys):
                if i % 3 < round_:  # interleaved: key i ends with 3 - i % 3 hits
                    await limiter.hit(key, HOUR, T0)
        for i, key in enumerate(keys):
            assert await limiter.count(key, HOUR, T0) == 3 - i % 3, i

    async def test_keys_may_hold_any_text(self, limiter: Any) -> None:
        odd = [fresh("a:b c"), fresh("ü€😀"), fresh("login-source:::1"), fresh("*?[]{}")]
        for i, key in enumerate(odd):
            for _ in range(i + 1):
                await limiter.hit(key, HOUR, T0)
        assert [await limiter.count(key, HOUR, T0) for key in odd] == [1, 2, 3, 4]

    @pytest.mark.parametrize("window", [0, -1])
    async def test_a_window_below_one_second_is_refused(self, limiter: Any, window: int) -> None:
        with pytest.raises(ValueError):
            await limiter.hit(fresh(), window, T0)
        with pytest.raises(ValueError):
            await limiter.count(fresh(), window, T0)
