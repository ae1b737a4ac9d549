"""RateLimiter adapters: one process (`MemoryRateLimiter`), the processes of one `catalyst serve
--workers N` (`SharedMemoryRateLimiter` over a `SharedRateTable` made before the fork) and every
server anywhere (`RedisRateLimiter`)."""

from catalyst_adapters.ratelimit.memory import MemoryRateLimiter
from catalyst_adapters.ratelimit.redis_limiter import RedisRateLimiter
from catalyst_adapters.ratelimit.shared import SharedMemoryRateLimiter, SharedRateTable

__all__ = ["MemoryRateLimiter", "RedisRateLimiter", "SharedMemoryRateLimiter", "SharedRateTable"]
