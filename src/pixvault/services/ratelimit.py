"""Moving-window limits (the `limits` library): failed sign-ins per account and address, and
cold renders per client address.

Windows live in the storage named by `PIXVAULT_RATE_LIMIT_STORAGE`: `memory://` (per process:
with N workers a client gets N times the allowance) or a shared `redis://HOST:PORT`.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


class WindowLimiter:
    """At most `allowed` hits per key within `window_seconds`."""

    def __init__(self, storage_url: str, namespace: str, *, allowed: int, window_seconds: int):
        self._limiter = MovingWindowRateLimiter(storage_from_string(f"async+{storage_url}"))
        self._item = RateLimitItemPerSecond(allowed, window_seconds)
        self._namespace = namespace

    async def retry_after(self, *keys: str) -> int | None:
        """Seconds until a spent key has room again; None when every key has room."""
        for key in keys:
            if not await self._limiter.test(self._item, self._namespace, key):
                stats = await self._limiter.get_window_stats(self._item, self._namespace, key)
                return max(1, math.ceil(stats.reset_time - time.time()))
        return None

    async def hit(self, *keys: str) -> None:
        for key in keys:
            await self._limiter.hit(self._item, self._namespace, key)
