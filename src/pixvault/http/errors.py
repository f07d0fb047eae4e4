"""Per-surface error envelopes.

A surface's routes use `enveloped_route(render)`: any core error, request validation error or
HTTP exception raised while handling the request is rendered by that surface's `render`, so
one core error looks native to whichever API the client speaks.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from pixvault.domain.errors import InvalidInput, PixvaultError

Render = Callable[[PixvaultError], Response]


def describe_validation(exc: RequestValidationError) -> InvalidInput:
    """Turn FastAPI's validation detail into one readable sentence naming the field."""
    parts = []
    param = None
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = ".".join(loc) or "body"
        param = param or field
        parts.append(f"{field}: {err.get('msg', 'invalid value')}")
    return InvalidInput("; ".join(parts) or "Invalid request", param=param)


def from_http_exception(exc: HTTPException) -> PixvaultError:
    error = PixvaultError(str(exc.detail), code="HTTP_ERROR")
    error.status = exc.status_code
    return error


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
                    return render(from_http_exception(exc))

            return handle

    return EnvelopedRoute
