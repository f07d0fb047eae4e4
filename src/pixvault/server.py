"""How `pixvault serve` runs the app: uvicorn with pixvault's HTTP protocol, and `/metrics` on
a port of its own when `METRICS_PORT` is set.

uvicorn times out idle keep-alive connections but not a client that connects and never
finishes its request line and headers (slowloris: each holds a socket and a parser for as
long as it likes). `GuardedHttpProtocol` gives every request `HEADER_TIMEOUT_SECONDS` from
its connection (or, on a keep-alive connection, from its first byte) to complete its
headers, then answers 408 and closes, as nginx's `client_header_timeout` does. Slow bodies
and admission are the ASGI middleware's (`http/common/admission.py`).

Garbage collection: once the app has started (settings, routes, the core's engines and
caches: ~170,000 objects), they are frozen out of the collector, so a full collection no
longer walks them. Unfrozen, one full collection took ~120 ms of CPU under load, a stall
every request in flight waits out: it was the tail of cached hits (issue 14).
"""

import asyncio
import gc
import os
from typing import Any

import uvicorn
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from pixvault import app as application
from pixvault.config import Settings

_TOO_SLOW = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: 65\r\n"
    b"\r\n"
    b"The request line and headers did not arrive in time; send at once\n"
)


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration plus the header timeout (kept on the config so that worker
    processes, which receive a pickled copy, know it too)."""

    def __init__(self, app: str, *, header_timeout: float, **options: Any):
        super().__init__(app, **options)
        self.header_timeout = header_timeout


class GuardedHttpProtocol(HttpToolsProtocol):
    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any):
        super().__init__(config, *args, **kwargs)
        self._header_timeout: float = getattr(config, "header_timeout", 5.0)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()  # the next request on a keep-alive connection gets the same time

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self._header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(_TOO_SLOW)  # not in the middle of another answer
        self.transport.close()


def served_app() -> ASGIApp:
    """uvicorn's factory in every worker process: the app, with the collector tuned once
    it has started."""
    return _FreezeAfterStartup(application.served_app())


class _FreezeAfterStartup:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def started(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                gc.collect()
                gc.freeze()
            await send(message)

        await self.app(scope, receive, started)


def serve(
    settings: Settings, *, host: str, port: int, workers: int, log_config: dict[str, Any]
) -> None:
    """Serve until stopped: `workers` processes on `host:port`, and the metrics of all of
    them on `host:METRICS_PORT` when that is set (then the main port has no /metrics)."""
    config = ServerConfig(
        "pixvault.server:served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_config=log_config,
        http="pixvault.server:GuardedHttpProtocol",
        header_timeout=settings.header_timeout_seconds,
    )
    if settings.metrics_port is not None:
        serve_metrics(host, settings.metrics_port)
    server = uvicorn.Server(config)
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        server.run()
        if not server.started:
            raise SystemExit(3)  # uvicorn's start-up failure; it logged why


def serve_metrics(host: str, port: int) -> None:
    """Prometheus' own small HTTP server in a daemon thread of this process: for one worker
    its live registry, for several the pooled files of all of them."""
    registry: Collector = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    start_http_server(port, addr=host, registry=registry)
