"""Failed sign-ins are limited per account and per client address, so a password cannot be
brute-forced; a successful sign-in only costs one window check per key.

Windows live in the `limits` storage named by `PIXVAULT_RATE_LIMIT_STORAGE`: `memory://`
(per process: with N workers an attacker gets N times the attempts) or a shared
`redis://HOST:PORT` for every process of a deployment.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from pixvault.domain.errors import TooManyAttempts


class LoginLimiter:
    def __init__(self, storage_url: str, *, attempts: int, window_seconds: int):
        self._limiter = MovingWindowRateLimiter(storage_from_string(f"async+{storage_url}"))
        self._item = RateLimitItemPerSecond(attempts, window_seconds)

    async def check(self, *keys: str) -> None:
        """Refuse when any key has used up its failures in the window."""
        for key in keys:
            if not await self._limiter.test(self._item, "login", key):
                stats = await self._limiter.get_window_stats(self._item, "login", key)
                raise TooManyAttempts(max(1, math.ceil(stats.reset_time - time.time())))

    async def failed(self, *keys: str) -> None:
        for key in keys:
            await self._limiter.hit(self._item, "login", key)
