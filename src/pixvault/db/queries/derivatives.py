"""Statements on `derivatives`: record and touch many, sum a project's, pick the oldest."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from pixvault.db.tables import derivatives, images

_TOUCH = (
    update(derivatives)
    .where(derivatives.c.key == bindparam("k"))
    .values(last_access=bindparam("t"))
)


async def record_many(conn: AsyncConnection, new: list[dict[str, object]]) -> None:
    """Insert rows (key, project_id, image_id, size, last_access), or refresh the rows a
    re-render (after an eviction elsewhere) left behind. Rows are written in batches, so an
    image may have been deleted since its derivative was stored: its rows are dropped (the
    image rows read are locked against deletion until the insert commits)."""
    live = set(
        await conn.scalars(
            select(images.c.id)
            .where(images.c.id.in_({row["image_id"] for row in new}))
            .with_for_update(read=True, key_share=True)
        )
    )
    new = [row for row in new if row["image_id"] in live]
    if not new:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(derivatives)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["key"],
            set_={"size": statement.excluded.size, "last_access": statement.excluded.last_access},
        ),
        new,
    )


async def touch(conn: AsyncConnection, accesses: dict[str, datetime]) -> None:
    await conn.execute(_TOUCH, [{"k": key, "t": moment} for key, moment in accesses.items()])


async def stored_bytes(conn: AsyncConnection, project_id: uuid.UUID) -> int:
    total = await conn.scalar(
        select(func.coalesce(func.sum(derivatives.c.size), 0)).where(
            derivatives.c.project_id == project_id
        )
    )
    return int(total or 0)


async def oldest(conn: AsyncConnection, project_id: uuid.UUID, limit: int) -> Sequence[Row]:
    """(key, size) of the least recently used derivatives first."""
    result = await conn.execute(
        select(derivatives.c.key, derivatives.c.size)
        .where(derivatives.c.project_id == project_id)
        .order_by(derivatives.c.last_access, derivatives.c.key)
        .limit(limit)
    )
    return result.all()


async def forget(conn: AsyncConnection, keys: Sequence[str]) -> None:
    await conn.execute(delete(derivatives).where(derivatives.c.key.in_(keys)))
