"""Statements on `change_epochs`."""

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pixvault.db.tables import change_epochs

CURRENT = select(change_epochs.c.value).where(change_epochs.c.name == bindparam("name"))


async def current(conn: AsyncConnection, name: str) -> int:
    return await conn.scalar(CURRENT, {"name": name}) or 0


async def bump(conn: AsyncConnection, name: str) -> None:
    await conn.execute(
        update(change_epochs)
        .where(change_epochs.c.name == name)
        .values(value=change_epochs.c.value + 1)
    )
