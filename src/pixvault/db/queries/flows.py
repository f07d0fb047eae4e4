"""Statements on `flows` and `flow_aliases`.

Flow ids are names within a project: a row is keyed by (project_id, id), so two projects may
each have a flow with the same id and neither can see, claim or change the other's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from pixvault.db.queries.images import live
from pixvault.db.rows import now
from pixvault.db.tables import flow_aliases, flows, images


def _mine(project_id: uuid.UUID, flow_id: uuid.UUID) -> tuple[Any, Any]:
    return flows.c.project_id == project_id, flows.c.id == flow_id


async def claim(conn: AsyncConnection, project_id: uuid.UUID, flow_id: uuid.UUID) -> None:
    """Make sure a (pending) flow id has its row in this project (idempotent, race-free)."""
    moment = now()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(
        insert(flows)
        .values(id=flow_id, project_id=project_id, meta={}, created_at=moment, updated_at=moment)
        .on_conflict_do_nothing(index_elements=["project_id", "id"])
    )


async def set_alias(
    conn: AsyncConnection,
    project_id: uuid.UUID,
    flow_id: uuid.UUID,
    alias: str,
    image_id: uuid.UUID,
) -> None:
    await conn.execute(delete(flow_aliases).where(*_alias_of(project_id, flow_id, alias)))
    await conn.execute(
        flow_aliases.insert().values(
            project_id=project_id, flow_id=flow_id, alias=alias, image_id=image_id
        )
    )
    await conn.execute(update(flows).where(*_mine(project_id, flow_id)).values(updated_at=now()))


def _alias_of(project_id: uuid.UUID, flow_id: uuid.UUID, alias: str) -> tuple[Any, Any, Any]:
    return (
        flow_aliases.c.project_id == project_id,
        flow_aliases.c.flow_id == flow_id,
        flow_aliases.c.alias == alias,
    )


async def remove_alias(
    conn: AsyncConnection, project_id: uuid.UUID, flow_id: uuid.UUID, alias: str
) -> bool:
    result = await conn.execute(delete(flow_aliases).where(*_alias_of(project_id, flow_id, alias)))
    return result.rowcount > 0


async def delete_flow(conn: AsyncConnection, project_id: uuid.UUID, flow_id: uuid.UUID) -> None:
    await conn.execute(
        delete(flow_aliases).where(
            flow_aliases.c.project_id == project_id, flow_aliases.c.flow_id == flow_id
        )
    )
    await conn.execute(delete(flows).where(*_mine(project_id, flow_id)))


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
            select(flows).where(flows.c.project_id == project_id, flows.c.id.in_(ids))
        )
    ).all()
    alias_rows = (
        await conn.execute(
            select(flow_aliases)
            .where(flow_aliases.c.project_id == project_id, flow_aliases.c.flow_id.in_(ids))
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
