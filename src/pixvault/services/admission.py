"""Admission control: how much work one process takes on at once.

A `Lane` lets `limit` requests run at once. Past that a request waits in line (first come,
first served), at most `queue` of them and each at most `max_wait` seconds; past either bound
it is refused with `Overloaded` before any of its work is done, so the work already admitted
finishes at full speed and the client is told when to retry (as nginx's `limit_conn` and
Envoy's overload manager do). A slot freed is handed straight to the next in line.

The wait bound shrinks under sustained overload, as Facebook's CoDel server queues do: once
the line has not been empty for `_INTERVAL`, a request joining it waits at most `_INTERVAL`
too. A burst still waits out the full `max_wait`; a standing line (arrivals beyond what the
process can do) is kept short, so an admitted request starts soon and the rest hear 429 at
once instead of after a second in line.

`Admission` holds the lanes of one process: `work` for the APIs and the UI (uploads, lists,
sign-ins: the CPU- and database-heavy routes); `delivery` for public image URLs this process
has answered before and originals, which are cached hits costing well under a millisecond;
and `cold` for image URLs it has not answered yet, which may be renders. A URL moves from
`cold` to `delivery` once answered (`Answered`), so a flood of new variants or uploads never
delays a cached hit, and cold renders are bounded in number before they reach the render
queue, so none waits there for long. Health, readiness and metrics are never admitted
through a lane: a busy process must still say that it is alive.
"""

import asyncio
import os
from collections import deque
from dataclasses import dataclass

from pixvault.config import Settings
from pixvault.domain.errors import Overloaded

_INTERVAL = 0.1


class Lane:
    def __init__(self, name: str, *, limit: int, queue: int, max_wait: float):
        self.name = name
        self.limit = limit
        self.queue = queue
        self.max_wait = max_wait
        self.in_flight = 0
        self._line: deque[asyncio.Future[None]] = deque()
        self._queued_since = 0.0  # when the line last went from empty to not empty
        # Retry-After: about how long the line takes to move on, in whole seconds.
        self.retry_after = max(1, round(max_wait))

    @property
    def waiting(self) -> int:
        return len(self._line)

    def join(self) -> asyncio.Future[None] | None:
        """None when the request may start now (it holds a slot: call `leave`); else a
        future that resolves when a slot is handed to it, or fails with `Overloaded` after
        `max_wait` (`_INTERVAL` while the line stands). Raises `Overloaded` when the line
        is full."""
        if self.in_flight < self.limit and not self._line:
            self.in_flight += 1
            return None
        if len(self._line) >= self.queue:
            raise Overloaded(self.retry_after)
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._line:
            self._queued_since = now
        standing = now - self._queued_since >= _INTERVAL
        ticket: asyncio.Future[None] = loop.create_future()
        self._line.append(ticket)
        wait = min(self.max_wait, _INTERVAL) if standing else self.max_wait
        timer = loop.call_later(wait, self._expire, ticket)
        ticket.add_done_callback(lambda _: timer.cancel())
        return ticket

    def withdraw(self, ticket: asyncio.Future[None]) -> None:
        """The request gave up (its client left): leave the line, or pass on the slot it
        was just handed."""
        if not ticket.done():
            self._line.remove(ticket)
            ticket.cancel()
        elif not ticket.cancelled() and ticket.exception() is None:
            self.leave()

    def leave(self) -> None:
        while self._line:
            ticket = self._line.popleft()
            if not ticket.done():
                ticket.set_result(None)  # the slot moves on; in_flight stays
                return
        self.in_flight -= 1

    def _expire(self, ticket: asyncio.Future[None]) -> None:
        if not ticket.done():
            self._line.remove(ticket)
            ticket.set_exception(Overloaded(self.retry_after))


class Answered:
    """The delivery URLs this process has answered, the most recent `size` of them (a URL
    forgotten is only admitted as a possible render once more)."""

    def __init__(self, size: int = 65536):
        self.size = size
        self._seen: dict[int, None] = {}

    def __contains__(self, url: int) -> bool:
        return url in self._seen

    def add(self, url: int) -> None:
        if url in self._seen:
            return
        if len(self._seen) >= self.size:
            del self._seen[next(iter(self._seen))]
        self._seen[url] = None


@dataclass(frozen=True)
class Admission:
    work: Lane
    delivery: Lane
    cold: Lane
    answered: Answered

    @classmethod
    def from_settings(cls, settings: Settings) -> "Admission":
        def lane(name: str, limit: int) -> Lane:
            return Lane(
                name,
                limit=limit,
                queue=settings.admission_queue,
                max_wait=settings.queue_wait_seconds,
            )

        # Two per CPU: one rendering and one ready per render worker (RENDER_WORKERS).
        cold = settings.max_in_flight_cold or 2 * (os.cpu_count() or 1)
        return cls(
            work=lane("work", settings.max_in_flight),
            delivery=lane("delivery", settings.max_in_flight_delivery),
            cold=lane("cold", cold),
            answered=Answered(),
        )
