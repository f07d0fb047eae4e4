"""Request ids, logs and per-route metrics: one thin ASGI middleware and the logging setup.

Every response carries `X-Request-Id` (the client's, when it sent a sane one), and every
request produces one access log line with that id, so a log line can be matched to a response.
Logs are human-readable lines on a terminal and JSON lines otherwise (`PIXVAULT_LOG_FORMAT`).
"""

import json
import logging
import os
import random
import re
import sys
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixvault import __version__
from pixvault.config import Settings
from pixvault.metrics import LATENCY, REQUESTS

access_log = logging.getLogger("pixvault.access")
# Record fields no log line prints: not collecting them is the logging HOWTO's advice for
# hot paths ("Optimization"), and the access log runs on every request.
logging._srcfile = None
logging.logThreads = False
logging.logProcesses = False
logging.logMultiprocessing = False
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,128}")
# Request ids only have to be unique, not unguessable: the random module's generator (Python
# reseeds it in every forked child) instead of the OS's randomness, a system call per request.
# uvicorn passes a coloured copy of its messages as `color_message`: never a field of ours.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_LEVEL_COLOURS = {"DEBUG": "36", "INFO": "32", "WARNING": "33", "ERROR": "31", "CRITICAL": "1;31"}


def timestamp(record: logging.LogRecord, *, utc: bool) -> str:
    """ISO 8601 with milliseconds and the offset: `2026-12-01T13:21:31.123+00:00`."""
    second = int(record.created)
    date, offset = _second(second, utc)
    return f"{date}.{int((record.created - second) * 1000):03d}{offset}"


@lru_cache(maxsize=4)
def _second(second: int, utc: bool) -> tuple[str, str]:
    """A second's date and time, and its offset: every access line of one second shares them
    (formatting a datetime costs more than the rest of a JSON line)."""
    moment = datetime.fromtimestamp(second, UTC)
    text = (moment if utc else moment.astimezone()).isoformat()
    return text[:19], text[19:]


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """What the caller passed as `extra=`."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


def _plain(value: Any) -> Any:
    # The membership test first: nearly no value has an escape, and it is ~5x cheaper than
    # the substitution it saves on every field of every access line.
    return _ANSI.sub("", value) if isinstance(value, str) and "\x1b" in value else value


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, and any `extra` fields;
    terminal colour codes are removed, whoever put them in."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": timestamp(record, utc=True),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _plain(record.getMessage()),
        }
        entry |= {k: _plain(v) for k, v in extra_fields(record).items()}
        if record.exc_info:
            entry["exception"] = _plain(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`TIME LEVEL logger: message key=value ...` in local time, the level coloured when
    `colours` (a terminal that did not ask for NO_COLOR)."""

    def __init__(self, colours: bool = False):
        super().__init__()
        self.colours = colours

    def format(self, record: logging.LogRecord) -> str:
        level = f"{record.levelname:<7}"
        if self.colours:
            level = f"\x1b[{_LEVEL_COLOURS.get(record.levelname, '0')}m{level}\x1b[0m"
        fields = "".join(f" {k}={v}" for k, v in extra_fields(record).items())
        line = (
            f"{timestamp(record, utc=False)} {level} {record.name}: {record.getMessage()}{fields}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def resolve_format(setting: str, stream: TextIO) -> str:
    """`auto` is `text` on a terminal and `json` for anything else (a pipe, a file, journald)."""
    if setting != "auto":
        return setting
    return "text" if _isatty(stream) else "json"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class StartBanner(logging.Filter):
    """Turns uvicorn's "Uvicorn running on http://HOST:PORT" (logged once, by the process that
    binds the socket, after start-up for one worker) into pixvault's banner naming the URLs of
    the API, the docs and the web UI, on PUBLIC_URL when that is set."""

    def __init__(self, public_url: str | None = None):
        super().__init__()
        self.public_url = public_url

    def filter(self, record: logging.LogRecord) -> bool:
        if not (str(record.msg).startswith("Uvicorn running on ") and len(record.args or ()) == 3):
            return True
        scheme, host, port = record.args  # type: ignore[misc]
        logging.getLogger("pixvault").info(banner(scheme, host, port, self.public_url))
        return False


def banner(scheme: str, host: str, port: int, public_url: str | None = None) -> str:
    listen = f"{scheme}://{_url_host(host)}:{port}"
    if public_url:
        base = public_url.rstrip("/")
    else:
        # A wildcard address is not one a browser can open; this machine answers on loopback.
        local = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        base = f"{scheme}://{_url_host(local)}:{port}"
    return (
        f"pixvault {__version__} listening on {listen} (CTRL+C to quit): "
        f"API {base}/api/v1, docs {base}/docs, UI {base}/ui/"
    )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def log_config(
    level: str | None = None, fmt: str | None = None, public_url: str | None = None
) -> dict[str, Any]:
    """uvicorn/logging dictConfig for `serve`: text or JSON lines on stderr (from the settings
    `LOG_FORMAT`, `LOG_LEVEL` and `PUBLIC_URL` unless given); our access log replaces
    uvicorn's, and every other library's warnings go the same way."""
    if level is None or fmt is None:
        settings = Settings()
        level = level or settings.log_level
        fmt = fmt or settings.log_format
        public_url = public_url or settings.public_url
    chosen = resolve_format(fmt, sys.stderr)
    colours = chosen == "text" and _isatty(sys.stderr) and not os.environ.get("NO_COLOR")
    formatter: dict[str, Any] = (
        {"()": TextFormatter, "colours": colours} if chosen == "text" else {"()": JsonFormatter}
    )
    handler = {"class": "logging.StreamHandler", "formatter": "default"}
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "filters": {"banner": {"()": StartBanner, "public_url": public_url}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": "WARNING"},
        "loggers": {
            "pixvault": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"filters": ["banner"]},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


class RequestContext:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        sane = incoming and _SANE_ID.fullmatch(incoming)
        request_id = incoming if sane else f"{random.getrandbits(128):032x}"
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            count, latency = _series(scope["method"], route, status)
            count.inc()
            latency.observe(elapsed)
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )


@lru_cache(maxsize=1024)
def _series(method: str, route: str, status: int) -> tuple[Any, Any]:
    """The labelled metric children for a request: `labels()` costs ~10 µs per call."""
    return REQUESTS.labels(method, route, str(status)), LATENCY.labels(route)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None
