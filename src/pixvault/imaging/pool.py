"""A bounded render pool: renders run in threads (libvips releases the GIL), at most `workers`
at once, and at most `queue` waiting. Past that the caller gets 429 + Retry-After instead of
the process queueing unbounded work and memory.

AVIF encodes (about a second each) get one lane of their own so they never starve the others.
"""

import os
from collections.abc import Callable
from typing import TypeVar

import anyio
from anyio import CapacityLimiter

from pixvault.domain.errors import RenderQueueFull
from pixvault.metrics import RENDER_QUEUE

T = TypeVar("T")


class RenderPool:
    def __init__(self, *, workers: int = 0, queue: int = 64, slow_lanes: int = 1):
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.queue = queue
        self._fast = CapacityLimiter(self.workers)
        self._slow = CapacityLimiter(slow_lanes)
        self._pending = 0

    async def run(self, work: Callable[[], T], *, slow: bool = False) -> T:
        if self._pending >= self.workers + self.queue:
            raise RenderQueueFull(self._pending, retry_after=1)
        self._pending += 1
        RENDER_QUEUE.inc()
        try:
            limiter = self._slow if slow else self._fast
            return await anyio.to_thread.run_sync(work, limiter=limiter)
        finally:
            self._pending -= 1
            RENDER_QUEUE.dec()
