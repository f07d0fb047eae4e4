"""The vault (imgbt) error envelope `{"error": {"code", "message", "status"}}` and the status
and code of every core error on this surface, delivery URLs included."""

from fastapi.responses import JSONResponse

from pixvault.domain import errors as e
from pixvault.http.common.errors import ErrorTable, error_headers

TABLE = ErrorTable(
    {
        e.InvalidInput: (400, "INVALID_PARAMS"),
        e.FileTooLarge: (413, "PAYLOAD_TOO_LARGE"),
        e.Unauthenticated: (401, "UNAUTHORIZED"),
        e.Forbidden: (403, "FORBIDDEN"),
        e.ImageNotFound: (404, "ASSET_NOT_FOUND"),
        e.NotFound: (404, "NOT_FOUND"),
        e.MethodNotAllowed: (405, "METHOD_NOT_ALLOWED"),
        e.Conflict: (409, "CONFLICT"),
        e.RangeNotSatisfiable: (416, "RANGE_NOT_SATISFIABLE"),
        e.RenderQueueFull: (429, "RATE_LIMITED"),
        e.RenderRateLimited: (429, "RATE_LIMITED"),
        e.RenderTimedOut: (503, "RENDER_TIMEOUT"),
        e.TooManyAttempts: (429, "RATE_LIMITED"),
        e.Overloaded: (429, "RATE_LIMITED"),
        e.RequestTimeout: (408, "REQUEST_TIMEOUT"),
        e.StorageUnavailable: (503, "STORAGE_UNAVAILABLE"),
        e.PixvaultError: (400, "INVALID_PARAMS"),
    },
    protocol_code="INVALID_PARAMS",
)


def render_error(exc: e.PixvaultError) -> JSONResponse:
    status, code = TABLE.lookup(exc)
    return JSONResponse(
        {"error": {"code": code, "message": exc.message, "status": status}},
        status_code=status,
        headers=error_headers(exc),
    )
