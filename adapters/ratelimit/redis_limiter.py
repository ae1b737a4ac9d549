"""Counting in Redis, shared by every server process anywhere: one atomic round trip per hit."""

from __future__ import annotations

import logging

from catalyst_adapters.ratelimit.memory import MemoryRateLimiter

log = logging.getLogger("catalyst.ratelimit")

# Kept this long past the end of their window (Redis's own clock may differ a little from ours).
_GRACE_SECONDS = 60


class RedisRateLimiter:
    """The RateLimiter port in Redis. A hit is `MULTI; INCR k; EXPIRE k ttl; EXEC` sent as one
    pipeline: one round trip, atomic on the server. The window's index is part of the key, so a
    new window starts at 0 whatever the expiry does; the expiry only frees memory.

    Redis going away must not take the API down: a failed call logs once, then this process counts
    in memory (`fallback`) and tries Redis again at most every `retry_interval` seconds of the
    callers' clock; once Redis answers again, it is logged once and counting resumes there (what was
    counted meanwhile stays in this process). Each call waits at most `timeout` seconds for Redis,
    with no retries of the client's own."""

    def __init__(self, url: str, *, prefix: str = "catalyst:ratelimit:", timeout: float = 0.5,
                 retry_interval: float = 1.0) -> None:
        # Imported here: redis-py is an optional dependency (the `redis` extra).
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import RedisError

        self._errors = (RedisError, OSError)
        self._redis = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                     retry=Retry(NoBackoff(), 0))
        self._url = _without_password(url)
        self._prefix = prefix
        self._retry_interval = retry_interval
        self._fallback = MemoryRateLimiter()
        self._down = False
        self._retry_at = 0.0

    async def hit(self, key: str, window: int, now: float) -> int:
        name, ttl = self._name(key, window, now)
        if self._down and now < self._retry_at:
            return self._fallback.hit_now(key, window, now)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                count, _ = await pipe.incr(name).expire(name, ttl).execute()
        except self._errors as e:
            self._went_down(e, now)
            return self._fallback.hit_now(key, window, now)
        self._came_back()
        return int(count)

    async def count(self, key: str, window: int, now: float) -> int:
        name, _ = self._name(key, window, now)
        if self._down and now < self._retry_at:
            return await self._fallback.count(key, window, now)
        try:
            value = await self._redis.get(name)
        except self._errors as e:
            self._went_down(e, now)
            return await self._fallback.count(key, window, now)
        self._came_back()
        return int(value or 0)

    async def close(self) -> None:
        await self._redis.aclose()

    def _name(self, key: str, window: int, now: float) -> tuple[str, int]:
        if window < 1:
            raise ValueError(f"a rate-limit window is at least 1 second, got {window}")
        index = int(now // window)
        ttl = (index + 1) * window - int(now) + _GRACE_SECONDS
        return f"{self._prefix}{window}:{index}:{key}", ttl

    def _went_down(self, error: Exception, now: float) -> None:
        self._retry_at = now + self._retry_interval
        if not self._down:
            self._down = True
            log.warning("rate limiting: Redis at %s is unreachable (%s: %s); counting in this process "
                        "until it is back", self._url, type(error).__name__, error)

    def _came_back(self) -> None:
        if self._down:
            self._down = False
            log.warning("rate limiting: Redis at %s is back; counting there again", self._url)


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest
