"""Slink's error envelopes (v1.9.1) and the status and body style of every core error.

Styles: `violations` (422 `Validation Error`, one violation per property), `specification`
(400 `Specification Error` with a violation), `plain` (`{"error": {title, message}}`),
`not_found` (404 `Resource not found`), `denied` (403 `Access Denied.`), `lexik` (LexikJWT's
`{code: 401, message}` with `WWW-Authenticate: Bearer`) and `api_key` (`INVALID_API_KEY`).
Body and form fields are validated with 422 violations; query parameters and delivery URLs
answer 400 naming the parameter, so those routes use `QUERY_TABLE`.
"""

from typing import Any

from fastapi.responses import JSONResponse

from pixvault.domain import errors as e
from pixvault.http.common.errors import ErrorTable, error_headers

_COMMON: dict[type[e.PixvaultError], tuple[int, str]] = {
    e.InvalidCredentials: (400, "specification"),
    e.EmailTaken: (400, "specification"),
    e.UsernameTaken: (400, "specification"),
    e.RegistrationClosed: (400, "plain"),
    e.FileTooLarge: (422, "violations"),
    e.UnsupportedType: (422, "violations"),
    e.InvalidImage: (422, "violations"),
    e.ImageTooLarge: (422, "violations"),
    e.InvalidInput: (422, "violations"),
    e.KeyRejected: (401, "api_key"),
    e.Unauthenticated: (401, "lexik"),
    e.NotOwner: (403, "denied"),
    e.Forbidden: (403, "plain"),
    e.NotFound: (404, "not_found"),
    e.MethodNotAllowed: (405, "plain"),
    e.Conflict: (409, "plain"),
    e.RangeNotSatisfiable: (416, "plain"),
    e.TooManyAttempts: (429, "plain"),
    e.RenderQueueFull: (429, "plain"),
    e.RenderRateLimited: (429, "plain"),
    e.RenderTimedOut: (503, "plain"),
    e.Overloaded: (429, "plain"),
    e.RequestTimeout: (408, "plain"),
    e.StorageUnavailable: (503, "plain"),
    e.PixvaultError: (400, "plain"),
}
FORM_TABLE = ErrorTable(_COMMON, protocol_code="plain")
QUERY_TABLE = ErrorTable(
    {
        **_COMMON,
        e.UnsupportedType: (400, "plain"),
        e.InvalidInput: (400, "plain"),
    },
    protocol_code="plain",
)
_TITLES = {
    "violations": "Validation Failed",
    "specification": "Specification Error",
    "not_found": "NotFoundException",
    "denied": "AccessDeniedHttpException",
}
# Core parameter names that Slink calls otherwise.
_PROPERTIES = {"file": "image", "label": "name"}


def _violation(exc: e.PixvaultError, fallback: str) -> dict[str, str]:
    return {
        "property": _PROPERTIES.get(exc.param or "", exc.param or fallback),
        "message": exc.message,
    }


def _violations(exc: e.PixvaultError, fallback: str) -> list[dict[str, str]]:
    problems = exc.problems if isinstance(exc, e.Violations) else [exc]
    return [_violation(problem, fallback) for problem in problems]


def _body(style: str, exc: e.PixvaultError) -> dict[str, Any]:
    title = _TITLES.get(style, type(exc).__name__)
    if style == "violations":
        return {
            "error": {
                "title": title,
                "message": "Validation Error",
                "violations": _violations(exc, "image"),
            }
        }
    if style == "specification":
        return {
            "error": {
                "title": title,
                "message": "Specification Error",
                "violations": _violations(exc, "credentials"),
            }
        }
    if style == "not_found":
        return {"error": {"title": title, "message": "Resource not found"}}
    if style == "denied":
        return {"error": {"title": title, "message": "Access Denied."}}
    if style == "lexik":
        return {"code": 401, "message": exc.message}
    if style == "api_key":
        return {"error": {"message": "Authentication failed", "code": "INVALID_API_KEY"}}
    return {"error": {"title": title, "message": exc.message}}


def _renderer(table: ErrorTable):  # type: ignore[no-untyped-def]
    def render(exc: e.PixvaultError) -> JSONResponse:
        status, style = table.lookup(exc)
        headers = error_headers(exc)
        if style == "lexik":
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(
            _body(style, exc),
            status_code=status,
            headers=headers,
            media_type="application/vnd.api+json" if style != "lexik" else "application/json",
        )

    return render


render_form_error = _renderer(FORM_TABLE)
render_query_error = _renderer(QUERY_TABLE)
