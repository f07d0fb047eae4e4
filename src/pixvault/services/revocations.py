"""Revoked signed URLs (by token) and revoked asset paths (every delivery URL of the path).

Each process keeps a project's revocations for the lookup-cache time: a revocation takes
effect at once in the process that made it and within `LOOKUP_CACHE_SECONDS` elsewhere.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pixvault.db.engine import Database
from pixvault.db.queries import revocations as rows
from pixvault.domain.text import plain
from pixvault.services.lookup import LookupCache


class RevocationService:
    def __init__(self, db: Database, *, lookup_cache_seconds: float):
        self.db = db
        self._live: LookupCache[uuid.UUID, frozenset[tuple[str, str]]] = LookupCache(
            lookup_cache_seconds, maxsize=1024
        )

    async def revoke_token(self, project_id: uuid.UUID, token: str, expires: datetime) -> None:
        plain(token, "token")  # no signed URL has such a token
        await self._add(project_id, "token", token.rstrip("="), expires)

    async def revoke_path(self, project_id: uuid.UUID, path: str) -> None:
        await self._add(project_id, "path", path, None)

    async def forget_path(self, project_id: uuid.UUID, path: str) -> None:
        async with self.db.write() as conn:
            await rows.forget_path(conn, project_id, path)
        self._live.clear()

    async def _add(
        self, project_id: uuid.UUID, kind: str, value: str, expires: datetime | None
    ) -> None:
        async with self.db.write() as conn:
            await rows.add(conn, project_id, kind, value, expires)
        self._live.clear()

    async def revoked(self, project_id: uuid.UUID, *, path: str, token: str | None) -> bool:
        live = await self._live.get(project_id, lambda: self._load(project_id))
        return ("path", path) in live or (
            token is not None and ("token", token.rstrip("=")) in live
        )

    async def _load(self, project_id: uuid.UUID) -> frozenset[tuple[str, str]]:
        async with self.db.read() as conn:
            return frozenset(await rows.live(conn, project_id))
