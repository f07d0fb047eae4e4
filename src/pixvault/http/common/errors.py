"""Where core errors become responses: one error table per surface, one renderer each.

A surface maps error types to its own `(status, code)`; `ErrorTable.lookup` walks the error's
class hierarchy, so the most specific entry wins. The HTTP facts an error carries (a retry
delay, the size behind a refused range, the allowed methods) become headers here, the same
on every surface. A surface's routes use `enveloped_route(render)`: core errors, request
validation errors and HTTP exceptions raised while handling a request are all rendered by
that surface's `render`.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from pixvault.domain.errors import (
    InvalidInput,
    MethodNotAllowed,
    Overloaded,
    PixvaultError,
    RangeNotSatisfiable,
    RenderQueueFull,
    RenderRateLimited,
    RenderTimedOut,
    RouteNotFound,
    TooManyAttempts,
    Violations,
)

Render = Callable[[PixvaultError], Response]


class ProtocolError(PixvaultError):
    """An HTTP-level refusal from the framework itself, with the status it chose."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class ErrorTable:
    def __init__(self, entries: dict[type[PixvaultError], tuple[int, str]], protocol_code: str):
        self._entries = entries
        self._protocol_code = protocol_code
        self._resolved: dict[type[PixvaultError], tuple[int, str]] = {}

    def lookup(self, exc: PixvaultError) -> tuple[int, str]:
        if isinstance(exc, ProtocolError):
            return exc.status, self._protocol_code
        kind = type(exc)
        found = self._resolved.get(kind)
        if found is None:
            found = next(self._entries[k] for k in kind.__mro__ if k in self._entries)
            self._resolved[kind] = found
        return found


def error_headers(exc: PixvaultError) -> dict[str, str]:
    if isinstance(
        exc, RenderQueueFull | TooManyAttempts | RenderRateLimited | Overloaded | RenderTimedOut
    ):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, RangeNotSatisfiable):
        return {"Content-Range": f"bytes */{exc.size}"}
    if isinstance(exc, MethodNotAllowed):
        return {"Allow": ", ".join(exc.allowed)}
    return {}


def describe_validation(exc: RequestValidationError) -> InvalidInput:
    """FastAPI's validation detail as readable sentences naming each field (one sentence for
    one problem; `Violations` for several, which surfaces may list one by one)."""
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = ".".join(loc) or "body"
        problems.append(InvalidInput(f"{field}: {err.get('msg', 'invalid value')}", param=field))
    if not problems:
        return InvalidInput("Invalid request")
    return problems[0] if len(problems) == 1 else Violations(problems)


def from_http_exception(exc: HTTPException, request: Request) -> PixvaultError:
    """The framework's own 404 and 405 (no route, wrong method) as core errors."""
    if exc.status_code == 404:
        return RouteNotFound(request.method, request.url.path)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        methods = [m.strip() for m in allowed.split(",") if m.strip()]
        return MethodNotAllowed(request.method, request.url.path, methods)
    return ProtocolError(str(exc.detail), exc.status_code)


def enveloped_route(render: Render) -> type[APIRoute]:
    class EnvelopedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                try:
                    return await handler(request)
                except PixvaultError as exc:
                    return render(exc)
                except RequestValidationError as exc:
                    return render(describe_validation(exc))
                except HTTPException as exc:
                    return render(from_http_exception(exc, request))

            return handle

    return EnvelopedRoute
