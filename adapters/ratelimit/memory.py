"""Counting in one process: a dict of fixed windows, for a single server process and for tests."""

from __future__ import annotations

# Past this many counters, ended windows are swept (then the bound doubles past what is still live).
_SWEEP_AT = 10_000


class MemoryRateLimiter:
    """The RateLimiter port in one process. Nothing awaits between reading and writing a counter,
    so hits from concurrent tasks of one event loop are never lost, with no lock at all."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], list[int]] = {}  # (key, window) -> [window index, count]
        self._sweep_at = _SWEEP_AT

    async def hit(self, key: str, window: int, now: float) -> int:
        return self.hit_now(key, window, now)

    def hit_now(self, key: str, window: int, now: float) -> int:
        """`hit` without the coroutine, for callers that are not async."""
        index = _index(window, now)
        entry = self._counts.get((key, window))
        if entry is not None and entry[0] == index:
            entry[1] += 1
            return entry[1]
        if entry is None and len(self._counts) >= self._sweep_at:
            self._sweep(now)
        self._counts[(key, window)] = [index, 1]
        return 1

    async def count(self, key: str, window: int, now: float) -> int:
        index = _index(window, now)
        entry = self._counts.get((key, window))
        return entry[1] if entry is not None and entry[0] == index else 0

    async def close(self) -> None:
        self._counts.clear()

    def _sweep(self, now: float) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[0] == int(now // k[1])}
        self._sweep_at = max(_SWEEP_AT, 2 * len(self._counts))


def _index(window: int, now: float) -> int:
    if window < 1:
        raise ValueError(f"a rate-limit window is at least 1 second, got {window}")
    return int(now // window)
