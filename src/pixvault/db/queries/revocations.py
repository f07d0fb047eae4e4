"""Statements on `url_revocations`."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pixvault.db.rows import now
from pixvault.db.tables import url_revocations


async def add(
    conn: AsyncConnection,
    project_id: uuid.UUID,
    kind: str,
    value: str,
    expires_at: datetime | None,
) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(
                url_revocations.insert().values(
                    project_id=project_id,
                    kind=kind,
                    value=value,
                    expires_at=expires_at,
                    created_at=now(),
                )
            )
    except IntegrityError:
        pass  # revoked already


async def live(conn: AsyncConnection, project_id: uuid.UUID) -> set[tuple[str, str]]:
    """(kind, value) of the project's revocations that still matter."""
    moment = now()
    query = select(url_revocations.c.kind, url_revocations.c.value).where(
        url_revocations.c.project_id == project_id,
        or_(url_revocations.c.expires_at.is_(None), url_revocations.c.expires_at > moment),
    )
    return {(r.kind, r.value) for r in await conn.execute(query)}


async def forget_path(conn: AsyncConnection, project_id: uuid.UUID, path: str) -> None:
    """A deleted asset's path is free again, revocation included."""
    await conn.execute(
        delete(url_revocations).where(
            url_revocations.c.project_id == project_id,
            url_revocations.c.kind == "path",
            url_revocations.c.value == path,
        )
    )
