"""Statements on `organizations` and `projects`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pixvault.db.rows import now, project_columns
from pixvault.db.tables import organizations, projects

SELECT = select(*project_columns()).join_from(projects, organizations)


async def create(
    conn: AsyncConnection,
    ids: tuple[uuid.UUID, uuid.UUID],
    org_slug: str,
    slug: str,
    name: str,
) -> None:
    """Insert the project (id `ids[1]`), and its organisation (id `ids[0]`) when that is new;
    IntegrityError when the project exists."""
    org_id = await conn.scalar(select(organizations.c.id).where(organizations.c.slug == org_slug))
    if org_id is None:
        org_id = ids[0]
        await conn.execute(insert(organizations).values(id=org_id, slug=org_slug, created_at=now()))
    await conn.execute(
        insert(projects).values(
            id=ids[1], org_id=org_id, slug=slug, name=name, settings={}, created_at=now()
        )
    )


async def by_id(conn: AsyncConnection, project_id: uuid.UUID) -> Row[Any] | None:
    return (await conn.execute(SELECT.where(projects.c.id == project_id))).first()


async def by_slugs(conn: AsyncConnection, org_slug: str, slug: str) -> Row[Any] | None:
    query = SELECT.where(organizations.c.slug == org_slug, projects.c.slug == slug)
    return (await conn.execute(query)).first()


async def all_projects(conn: AsyncConnection) -> Sequence[Row[Any]]:
    return (await conn.execute(SELECT.order_by(projects.c.id))).all()


async def count(conn: AsyncConnection) -> int:
    return await conn.scalar(select(func.count()).select_from(projects)) or 0


async def set_settings(
    conn: AsyncConnection, project_id: uuid.UUID, document: dict[str, Any]
) -> bool:
    result = await conn.execute(
        update(projects).where(projects.c.id == project_id).values(settings=document)
    )
    return result.rowcount > 0
