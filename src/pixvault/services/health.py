"""Readiness: can this process reach its database, and write and read its blob store?"""

from pixvault.db.engine import Database
from pixvault.domain.errors import PixvaultError
from pixvault.storage import BlobStore


async def readiness(db: Database, blobs: BlobStore) -> dict[str, str]:
    """`{"database": "ok" | reason, "storage": "ok" | reason}`."""
    checks = {"database": "ok", "storage": "ok"}
    try:
        await db.ping()
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        await blobs.check_writable()
    except PixvaultError as exc:
        checks["storage"] = f"unreachable: {exc.message}"
    return checks
