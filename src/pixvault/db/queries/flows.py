"""Statements on `flows` and `flow_aliases`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pixvault.db.queries.images import live
from pixvault.db.rows import now
from pixvault.db.tables import flow_aliases, flows, images


async def owner(conn: AsyncConnection, flow_id: uuid.UUID) -> uuid.UUID | None:
    """The project a flow row belongs to, or None when it has no row (yet)."""
    return await conn.scalar(select(flows.c.project_id).where(flows.c.id == flow_id))


async def claim(conn: AsyncConnection, project_id: uuid.UUID, flow_id: uuid.UUID) -> bool:
    """Make sure a (pending) flow id has its row in this project; False when the id belongs
    to another project."""
    found = await owner(conn, flow_id)
    if found is None:
        await _create(conn, project_id, flow_id)
        return True
    return found == project_id


async def _create(conn: AsyncConnection, project_id: uuid.UUID, flow_id: uuid.UUID) -> None:
    moment = now()
    await conn.execute(
        insert(flows).values(
            id=flow_id, project_id=project_id, meta={}, created_at=moment, updated_at=moment
        )
    )


async def set_alias(
    conn: AsyncConnection, flow_id: uuid.UUID, alias: str, image_id: uuid.UUID
) -> None:
    await conn.execute(
        delete(flow_aliases).where(flow_aliases.c.flow_id == flow_id, flow_aliases.c.alias == alias)
    )
    await conn.execute(insert(flow_aliases).values(flow_id=flow_id, alias=alias, image_id=image_id))
    await conn.execute(update(flows).where(flows.c.id == flow_id).values(updated_at=now()))


async def remove_alias(conn: AsyncConnection, flow_id: uuid.UUID, alias: str) -> bool:
    result = await conn.execute(
        delete(flow_aliases).where(flow_aliases.c.flow_id == flow_id, flow_aliases.c.alias == alias)
    )
    return result.rowcount > 0


async def delete_flow(conn: AsyncConnection, flow_id: uuid.UUID) -> None:
    await conn.execute(delete(flows).where(flows.c.id == flow_id))


async def page_ids(
    conn: AsyncConnection, project_id: uuid.UUID, limit: int, offset: int
) -> Sequence[uuid.UUID]:
    query = (
        select(flows.c.id)
        .where(flows.c.project_id == project_id)
        .order_by(flows.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return (await conn.scalars(query)).all()


async def count(conn: AsyncConnection, project_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(flows).where(flows.c.project_id == project_id)
    return await conn.scalar(query) or 0


async def load_many(
    conn: AsyncConnection, project_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> tuple[Sequence[Row[Any]], Sequence[Row[Any]], dict[uuid.UUID, int]]:
    """Flow rows, their alias rows and live image counts: three queries for any page."""
    rows = (
        await conn.execute(
            select(flows).where(flows.c.id.in_(ids), flows.c.project_id == project_id)
        )
    ).all()
    alias_rows = (
        await conn.execute(
            select(flow_aliases)
            .where(flow_aliases.c.flow_id.in_(ids))
            .order_by(flow_aliases.c.alias)
        )
    ).all()
    counts = dict(
        (
            await conn.execute(
                select(images.c.flow_id, func.count())
                .where(live(project_id), images.c.flow_id.in_(ids))
                .group_by(images.c.flow_id)
            )
        ).all()
    )
    return rows, alias_rows, counts
