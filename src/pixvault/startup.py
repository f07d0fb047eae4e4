"""Start-up and command-line failures in one or two lines that say what is wrong and what to
change, instead of a traceback: bad settings, a database that cannot be reached or does not
exist, a schema this version does not run on, a data directory that cannot be written, a blob
store that belongs to another database."""

from __future__ import annotations

import errno

import asyncpg
from pydantic import ValidationError

from pixvault.db.migrate import SchemaMismatch
from pixvault.domain.errors import PixvaultError
from pixvault.services.claim import StoreClaimed


def explain(exc: BaseException, database_url: str | None = None) -> str | None:
    """What to tell the operator about `exc` (or what it wraps: drivers' errors arrive inside
    SQLAlchemy's), or None for a bug (let it show)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 6:
        seen.append(current)
        message = _explain_one(current, database_url)
        if message is not None:
            return message
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return None


def _explain_one(exc: BaseException, database_url: str | None) -> str | None:
    if isinstance(exc, PixvaultError | SchemaMismatch | StoreClaimed):
        return str(exc)
    if isinstance(exc, ValidationError):
        return "; ".join(_setting(error) for error in exc.errors())
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{exc}: create it (e.g. `createdb NAME`) or fix PIXVAULT_DATABASE_URL"
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return f"The database refused the credentials ({exc}); fix PIXVAULT_DATABASE_URL"
    if isinstance(exc, OSError):
        return _os_error(exc, database_url)
    return None


def _setting(error: dict) -> str:  # type: ignore[type-arg]
    name = "PIXVAULT_" + "_".join(str(p) for p in error["loc"]).upper()
    given = error.get("input")
    shown = "" if isinstance(given, dict) else f" (got {given!r})"
    return f"{name}: {error['msg'].removeprefix('Value error, ')}{shown}"


def _os_error(exc: OSError, database_url: str | None) -> str:
    where = f" at {database_url}" if database_url else ""
    if exc.errno == errno.ECONNREFUSED or isinstance(exc, ConnectionRefusedError):
        return (
            f"Cannot reach the database{where}: connection refused. Start PostgreSQL or fix "
            "PIXVAULT_DATABASE_URL"
        )
    if exc.errno in (errno.EACCES, errno.EROFS, errno.ENOTDIR, errno.EPERM):
        return (
            f"Cannot write {exc.filename or 'the data directory'} ({exc.strerror}): choose a "
            "writable PIXVAULT_DATA_DIR (or PIXVAULT_UPLOAD_SPOOL_DIR)"
        )
    return f"{exc.strerror or exc}{where}"
