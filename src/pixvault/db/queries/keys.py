"""Statements on `api_keys`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pixvault.db.rows import project_columns
from pixvault.db.tables import api_keys, organizations, projects

# The key's project comes with the key in one query: every API request runs it.
BY_HASH_WITH_PROJECT = (
    select(api_keys, *project_columns("p_"))
    .select_from(api_keys.outerjoin(projects).outerjoin(organizations))
    .where(api_keys.c.key_hash == bindparam("key_hash"))
)


async def insert_key(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(api_keys).values(**values))


async def by_id(conn: AsyncConnection, key_id: uuid.UUID) -> Row[Any] | None:
    return (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()


async def by_hash(conn: AsyncConnection, key_hash: str) -> Row[Any] | None:
    return (await conn.execute(BY_HASH_WITH_PROJECT, {"key_hash": key_hash})).first()


async def by_id_range(
    conn: AsyncConnection, low: uuid.UUID, high: uuid.UUID, limit: int
) -> Sequence[Row[Any]]:
    """Up to `limit` keys whose id lies in [low, high]: the ids sharing a hex prefix form one
    range, which the primary key serves on both databases (no text cast)."""
    query = (
        select(api_keys)
        .where(api_keys.c.id >= low, api_keys.c.id <= high)
        .order_by(api_keys.c.id)
        .limit(limit)
    )
    return (await conn.execute(query)).all()


async def listed(conn: AsyncConnection, project_id: uuid.UUID | None) -> Sequence[Row[Any]]:
    query = select(api_keys).order_by(api_keys.c.id)
    if project_id is not None:
        query = query.where(api_keys.c.project_id == project_id)
    return (await conn.execute(query)).all()


async def revoke(conn: AsyncConnection, key_id: uuid.UUID, moment: datetime) -> bool:
    """Mark the key revoked; False when it does not exist or was revoked already."""
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=moment)
    )
    return result.rowcount > 0


async def count(conn: AsyncConnection) -> int:
    return await conn.scalar(select(func.count()).select_from(api_keys)) or 0


async def touch(conn: AsyncConnection, key_id: uuid.UUID, moment: datetime) -> None:
    await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=moment))
