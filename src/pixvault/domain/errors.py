"""Errors raised by the core.

Each carries a stable machine code, an HTTP status and a message a user can act on.
API surfaces render them into their own envelopes; the core never formats responses.
"""


class PixvaultError(Exception):
    """Base of every error a client may see."""

    status: int = 400
    code: str = "VALIDATION_ERROR"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.param = param
        self.headers: dict[str, str] = {}


class InvalidInput(PixvaultError):
    status = 400
    code = "VALIDATION_ERROR"


class Unauthorized(PixvaultError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(PixvaultError):
    status = 403
    code = "FORBIDDEN"


class NotFound(PixvaultError):
    status = 404
    code = "NOT_FOUND"


class Conflict(PixvaultError):
    status = 409
    code = "CONFLICT"


class PayloadTooLarge(PixvaultError):
    """Too large for the configured limit; the native contract reports it as 400."""

    status = 400
    code = "FILE_TOO_LARGE"


class UnsupportedType(PixvaultError):
    status = 400
    code = "UNSUPPORTED_FILE_TYPE"


class RangeNotSatisfiable(PixvaultError):
    status = 416
    code = "RANGE_NOT_SATISFIABLE"


class Busy(PixvaultError):
    """The render queue is full: the client should retry after `retry_after` seconds."""

    status = 429
    code = "RENDER_QUEUE_FULL"

    def __init__(self, message: str, *, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after
        self.headers["Retry-After"] = str(retry_after)


class StorageUnavailable(PixvaultError):
    status = 503
    code = "STORAGE_UNAVAILABLE"
