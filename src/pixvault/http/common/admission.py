"""The ASGI middleware in front of every route: admission, slow bodies, clients that leave.

- **Admission**: each request takes a slot in its lane (`services/admission.py`) before any
  route runs; a full lane answers 429 with `Retry-After` in the envelope of the surface that
  owns the path. Health, readiness and metrics bypass the lanes.
- **Slow bodies**: a request body that pauses for `body_timeout` seconds ends the request
  with 408 (`RequestTimeout`) and the connection is closed after it.
- **Clients that leave**: a request waiting in line whose client disconnects is dropped
  without running; a request that runs longer than `_WATCH_AFTER` is watched, and if its
  client disconnects the route is cancelled, so no work is done for nobody. Such requests
  are logged with nginx's status 499 (nothing is sent: the client is gone).

Pure ASGI (no BaseHTTPMiddleware): the fast path of a cached hit costs a hash of its URL, a
counter, a dictionary entry and one wrapped `send`.
"""

import asyncio
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixvault.domain.errors import Overloaded, PixvaultError, RequestTimeout, RouteNotFound
from pixvault.http.common.errors import Render
from pixvault.services.admission import Admission, Answered, Lane

# Requests shorter than this are never watched for a disconnect: nearly every request,
# and a watcher would cost a task each.
_WATCH_AFTER = 0.1
UNLANED = frozenset({"/health", "/ready", "/metrics"})  # alive even when busy
_NOT_DELIVERY = ("/api/", "/v1/", "/ui", "/docs", "/redoc", "/openapi")
_STATIC = ("/ui/static/", "/docs/assets/")
# A delivery URL answered with these is a cached hit from now on.
_SERVED = frozenset({200, 206, 304})
CLIENT_CLOSED = 499


def is_delivery(method: str, path: str) -> bool:
    """A public delivery URL: GET/HEAD of a native, Slink or vault image or asset path, or of
    the UI's and the docs' static files (as cheap: they never wait behind API work)."""
    return method in ("GET", "HEAD") and (
        path.startswith(_STATIC)
        or path.startswith("/image/")
        or (path.startswith("/api/image/") and path.count("/") == 3)
        or (path.count("/") >= 4 and not path.startswith(_NOT_DELIVERY))
    )


def lane_for(admission: Admission, scope: Scope) -> tuple[Lane | None, int | None]:
    """The lane of a request, and for a delivery URL its key in `admission.answered`:
    delivery URLs answered before go to `delivery`, new ones (possible renders) to `cold`;
    health, readiness and metrics take no lane; everything else shares `work`."""
    path = scope["path"]
    if path in UNLANED:
        return None, None
    if not is_delivery(scope["method"], path):
        return admission.work, None
    url = hash((path, scope["query_string"]))
    return (admission.delivery if url in admission.answered else admission.cold), url


class _Gone(Exception):
    """The client disconnected before its request could start."""


class _Exchange:
    """One request's receive and send as the route sees them: a body-read timeout, messages
    read ahead while watching for a disconnect, and what has been sent."""

    __slots__ = (
        "_answered",
        "_receive",
        "_send",
        "_url",
        "ahead",
        "body_timeout",
        "finished",
        "gone",
        "peekable",
        "started",
        "task",
        "timed_out",
        "watch_wanted",
        "watcher",
    )

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        body_timeout: float,
        answered: Answered | None,
        url: int | None,
    ):
        self._receive = receive
        self._answered = answered
        self._url = url
        self._send = send
        self.body_timeout = body_timeout
        self.ahead: list[Message] = []  # read while watching, not yet given to the route
        # Whether reading from the client can take nothing from the route: true once the
        # body is complete (or there is none); until then only the route reads.
        # (GET and HEAD bodies are never read by a route.)
        self.peekable = scope["method"] in ("GET", "HEAD") or not _has_body(scope)
        self.started = False
        self.finished = False
        self.timed_out = False
        self.gone = False
        self.watch_wanted = False
        self.watcher: asyncio.Task[None] | None = None
        self.task = asyncio.current_task()

    async def receive(self) -> Message:
        if self.ahead:
            return self.ahead.pop(0)
        if self.peekable:
            return await self._receive()
        try:
            async with asyncio.timeout(self.body_timeout):
                message = await self._receive()
        except TimeoutError:
            self.timed_out = True
            raise RequestTimeout(self.body_timeout) from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.peekable = True
            if self.watch_wanted:
                self.watch()
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            if self._url is not None and message["status"] in _SERVED:
                self._answered.add(self._url)  # type: ignore[union-attr]
            if self.timed_out:  # the rest of the body may never come: do not wait for it
                message["headers"] = [*message.get("headers", ()), (b"connection", b"close")]
        elif not message.get("more_body", False):
            self.finished = True
        await self._send(message)

    async def client_gone(self) -> bool:
        """Wait until the client disconnects (True), or until that cannot be told without
        holding its body in memory (False). Only while the route is not reading."""
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                if self.finished:
                    await asyncio.Event().wait()  # uvicorn says so once the answer is sent
                return True
            self.ahead.append(message)
            if message.get("more_body", False):
                return False
            self.peekable = True

    def watch(self) -> None:
        """From now on, cancel the route if the client disconnects."""
        if not self.peekable:
            self.watch_wanted = True  # once the route has read the whole body
            return
        if self.watcher is None:
            self.watcher = asyncio.ensure_future(self._cancel_when_gone())

    async def _cancel_when_gone(self) -> None:
        if await self.client_gone() and self.task is not None and not self.finished:
            self.gone = True
            self.task.cancel()

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()


class AdmissionControl:
    """`envelope(path)` is the error renderer of the surface that owns `path`; `hidden` are
    paths this port does not serve (answered as no route would be)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        admission: Admission,
        envelope: Callable[[str], Render],
        body_timeout: float,
        hidden: frozenset[str] = frozenset(),
    ):
        self.app = app
        self.hidden = hidden
        self.admission = admission
        self.envelope = envelope
        self.body_timeout = body_timeout
        # Running requests and when they started; one sweep every _WATCH_AFTER starts the
        # watchers of those running longer (a timer per request costs ~7 µs on uvloop).
        self._running: dict[_Exchange, float] = {}
        self._sweeper: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lane, url = lane_for(self.admission, scope)
        exchange = _Exchange(scope, receive, send, self.body_timeout, self.admission.answered, url)
        try:
            if lane is not None:
                await self._admit(lane, exchange)
            elif scope["path"] in self.hidden:
                await self._refuse(scope, exchange, RouteNotFound(scope["method"], scope["path"]))
                return
            await self._run(scope, exchange, lane)
        except Overloaded as exc:
            await self._refuse(scope, exchange, exc)
        except _Gone:
            await _closed(exchange)
        finally:
            exchange.close()

    async def _admit(self, lane: Lane, exchange: _Exchange) -> None:
        ticket = lane.join()  # raises Overloaded when the line is full
        if ticket is None:
            return
        watcher = asyncio.ensure_future(exchange.client_gone())
        try:
            await asyncio.wait((ticket, watcher), return_when=asyncio.FIRST_COMPLETED)
            if not ticket.done() and watcher.result():
                raise _Gone
            await ticket  # raises Overloaded when the wait is over
        except BaseException:
            lane.withdraw(ticket)
            raise
        finally:
            watcher.cancel()

    async def _run(self, scope: Scope, exchange: _Exchange, lane: Lane | None) -> None:
        self._running[exchange] = time.monotonic()
        sweeper = self._sweeper
        if sweeper is None or sweeper.get_loop() is not asyncio.get_running_loop():
            self._sweeper = asyncio.ensure_future(self._sweep())
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except asyncio.CancelledError:
            if not exchange.gone or exchange.task is None:
                raise
            exchange.task.uncancel()
            await _closed(exchange)
        except PixvaultError as exc:  # a body timeout in a route without an envelope
            await self._refuse(scope, exchange, exc)
        finally:
            del self._running[exchange]
            if lane is not None:
                lane.leave()

    async def _sweep(self) -> None:
        while self._running:
            await asyncio.sleep(_WATCH_AFTER)
            started_before = time.monotonic() - _WATCH_AFTER
            for exchange, started in list(self._running.items()):
                if started <= started_before:
                    exchange.watch()
        self._sweeper = None  # idle: the next request starts another

    async def _refuse(self, scope: Scope, exchange: _Exchange, exc: PixvaultError) -> None:
        if exchange.started:
            return
        response = self.envelope(scope["path"])(exc)
        await response(scope, exchange.receive, exchange.send)


async def _closed(exchange: _Exchange) -> None:
    """Record 499 for the access log and metrics; uvicorn sends nothing to a gone client."""
    if not exchange.started:
        await exchange.send({"type": "http.response.start", "status": CLIENT_CLOSED})
        await exchange.send({"type": "http.response.body", "body": b""})


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value != b"0"
        if name == b"transfer-encoding":
            return True
    return False
