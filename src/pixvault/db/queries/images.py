"""Statements on `images`: lookups by id, alias and folder path, offset and keyset pages,
search, and the writes that keep aliases and the project counters consistent."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from pixvault.db.queries import users as user_rows
from pixvault.db.queries.json_tags import TagLike
from pixvault.db.rows import now
from pixvault.db.tables import flow_aliases, images, projects
from pixvault.domain.paging import ImageFilter, Keyset, Order


def live(project_id: uuid.UUID) -> ColumnElement[bool]:
    return and_(images.c.project_id == project_id, images.c.deleted_at.is_(None))


# Built once: the public lookups run on every cold request, and building and hashing a fresh
# statement each time costs about as much CPU as executing it.
ANY_BY_ID = select(images).where(
    images.c.project_id == bindparam("project_id"), images.c.id == bindparam("ref")
)
LIVE_BY_ID = ANY_BY_ID.where(images.c.deleted_at.is_(None))
LIVE_BY_ALIAS = select(images).where(
    images.c.project_id == bindparam("project_id"),
    images.c.deleted_at.is_(None),
    images.c.alias == bindparam("ref"),
)
LIVE_BY_FOLDER_PATH = select(images).where(
    images.c.project_id == bindparam("project_id"),
    images.c.deleted_at.is_(None),
    images.c.partition == bindparam("partition"),
    images.c.collection == bindparam("collection"),
    images.c.channel == bindparam("channel"),
    images.c.filename == bindparam("filename"),
)


async def by_id(
    conn: AsyncConnection, project_id: uuid.UUID, image_id: uuid.UUID, *, include_deleted: bool
) -> Row[Any] | None:
    query = ANY_BY_ID if include_deleted else LIVE_BY_ID
    return (await conn.execute(query, {"project_id": project_id, "ref": image_id})).first()


async def by_alias(conn: AsyncConnection, project_id: uuid.UUID, alias: str) -> Row[Any] | None:
    return (await conn.execute(LIVE_BY_ALIAS, {"project_id": project_id, "ref": alias})).first()


async def by_folder_path(
    conn: AsyncConnection, project_id: uuid.UUID, folders: tuple[str, str, str], filename: str
) -> Row[Any] | None:
    partition, collection, channel = folders
    params = {
        "project_id": project_id,
        "partition": partition,
        "collection": collection,
        "channel": channel,
        "filename": filename,
    }
    return (await conn.execute(LIVE_BY_FOLDER_PATH, params)).first()


async def by_ids(
    conn: AsyncConnection, project_id: uuid.UUID, image_ids: list[uuid.UUID]
) -> Sequence[Row[Any]]:
    query = select(images).where(live(project_id), images.c.id.in_(image_ids))
    return (await conn.execute(query)).all()


def technical(project_id: uuid.UUID, flow_id: uuid.UUID, ref: str) -> Select[Any]:
    """`@last`, `@first` or `@upload` of a flow."""
    query = select(images).where(live(project_id), images.c.flow_id == flow_id)
    if ref == "@upload":
        query = query.where(images.c.source == "uploaded")
    order = images.c.id.asc() if ref == "@first" else images.c.id.desc()
    return query.order_by(order).limit(1)


def by_flow_alias(project_id: uuid.UUID, flow_id: uuid.UUID, alias: str) -> Select[Any]:
    return (
        select(images)
        .join(flow_aliases, flow_aliases.c.image_id == images.c.id)
        .where(
            live(project_id),
            flow_aliases.c.project_id == project_id,
            flow_aliases.c.flow_id == flow_id,
            flow_aliases.c.alias == alias,
        )
    )


# -- lists ---------------------------------------------------------------------------------


def _escape_like(term: str) -> str:
    """`%` and `_` in a search term match themselves."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def matching(project_id: uuid.UUID, only: ImageFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [images.c.project_id == project_id]
    if not only.include_deleted:
        where.append(images.c.deleted_at.is_(None))
    if only.flow_id is not None:
        where.append(images.c.flow_id == only.flow_id)
    if only.source is not None:
        where.append(images.c.source == only.source)
    if only.alias is not None:
        where.append(images.c.alias == only.alias)
    if only.owner_id is not None:
        where.append(images.c.owner_id == only.owner_id)
    if only.sha256 is not None:
        where.append(images.c.sha256 == only.sha256)
    if only.public_only:
        where.append(images.c.is_public.is_(True))
    if only.private_only:
        where.append(images.c.is_public.is_(False))
    if only.in_folders:
        where.append(images.c.partition.is_not(None))
    for level in ("partition", "collection", "channel"):
        value = getattr(only, level)
        if value is not None:
            where.append(images.c[level] == value)
    if only.search:
        pattern = f"%{_escape_like(only.search.lower())}%"
        where.append(or_(*_searched(only.search_in, pattern)))
    return where


def _searched(fields: frozenset[str], pattern: str) -> list[ColumnElement[bool]]:
    columns = {
        "filename": images.c.filename,
        "description": images.c.description,
        "alias": images.c.alias,
    }
    found: list[ColumnElement[bool]] = [
        func.lower(column).like(pattern, escape="\\")
        for name, column in columns.items()
        if name in fields
    ]
    if "tags" in fields:
        found.append(TagLike(images.c.tags, literal(pattern)))
    if "owner" in fields:
        found.append(images.c.owner_id.in_(user_rows.matching_names(pattern)))
    return found


def offset_page(
    project_id: uuid.UUID, only: ImageFilter, limit: int, offset: int, order: Order | None = None
) -> Select[Any]:
    """Newest first by default (ids are time ordered); other orders break ties by id."""
    if order is None or order == Order():
        ordering = [images.c.id.desc()]
    else:
        column = images.c[order.field]
        ordering = [column.desc(), images.c.id.desc()]
        if not order.descending:
            ordering = [column.asc(), images.c.id.asc()]
    return (
        select(images)
        .where(*matching(project_id, only))
        .order_by(*ordering)
        .limit(limit)
        .offset(offset)
    )


def keyset_page(project_id: uuid.UUID, only: ImageFilter, limit: int, start: Keyset) -> Select[Any]:
    """`limit + 1` rows past the position, so the extra row tells whether more follow. Newer
    pages are read oldest-first from the position."""
    query = select(images).where(*matching(project_id, only))
    if start.direction == "older":
        if start.position is not None:
            query = query.where(images.c.id < start.position)
        return query.order_by(images.c.id.desc()).limit(limit + 1)
    if start.position is not None:
        query = query.where(images.c.id > start.position)
    return query.order_by(images.c.id.asc()).limit(limit + 1)


def total(project_id: uuid.UUID, only: ImageFilter) -> Select[Any]:
    """The list's total: the project's counters for the whole project, else a count."""
    if only.is_whole_project:
        counted = projects.c.live_images
        if only.include_deleted:
            counted = counted + projects.c.deleted_images
        return select(counted).where(projects.c.id == project_id)
    return select(func.count()).select_from(images).where(*matching(project_id, only))


# -- writes --------------------------------------------------------------------------------


async def insert_image(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(images).values(**row))
    await count_change(conn, row["project_id"], live=1)


async def count_change(
    conn: AsyncConnection, project_id: uuid.UUID, *, live: int = 0, deleted: int = 0
) -> None:
    """Keep the project's image counters in step, inside the transaction that changed images."""
    await conn.execute(
        update(projects)
        .where(projects.c.id == project_id)
        .values(
            live_images=projects.c.live_images + live,
            deleted_images=projects.c.deleted_images + deleted,
        )
    )


async def claim_alias(
    conn: AsyncConnection, project_id: uuid.UUID, image_id: uuid.UUID, alias: str
) -> None:
    """Move the alias to this image. On PostgreSQL an advisory lock per (project, alias)
    serialises concurrent claims; SQLite write transactions are serial already."""
    if conn.dialect.name == "postgresql":
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"{project_id}:{alias}"}
        )
    moment = now()
    await conn.execute(
        update(images)
        .where(images.c.project_id == project_id, images.c.alias == alias, images.c.id != image_id)
        .values(alias=None, updated_at=moment)
    )
    await conn.execute(
        update(images).where(images.c.id == image_id).values(alias=alias, updated_at=moment)
    )


async def drop_alias(conn: AsyncConnection, image_id: uuid.UUID) -> None:
    await conn.execute(
        update(images).where(images.c.id == image_id).values(alias=None, updated_at=now())
    )


async def is_live(conn: AsyncConnection, project_id: uuid.UUID, image_id: uuid.UUID) -> bool:
    found = await conn.scalar(select(images.c.id).where(live(project_id), images.c.id == image_id))
    return found is not None


async def update_live(
    conn: AsyncConnection, project_id: uuid.UUID, image_id: uuid.UUID, values: dict[str, Any]
) -> bool:
    """Set columns of a live image; False when there is none."""
    result = await conn.execute(
        update(images).where(live(project_id), images.c.id == image_id).values(**values)
    )
    return result.rowcount > 0


async def soft_delete(conn: AsyncConnection, project_id: uuid.UUID, image_id: uuid.UUID) -> None:
    """Hide the image and free its alias; its flow alias entries go too."""
    await conn.execute(delete(flow_aliases).where(flow_aliases.c.image_id == image_id))
    moment = now()
    result = await conn.execute(
        update(images)
        .where(images.c.id == image_id, images.c.deleted_at.is_(None))
        .values(alias=None, deleted_at=moment, updated_at=moment)
    )
    if result.rowcount:
        await count_change(conn, project_id, live=-1, deleted=1)


async def restore(conn: AsyncConnection, project_id: uuid.UUID, image_id: uuid.UUID) -> bool:
    """Bring a soft-deleted image back (without the alias it gave up); False if it is not
    soft-deleted."""
    result = await conn.execute(
        update(images)
        .where(
            images.c.project_id == project_id,
            images.c.id == image_id,
            images.c.deleted_at.is_not(None),
        )
        .values(deleted_at=None, updated_at=now())
    )
    if result.rowcount:
        await count_change(conn, project_id, live=1, deleted=-1)
    return result.rowcount > 0


async def hard_delete(conn: AsyncConnection, project_id: uuid.UUID, image_id: uuid.UUID) -> None:
    await conn.execute(delete(flow_aliases).where(flow_aliases.c.image_id == image_id))
    gone = (
        await conn.execute(
            delete(images).where(images.c.id == image_id).returning(images.c.deleted_at)
        )
    ).first()
    if gone is not None:
        was_live = gone.deleted_at is None
        await count_change(conn, project_id, live=-was_live, deleted=-(not was_live))


async def unaliased_in_flow(
    conn: AsyncConnection, project_id: uuid.UUID, flow_id: uuid.UUID
) -> Sequence[uuid.UUID]:
    query = select(images.c.id).where(
        images.c.project_id == project_id,
        images.c.flow_id == flow_id,
        images.c.alias.is_(None),
    )
    return (await conn.scalars(query)).all()


async def unlink_flow(conn: AsyncConnection, project_id: uuid.UUID, flow_id: uuid.UUID) -> None:
    await conn.execute(
        update(images)
        .where(images.c.project_id == project_id, images.c.flow_id == flow_id)
        .values(flow_id=None, updated_at=now())
    )


async def flow_has_images(conn: AsyncConnection, project_id: uuid.UUID, flow_id: uuid.UUID) -> bool:
    query = select(images.c.id).where(live(project_id), images.c.flow_id == flow_id).limit(1)
    return await conn.scalar(query) is not None


async def add_views(conn: AsyncConnection, counts: dict[uuid.UUID, int]) -> None:
    statement = (
        update(images)
        .where(images.c.id == bindparam("image_id"))
        .values(views=images.c.views + bindparam("n"))
    )
    await conn.execute(statement, [{"image_id": k, "n": n} for k, n in counts.items()])


# -- garbage collection --------------------------------------------------------------------


async def soft_deleted_before(conn: AsyncConnection, cutoff: datetime) -> Sequence[Row[Any]]:
    """(id, project_id, size) of images soft-deleted before `cutoff`."""
    query = select(images.c.id, images.c.project_id, images.c.size).where(
        images.c.deleted_at.is_not(None), images.c.deleted_at < cutoff
    )
    return (await conn.execute(query)).all()


async def referenced_keys(conn: AsyncConnection, keys: set[str]) -> set[str]:
    """The storage keys among `keys` that some row (live or soft-deleted) names."""
    query = select(images.c.storage_key).where(images.c.storage_key.in_(keys))
    return set(await conn.scalars(query))


async def live_ids(
    conn: AsyncConnection, image_ids: set[uuid.UUID]
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(project_id, id) of the live images among `image_ids`."""
    query = select(images.c.id, images.c.project_id).where(
        images.c.id.in_(image_ids), images.c.deleted_at.is_(None)
    )
    return {(row.project_id, row.id) for row in await conn.execute(query)}
