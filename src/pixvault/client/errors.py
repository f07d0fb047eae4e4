"""What can go wrong talking to a pixvault server: the API's own errors, carrying its code
and message, and failures to reach it at all."""

from __future__ import annotations


class PixvaultClientError(Exception):
    """Base of every error `pixvault.client` raises."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ServerUnreachable(PixvaultClientError):
    """No HTTP answer: refused connection, unknown host, timeout, or a URL that is not one."""


class ApiError(PixvaultClientError):
    """The server answered with an error envelope (or, from something that is not pixvault,
    a non-JSON error page: then `code` is `HTTP_<status>`)."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.code} ({self.status}): {self.message}"

    @property
    def retryable(self) -> bool:
        """Worth sending again after a pause: rate limited or the server's own trouble."""
        return self.status == 429 or self.status >= 500


class Unauthorized(ApiError):
    """401: the key is missing, unknown, revoked or expired."""


class Forbidden(ApiError):
    """403: the key may not do this (e.g. a public key writing)."""


class NotFound(ApiError):
    """404: no such image, alias or flow in the key's project."""


class Conflict(ApiError):
    """409: the request clashes with what exists (e.g. an alias already held)."""


class RateLimited(ApiError):
    """429: too many requests; `retry_after` says how long to wait, when the server said."""


class ServerError(ApiError):
    """5xx: the server (or its storage or database) failed; usually worth retrying."""


def error_class(status: int) -> type[ApiError]:
    if status >= 500:
        return ServerError
    return {401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 429: RateLimited}.get(
        status, ApiError
    )


class ConnectionLost(ServerUnreachable):
    """The connection broke mid-request (e.g. the server restarted); worth retrying."""
