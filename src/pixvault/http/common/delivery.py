"""The HTTP side of delivery, shared by every public URL: a core `Answer` as a response."""

from fastapi import Request, Response

from pixvault.http.common.errors import Render
from pixvault.services.core import Core
from pixvault.services.delivery import Answer, ViewerRequest


def client_address(request: Request, trusted_header: str | None) -> str | None:
    """The visitor's address: from the trusted proxy's header when one is configured."""
    if trusted_header:
        forwarded = request.headers.get(trusted_header)
        if forwarded:
            return forwarded.split(",")[0].strip()
    client = request.scope.get("client")
    return client[0] if client else None


def viewer_of(request: Request, core: Core) -> ViewerRequest:
    # The signed path is the decoded request path, as Starlette's `request.url.path` gives it
    # (building that URL object costs ~10 µs per hit).
    headers = request.headers
    return ViewerRequest(
        path=request.scope["path"],
        accept=headers.get("accept"),
        if_none_match=headers.get("if-none-match"),
        range=headers.get("range"),
        if_range=headers.get("if-range"),
        raw_path=request.scope.get("raw_path", b"").decode("latin-1") or None,
        head=request.method == "HEAD",
        client=client_address(request, core.settings.client_ip_header),
    )


async def respond(answer: Answer, render: Render) -> Response:
    """Open the answer's body (if any) and send it; errors in the surface's envelope. An
    error raised while the body is produced (a render refused, the store down) is the
    caller's to render."""
    if answer.error is not None:
        return _with_headers(render(answer.error), answer.headers)
    body = b"" if answer.body is None else await answer.body.read()
    return Response(
        body, status_code=answer.status, headers=answer.headers, media_type=answer.media_type
    )


def _with_headers(response: Response, headers: dict[str, str]) -> Response:
    for name, value in headers.items():
        response.headers[name] = value
    return response
