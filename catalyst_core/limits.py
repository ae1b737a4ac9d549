"""Rate limits: how many requests a user may make per window, counted through the RateLimiter port."""

from __future__ import annotations

from typing import NamedTuple

from attrs import frozen

from catalyst_core.errors import RateLimited
from catalyst_core.ids import UserId
from catalyst_core.ports import Clock, RateLimiter

HOUR = 3600


@frozen
class Quota:
    """`limit` events per fixed window of `window` seconds; a limit of 0 means no limit."""

    limit: int
    window: int = HOUR

    def __attrs_post_init__(self) -> None:
        if self.limit < 0:
            raise ValueError(f"a rate limit cannot be negative, got {self.limit}")
        if self.window < 1:
            raise ValueError(f"a rate-limit window is at least 1 second, got {self.window}")

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def reset_at(self, now: float) -> int:
        """Unix time at which the window holding `now` ends (the RateLimiter port's windows)."""
        return (int(now) // self.window + 1) * self.window


class RateStatus(NamedTuple):
    """Where a caller stands after one request: what the X-RateLimit-* headers say. (A named tuple:
    one is made for every request, and it is the cheapest immutable record to make.)"""

    limit: int
    remaining: int
    reset: int  # Unix time when the window ends and the count starts again
    retry_after: int  # whole seconds until `reset`, at least 1
    allowed: bool

    @classmethod
    def of(cls, quota: Quota, count: int, now: float) -> RateStatus:
        reset = quota.reset_at(now)
        return cls(quota.limit, max(0, quota.limit - count), reset, max(1, reset - int(now)),
                   count <= quota.limit)


class RequestLimits:
    """Each authenticated request spends one of its user's requests for the current window.
    Requests refused for being over the limit count too (a client hammering on is not rewarded)."""

    def __init__(self, limiter: RateLimiter, clock: Clock, quota: Quota) -> None:
        self.limiter, self.clock, self.quota = limiter, clock, quota
        self._limit, self._window = quota.limit, quota.window  # read on every request

    @property
    def enabled(self) -> bool:
        return self.quota.enabled

    async def spend(self, user_id: UserId) -> RateStatus:
        """The user's status after this request; `allowed` is False past the limit."""
        now = self.clock.now().timestamp()
        limit, window = self._limit, self._window
        count = await self.limiter.hit("user:" + user_id.hex, window, now)
        # RateStatus.of, inlined: this runs on every authenticated request.
        reset = (int(now) // window + 1) * window
        return RateStatus(limit, max(0, limit - count), reset, max(1, reset - int(now)), count <= limit)

    @staticmethod
    def refusal(status: RateStatus) -> RateLimited:
        """What a request past the limit is answered."""
        return RateLimited(f"rate limit of {status.limit} requests per hour exceeded; retry in "
                           f"{status.retry_after} s", status.retry_after)
