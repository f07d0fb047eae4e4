"""The native (Banatie) error envelope `{success: false, error: {code, message}}` and the
status and code of every core error on this surface (CDN URLs included)."""

from fastapi.responses import JSONResponse

from pixvault.domain import errors as e
from pixvault.http.common.errors import ErrorTable, error_headers

TABLE = ErrorTable(
    {
        e.InvalidAlias: (400, "ALIAS_FORMAT_CHECK"),
        e.InvalidImage: (400, "INVALID_IMAGE"),
        e.ImageTooLarge: (400, "IMAGE_TOO_LARGE"),
        e.SourceTooLarge: (400, "SOURCE_TOO_LARGE"),
        e.OutputTooLarge: (400, "OUTPUT_TOO_LARGE"),
        e.UnsupportedType: (400, "UNSUPPORTED_FILE_TYPE"),
        e.InvalidInput: (400, "VALIDATION_ERROR"),
        # Seed 001 reports an oversized file as a 400 like any other refused upload.
        e.FileTooLarge: (400, "FILE_TOO_LARGE"),
        e.Unauthenticated: (401, "UNAUTHORIZED"),
        e.PresetsOnly: (403, "PRESETS_ONLY"),
        e.InvalidSignature: (403, "INVALID_SIGNATURE"),
        e.BootstrapClosed: (403, "BOOTSTRAP_CLOSED"),
        e.Forbidden: (403, "FORBIDDEN"),
        e.ImageNotFound: (404, "IMAGE_NOT_FOUND"),
        e.AliasNotFound: (404, "ALIAS_NOT_FOUND"),
        e.FlowNotFound: (404, "FLOW_NOT_FOUND"),
        e.ProjectNotFound: (404, "PROJECT_NOT_FOUND"),
        e.KeyNotFound: (404, "KEY_NOT_FOUND"),
        e.NotFound: (404, "NOT_FOUND"),
        e.MethodNotAllowed: (405, "METHOD_NOT_ALLOWED"),
        e.ProjectExists: (409, "PROJECT_EXISTS"),
        e.Conflict: (409, "CONFLICT"),
        e.RangeNotSatisfiable: (416, "RANGE_NOT_SATISFIABLE"),
        e.RenderQueueFull: (429, "RENDER_QUEUE_FULL"),
        e.RenderRateLimited: (429, "RATE_LIMITED"),
        e.RenderTimedOut: (503, "RENDER_TIMEOUT"),
        e.Overloaded: (429, "OVERLOADED"),
        e.RequestTimeout: (408, "REQUEST_TIMEOUT"),
        e.StorageUnavailable: (503, "STORAGE_UNAVAILABLE"),
        e.PixvaultError: (400, "VALIDATION_ERROR"),
    },
    protocol_code="HTTP_ERROR",
)


def render_error(exc: e.PixvaultError) -> JSONResponse:
    status, code = TABLE.lookup(exc)
    return JSONResponse(
        {"success": False, "error": {"code": code, "message": exc.message}},
        status_code=status,
        headers=error_headers(exc),
    )
