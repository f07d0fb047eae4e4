"""A bounded render pool: renders run in threads (libvips releases the GIL), at most `workers`
at once, and at most `queue` waiting. Past that the caller gets 429 + Retry-After instead of
the process queueing unbounded work and memory.

AVIF encodes get one lane of their own so they never starve the others.

A render not finished `timeout` seconds after it was asked for (queue wait included) answers
`RenderTimedOut` (503 + Retry-After) at once. A render still waiting is dropped; a running one
is told to stop (libvips' kill flag, `KillSwitch`), and keeps its lane and its place in the
bound until its thread returns, so abandoned work can never pile up past `workers + queue`.
libvips checks the flag between regions: an encode stops within a region, but a loader that
decodes a whole animation at once (WebP) finishes that decode first.
"""

import asyncio
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pyvips

from pixvault.domain.errors import RenderQueueFull, RenderTimedOut
from pixvault.metrics import RENDER_QUEUE

T = TypeVar("T")


class KillSwitch:
    """Stops the libvips pipelines of one render from another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._images: list[pyvips.Image] = []
        self.killed = False

    def watch(self, image: pyvips.Image) -> pyvips.Image:
        with self._lock:
            if self.killed:
                image.set_kill(True)
            else:
                self._images.append(image)
        return image

    def kill(self) -> None:
        with self._lock:
            self.killed = True
            for image in self._images:
                image.set_kill(True)
            self._images.clear()


class RenderPool:
    def __init__(
        self,
        *,
        workers: int = 0,
        queue: int = 64,
        slow_lanes: int = 1,
        timeout: float | None = None,
    ):
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.queue = queue
        self.timeout = timeout
        self._fast = ThreadPoolExecutor(self.workers, thread_name_prefix="render")
        self._slow = ThreadPoolExecutor(slow_lanes, thread_name_prefix="render-slow")
        self._pending = 0
        self.timed_out = 0

    async def run(self, work: Callable[[KillSwitch], T], *, slow: bool = False) -> T:
        if self._pending >= self.workers + self.queue:
            raise RenderQueueFull(self._pending, retry_after=1)
        loop = asyncio.get_running_loop()
        switch = KillSwitch()
        self._pending += 1
        RENDER_QUEUE.inc()
        job = (self._slow if slow else self._fast).submit(work, switch)
        job.add_done_callback(lambda _: loop.call_soon_threadsafe(self._finished))
        waiting = asyncio.wrap_future(job)
        done, _ = await asyncio.wait({waiting}, timeout=self.timeout)
        if done:
            return waiting.result()
        # Not cancelling `waiting` would leave its result unretrieved; the thread runs on
        # (killed) and `_finished` frees its place when it returns.
        job.cancel()
        switch.kill()
        waiting.cancel()
        self.timed_out += 1
        assert self.timeout is not None
        raise RenderTimedOut(self.timeout, retry_after=max(1, math.ceil(self.timeout)))

    @property
    def pending(self) -> int:
        """Renders waiting or running, stopped ones included until their thread returns."""
        return self._pending

    def close(self) -> None:
        """Let the render threads end (a render still running finishes first, unwaited):
        a closed core keeps no threads, nor the memory libvips holds per thread."""
        self._fast.shutdown(wait=False, cancel_futures=True)
        self._slow.shutdown(wait=False, cancel_futures=True)

    def _finished(self) -> None:
        self._pending -= 1
        RENDER_QUEUE.dec()
