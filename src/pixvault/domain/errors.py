"""Errors raised by the core, one type per meaning.

Each carries a message a user can act on (built here, once per meaning) and, where it helps,
the request parameter it concerns. No type knows an HTTP status or a contract's error code:
every API surface maps types to its own `(status, code)` in a table of its own (see
`http/*/errors.py`), so one core error looks native to whichever API the client speaks.
Surfaces look types up along the class hierarchy, so a surface that does not distinguish,
say, `AliasNotFound` from `NotFound` maps only the parent.
"""

from __future__ import annotations

import uuid


class PixvaultError(Exception):
    """Base of every error a client may see."""

    def __init__(self, message: str, *, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param


# -- the request is wrong ------------------------------------------------------------------


class InvalidInput(PixvaultError):
    """A parameter or field has a value the core refuses."""


class Violations(InvalidInput):
    """Several fields are wrong at once: every (field, message) is reported."""

    def __init__(self, problems: list[InvalidInput]):
        super().__init__("; ".join(p.message for p in problems), param=problems[0].param)
        self.problems = problems


class InvalidAlias(InvalidInput):
    """An alias that breaks the alias grammar or names a technical alias."""


class UnsupportedType(InvalidInput):
    """The bytes are not of a type this operation accepts (decided from the bytes)."""


class InvalidImage(InvalidInput):
    """The bytes claim an image type but are truncated or corrupt."""

    def __init__(self, mime: str):
        super().__init__(
            f"The file looks like {mime} but is truncated or corrupt; upload a complete image",
            param="file",
        )


class ImageTooLarge(InvalidInput):
    """An upload's pixel count is over the source limit (read from the header)."""

    def __init__(self, width: int, height: int, limit: int):
        super().__init__(
            f"The image is {width}x{height} ({width * height} pixels); "
            f"at most {limit} pixels are accepted",
            param="file",
        )


class TooManyFrames(ImageTooLarge):
    """An animation with more frames than a render may decode."""

    def __init__(self, frames: int, limit: int):
        InvalidInput.__init__(
            self,
            f"The animation has {frames} frames; at most {limit} are accepted",
            param="file",
        )


class SourceTooLarge(InvalidInput):
    """A stored source has more pixels (all frames) than a render may decode."""

    def __init__(self, width: int, height: int, pages: int, limit: int):
        super().__init__(
            f"source image has {width * height * pages} pixels "
            f"({width}x{height}x{pages} frames), over the limit of {limit}"
        )


class OutputTooLarge(InvalidInput):
    """A transform would produce more pixels than the output limits allow."""

    def __init__(self, width: int, height: int, max_side: int, max_area: int):
        super().__init__(
            f"the output would be {width}x{height} pixels, over the limits "
            f"({max_side} per side, {max_area} in area); request a smaller w or h"
        )


class RenderTooLarge(OutputTooLarge):
    """A render would need more memory than one render may use (source, frames, encoder)."""

    def __init__(self, what: str, needed: int, limit: int, hint: str):
        mb = 1024 * 1024
        InvalidInput.__init__(
            self,
            f"rendering {what} needs about {needed // mb} MB, over the limit of {limit // mb} "
            f"MB per render; {hint}",
        )


class FileTooLarge(PixvaultError):
    """An upload crossed the size limit of the policy it was sent under."""

    def __init__(self, limit: int):
        unit = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
        super().__init__(
            f"The file is too large (over {unit}). Allowed maximum size is {unit}; "
            "upload a smaller file",
            param="file",
        )
        self.limit = limit


class RangeNotSatisfiable(PixvaultError):
    """A byte range outside the body, or more than one range."""

    def __init__(self, message: str, *, size: int):
        super().__init__(message)
        self.size = size


# -- who is asking -------------------------------------------------------------------------


class Unauthenticated(PixvaultError):
    """No credential, or one that is unknown, revoked or expired."""


class TokenMissing(Unauthenticated):
    """A route that needs a signed-in user got no access token."""

    def __init__(self) -> None:
        super().__init__("JWT Token not found")


class TokenInvalid(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("Invalid JWT Token")


class TokenExpired(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("Expired JWT Token")


class KeyRejected(Unauthenticated):
    """An API key that is missing, unknown, revoked, expired, or not valid here."""


class InvalidCredentials(Unauthenticated):
    """Sign-in failed: unknown user or wrong password (never says which)."""

    def __init__(self, message: str = "Invalid credentials.") -> None:
        super().__init__(message, param="credentials")


class InvalidRefreshToken(InvalidCredentials):
    def __init__(self) -> None:
        super().__init__("Invalid or expired refresh token.")


class TooManyAttempts(PixvaultError):
    """Too many failed sign-ins for this account or address: wait `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"Too many failed sign-in attempts; try again in {retry_after} seconds")
        self.retry_after = retry_after


class Forbidden(PixvaultError):
    """The caller is known but may not do this."""


class NotOwner(Forbidden):
    def __init__(self) -> None:
        super().__init__("Access Denied.")


class RegistrationClosed(Forbidden):
    def __init__(self) -> None:
        super().__init__("Sign up is not allowed")


class GuestUploadsClosed(Forbidden):
    def __init__(self) -> None:
        super().__init__("Guest uploads are not allowed on this instance; sign in to upload")


class PresetsOnly(Forbidden):
    def __init__(self, presets: list[str]):
        super().__init__(
            "This project serves named presets only: use ?preset=NAME "
            f"(available: {', '.join(sorted(presets)) or 'none'})"
        )


class InvalidSignature(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "This project requires signed transform URLs: add s=SIGNATURE "
            "(HMAC-SHA256 of PATH?CANONICAL_TRANSFORM, see README)"
        )


class BootstrapClosed(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "Bootstrap is closed: keys already exist. Create keys with a master key "
            "(POST /api/v1/admin/keys) or `pixvault keys create`"
        )


# -- what is asked for does not exist ------------------------------------------------------


class NotFound(PixvaultError):
    """Something named by the request does not exist (or belongs to another tenant)."""


class ImageNotFound(NotFound):
    def __init__(self, ref: str | uuid.UUID):
        super().__init__(f"Image {ref} not found in this project")


class AliasNotFound(NotFound):
    def __init__(self, alias: str, *, flow_id: uuid.UUID | None = None, in_map: bool = False):
        if in_map:
            message = f"Flow {flow_id} has no alias {alias}"
        else:
            scope = f" in flow {flow_id}" if flow_id else ""
            message = f"Alias {alias} does not resolve to any image{scope}"
        super().__init__(message)


class FlowNotFound(NotFound):
    def __init__(self, flow_id: uuid.UUID):
        super().__init__(f"Flow {flow_id} not found in this project")


class ProjectNotFound(NotFound):
    def __init__(self, ref: str | uuid.UUID):
        super().__init__(f"Project {ref} not found")


class VaultNotFound(NotFound):
    def __init__(self, ref: str):
        super().__init__(f"Vault {ref} not found")


class RevokedUrl(Forbidden):
    def __init__(self) -> None:
        super().__init__("This URL was revoked")


class BadUrlToken(Forbidden):
    """A signed URL whose token is missing, wrong, expired or for other parameters."""


class UserNotFound(NotFound):
    def __init__(self, ref: str | uuid.UUID):
        super().__init__(f"User {ref} not found")


class KeyNotFound(NotFound):
    def __init__(self, key_id: uuid.UUID | str):
        if isinstance(key_id, str):  # a prefix of an id
            super().__init__(f"No API key id is or starts with {key_id!r}; list the keys for it")
        else:
            super().__init__(f"API key {key_id} not found")


class AmbiguousKeyPrefix(InvalidInput):
    """A shortened key id that more than one key's id starts with."""

    def __init__(self, prefix: str, matches: list[uuid.UUID]):
        many = "more than 5" if len(matches) > 5 else str(len(matches))
        shown = ", ".join(str(m) for m in matches[:5])
        super().__init__(
            f"Key id prefix {prefix!r} matches {many} keys ({shown}); give more of the id",
            param="keyId",
        )


class RouteNotFound(NotFound):
    def __init__(self, method: str, path: str):
        super().__init__(f"No endpoint answers {method} {path}; see /docs for the API")


class MethodNotAllowed(PixvaultError):
    def __init__(self, method: str, path: str, allowed: list[str]):
        super().__init__(f"{path} does not accept {method}; use {', '.join(allowed) or 'none'}")
        self.allowed = allowed


# -- state conflicts -----------------------------------------------------------------------


class Conflict(PixvaultError):
    """The request clashes with what exists."""


class EmailTaken(Conflict):
    def __init__(self, email: str):
        super().__init__(f"The email {email} is already registered", param="email")


class UsernameTaken(Conflict):
    def __init__(self, username: str):
        super().__init__(f"The username {username} is already taken", param="username")


class PathTaken(Conflict):
    """A file already lives at this folder path; nothing is overwritten."""

    def __init__(self, path: str):
        super().__init__(f"An asset already exists at {path}; delete it first or use another name")


class ProjectExists(Conflict):
    def __init__(self, path: str):
        super().__init__(f"Project {path} already exists")


class DumpInvalid(InvalidInput):
    """A dump (`pixvault import`) that is incomplete, corrupted or not pixvault's: names the
    file that failed; nothing has been imported."""

    def __init__(self, file: str, problem: str):
        super().__init__(f"The dump is refused, nothing was imported: {file} {problem}")
        self.file = file


class ImportConflict(Conflict):
    """A dumped row clashes with a different row the target database already holds."""


# -- the service cannot do it now ----------------------------------------------------------


class RenderQueueFull(PixvaultError):
    """The render queue is full: retry after `retry_after` seconds."""

    def __init__(self, pending: int, *, retry_after: int = 1):
        super().__init__(f"The render queue is full ({pending} renders pending); retry shortly")
        self.retry_after = retry_after


class Overloaded(PixvaultError):
    """This process already has as much work in flight (and waiting) as it may take."""

    def __init__(self, retry_after: int = 1):
        super().__init__(
            f"The server is at capacity and did not start this request; retry in {retry_after} "
            "seconds (nothing was done)"
        )
        self.retry_after = retry_after


class RequestTimeout(PixvaultError):
    """The client stopped sending its request body."""

    def __init__(self, seconds: float):
        super().__init__(
            f"No part of the request body arrived for {seconds:g} seconds; send the body "
            "without pauses (nothing was stored)"
        )


class RenderRateLimited(PixvaultError):
    """One client asked for more new derivatives than its allowance per minute."""

    def __init__(self, retry_after: int):
        super().__init__(
            "Too many new image variants requested from your address; retry in "
            f"{retry_after} seconds (variants already made are not limited)"
        )
        self.retry_after = retry_after


class RenderTimedOut(PixvaultError):
    """A new derivative was not ready within the render timeout; it is still being made."""

    def __init__(self, seconds: float, *, retry_after: int):
        super().__init__(
            f"The image variant was not ready within {seconds:g} seconds; it is still being "
            f"rendered, retry in {retry_after} seconds"
        )
        self.retry_after = retry_after


class StorageUnavailable(PixvaultError):
    """The blob store failed for a reason other than a missing object."""
