"""The image library: upload, list, resolve, update, alias and delete images of a project.

Crash consistency: bytes are written before the row that references them, and rows are removed
before their bytes, so a crash leaves at most an unreferenced blob for `pixvault gc`.
"""

import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import and_, bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pixvault.db.engine import Database
from pixvault.db.rows import now, to_image
from pixvault.db.tables import flow_aliases, flows, images, projects
from pixvault.domain.aliases import TECHNICAL, validate_alias
from pixvault.domain.errors import InvalidInput, NotFound, PixvaultError
from pixvault.domain.ids import looks_like_uuid, new_id, parse_uuid
from pixvault.domain.models import FocalPoint, Image, Page, Project
from pixvault.imaging.probe import probe
from pixvault.metrics import UPLOAD_BYTES
from pixvault.services.blobkeys import derivative_prefix, original_key
from pixvault.services.lookup import LookupCache
from pixvault.storage import BlobStore

log = logging.getLogger(__name__)

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
SOURCES = ("uploaded", "generated")
MAX_PAGE = 100
_ALIAS_RETRIES = 5


class _Unset:
    """Marks a field the client did not send (as opposed to an explicit null)."""


UNSET: Any = _Unset()


@dataclass(frozen=True)
class NewUpload:
    data: bytes
    filename: str | None = None
    alias: str | None = None
    flow_id: uuid.UUID | None = None
    flow_is_explicit: bool = False
    flow_alias: str | None = None
    meta: dict[str, Any] | None = None
    source: str = "uploaded"


def pending_flow() -> uuid.UUID:
    """A fresh flow id for an upload that named none; its row is created when first needed."""
    return new_id()


class LibraryService:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        *,
        max_source_pixels: int,
        lookup_cache_seconds: float = 0,
    ):
        self.db = db
        self.blobs = blobs
        self.max_source_pixels = max_source_pixels
        # Public delivery looks images up on every hit; any write here clears the memo.
        self._hot: LookupCache[tuple[uuid.UUID, str], Image] = LookupCache(
            lookup_cache_seconds, maxsize=20_000
        )

    async def find_for_delivery(self, project: Project, ref: str) -> Image:
        """`resolve` for public URLs, memoised briefly."""
        return await self._hot.get((project.id, ref), lambda: self.resolve(project, ref))

    # -- writing ---------------------------------------------------------------------------

    async def upload(
        self, project: Project, upload: NewUpload, *, allowed: frozenset[str] = IMAGE_TYPES
    ) -> Image:
        if upload.alias is not None:
            validate_alias(upload.alias)
        if upload.flow_alias is not None:
            validate_alias(upload.flow_alias, param="flowAlias")
            if upload.flow_id is None:
                raise InvalidInput(
                    "flowAlias needs a flow: omit flowId or pass one", param="flowId"
                )
        if upload.flow_is_explicit and upload.flow_id is not None:
            await self._check_flow_owner(project, upload.flow_id)
        found = await anyio.to_thread.run_sync(
            lambda: probe(upload.data, allowed=allowed, max_pixels=self.max_source_pixels)
        )
        image_id = new_id()
        key = original_key(project.id, image_id)
        await self.blobs.put(key, upload.data)
        created = now()
        row = {
            "id": image_id,
            "project_id": project.id,
            "flow_id": upload.flow_id,
            "source": upload.source,
            "alias": None,
            "storage_key": key,
            "mime_type": found.mime,
            "size": len(upload.data),
            "width": found.width,
            "height": found.height,
            "sha256": hashlib.sha256(upload.data).hexdigest(),
            "meta": upload.meta or {},
            "tags": [],
            "filename": upload.filename,
            "created_at": created,
            "updated_at": created,
        }
        try:
            await self._with_alias_retries(lambda conn: self._insert(conn, project, upload, row))
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._forget_blob(key)
            raise
        UPLOAD_BYTES.inc(len(upload.data))
        self._hot.clear()
        return await self.get(project, image_id)

    async def _insert(
        self, conn: AsyncConnection, project: Project, upload: NewUpload, row: dict[str, Any]
    ) -> None:
        needs_flow_row = upload.flow_id is not None and (
            upload.flow_is_explicit or upload.flow_alias is not None
        )
        if needs_flow_row:
            await ensure_flow(conn, project, upload.flow_id)
        await conn.execute(insert(images).values(**row))
        await _count(conn, project.id, live=1)
        if upload.alias is not None:
            await _claim_alias(conn, self.db, project.id, row["id"], upload.alias)
        if upload.flow_alias is not None:
            await set_flow_alias(conn, upload.flow_id, upload.flow_alias, row["id"])

    async def _forget_blob(self, key: str) -> None:
        try:
            await self.blobs.delete(key)
        except PixvaultError:
            log.warning("could not remove blob %s after a failed upload; gc will", key)

    async def update(
        self,
        project: Project,
        image_id: uuid.UUID,
        *,
        focal_point: FocalPoint | None = UNSET,
        meta: dict[str, Any] = UNSET,
    ) -> Image:
        values: dict[str, Any] = {"updated_at": now()}
        if focal_point is not UNSET:
            values["focal_x"] = None if focal_point is None else focal_point.x
            values["focal_y"] = None if focal_point is None else focal_point.y
        if meta is not UNSET:
            values["meta"] = meta
        async with self.db.write() as conn:
            result = await conn.execute(
                update(images).where(live(project.id), images.c.id == image_id).values(**values)
            )
        self._hot.clear()
        if result.rowcount == 0:
            raise image_not_found(str(image_id))
        return await self.get(project, image_id)

    async def assign_alias(self, project: Project, image_id: uuid.UUID, alias: str | None) -> Image:
        """Give the image this alias, taking it from any other holder; None removes it."""
        if alias is not None:
            validate_alias(alias)

        async def assign(conn: AsyncConnection) -> None:
            exists = await conn.scalar(
                select(images.c.id).where(live(project.id), images.c.id == image_id)
            )
            if exists is None:
                raise image_not_found(str(image_id))
            if alias is None:
                await conn.execute(
                    update(images)
                    .where(images.c.id == image_id)
                    .values(alias=None, updated_at=now())
                )
            else:
                await _claim_alias(conn, self.db, project.id, image_id, alias)

        await self._with_alias_retries(assign)
        self._hot.clear()
        return await self.get(project, image_id)

    async def _with_alias_retries(self, work: Any) -> None:
        """Run `work` in a write transaction, retrying when a concurrent writer took the alias."""
        for attempt in range(_ALIAS_RETRIES):
            try:
                async with self.db.write() as conn:
                    await work(conn)
                return
            except IntegrityError:
                if attempt == _ALIAS_RETRIES - 1:
                    raise
                await anyio.sleep(0.01 * (attempt + 1))

    async def delete(
        self,
        project: Project,
        image_id: uuid.UUID,
        *,
        soft: bool = False,
        include_deleted: bool = False,
    ) -> Image:
        image = await self.get(project, image_id, include_deleted=include_deleted)
        async with self.db.write() as conn:
            await conn.execute(delete(flow_aliases).where(flow_aliases.c.image_id == image_id))
            if soft:
                moment = now()
                result = await conn.execute(
                    update(images)
                    .where(images.c.id == image_id, images.c.deleted_at.is_(None))
                    .values(alias=None, deleted_at=moment, updated_at=moment)
                )
                if result.rowcount:
                    await _count(conn, project.id, live=-1, deleted=1)
            else:
                gone = (
                    await conn.execute(
                        delete(images).where(images.c.id == image_id).returning(images.c.deleted_at)
                    )
                ).first()
                if gone is not None:
                    was_live = gone.deleted_at is None
                    await _count(conn, project.id, live=-was_live, deleted=-(not was_live))
        self._hot.clear()
        await self.blobs.delete_prefix(derivative_prefix(project.id, image_id))
        if not soft:
            await self.blobs.delete(image.storage_key)
        return image

    # -- reading ---------------------------------------------------------------------------

    async def get(
        self, project: Project, image_id: uuid.UUID, *, include_deleted: bool = False
    ) -> Image:
        query = _ANY_BY_ID if include_deleted else _LIVE_BY_ID
        async with self.db.read() as conn:
            row = (await conn.execute(query, {"project_id": project.id, "ref": image_id})).first()
        if row is None:
            raise image_not_found(str(image_id))
        return to_image(row)

    async def resolve(self, project: Project, ref: str, *, flow_id: str | None = None) -> Image:
        """Find an image by UUID or alias: technical, then flow alias, then project alias."""
        if not ref.startswith("@"):
            if not looks_like_uuid(ref):
                raise InvalidInput(
                    f"{ref!r} is neither an image UUID nor an @alias", code="VALIDATION_ERROR"
                )
            return await self.get(project, uuid.UUID(ref))
        flow = parse_uuid(flow_id, param="flowId") if flow_id else None
        async with self.db.read() as conn:
            if ref in TECHNICAL:
                if flow is None:
                    raise InvalidInput(
                        f"{ref} is a technical alias computed per flow; add ?flowId=FLOW_ID",
                        param="flowId",
                    )
                row = (await conn.execute(_technical_query(project.id, flow, ref))).first()
            else:
                row = None
                if flow is not None:
                    row = (await conn.execute(_flow_alias_query(project.id, flow, ref))).first()
                if row is None:
                    params = {"project_id": project.id, "ref": ref}
                    row = (await conn.execute(_LIVE_BY_ALIAS, params)).first()
        if row is None:
            scope = f" in flow {flow}" if flow else ""
            raise NotFound(
                f"Alias {ref} does not resolve to any image{scope}", code="ALIAS_NOT_FOUND"
            )
        return to_image(row)

    async def list(
        self,
        project: Project,
        *,
        flow_id: uuid.UUID | None = None,
        source: str | None = None,
        alias: str | None = None,
        limit: int = 20,
        offset: int = 0,
        include_deleted: bool = False,
    ) -> Page:
        check_page(limit, offset)
        if source is not None and source not in SOURCES:
            raise InvalidInput(
                f"source must be one of {', '.join(SOURCES)}, got {source!r}", param="source"
            )
        where = [images.c.project_id == project.id]
        if not include_deleted:
            where.append(images.c.deleted_at.is_(None))
        if flow_id is not None:
            where.append(images.c.flow_id == flow_id)
        if source is not None:
            where.append(images.c.source == source)
        if alias is not None:
            where.append(images.c.alias == alias)
        query = (
            select(images).where(*where).order_by(images.c.id.desc()).limit(limit).offset(offset)
        )
        if flow_id is None and source is None and alias is None:
            counted = projects.c.live_images
            if include_deleted:
                counted = counted + projects.c.deleted_images
            count = select(counted).where(projects.c.id == project.id)
        else:
            count = select(func.count()).select_from(images).where(*where)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
            total = await conn.scalar(count)
        return Page([to_image(r) for r in rows], total or 0, limit, offset)

    async def _check_flow_owner(self, project: Project, flow_id: uuid.UUID) -> None:
        async with self.db.read() as conn:
            owner = await conn.scalar(select(flows.c.project_id).where(flows.c.id == flow_id))
        if owner is not None and owner != project.id:
            raise NotFound(f"Flow {flow_id} not found", code="FLOW_NOT_FOUND")


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}, got {limit}", param="limit")
    if offset < 0:
        raise InvalidInput(f"offset must be 0 or more, got {offset}", param="offset")


def live(project_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return and_(images.c.project_id == project_id, images.c.deleted_at.is_(None))


# Built once: the public lookups run on every cold request, and building and hashing a fresh
# statement each time costs about as much CPU as executing it.
_ANY_BY_ID = select(images).where(
    images.c.project_id == bindparam("project_id"), images.c.id == bindparam("ref")
)
_LIVE_BY_ID = _ANY_BY_ID.where(images.c.deleted_at.is_(None))
_LIVE_BY_ALIAS = select(images).where(
    images.c.project_id == bindparam("project_id"),
    images.c.deleted_at.is_(None),
    images.c.alias == bindparam("ref"),
)


def image_not_found(ref: str) -> NotFound:
    return NotFound(f"Image {ref} not found in this project", code="IMAGE_NOT_FOUND")


def _technical_query(project_id: uuid.UUID, flow_id: uuid.UUID, ref: str):  # type: ignore[no-untyped-def]
    query = select(images).where(live(project_id), images.c.flow_id == flow_id)
    if ref == "@upload":
        query = query.where(images.c.source == "uploaded")
    order = images.c.id.asc() if ref == "@first" else images.c.id.desc()
    return query.order_by(order).limit(1)


def _flow_alias_query(project_id: uuid.UUID, flow_id: uuid.UUID, ref: str):  # type: ignore[no-untyped-def]
    return (
        select(images)
        .join(flow_aliases, flow_aliases.c.image_id == images.c.id)
        .join(flows, flows.c.id == flow_aliases.c.flow_id)
        .where(
            live(project_id),
            flows.c.project_id == project_id,
            flow_aliases.c.flow_id == flow_id,
            flow_aliases.c.alias == ref,
        )
    )


async def _claim_alias(
    conn: AsyncConnection, db: Database, project_id: uuid.UUID, image_id: uuid.UUID, alias: str
) -> None:
    """Move the alias to this image. On PostgreSQL an advisory lock per (project, alias)
    serialises concurrent claims; SQLite write transactions are serial already."""
    if not db.is_sqlite:
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


async def _count(
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


async def ensure_flow(conn: AsyncConnection, project: Project, flow_id: uuid.UUID) -> None:
    owner = await conn.scalar(select(flows.c.project_id).where(flows.c.id == flow_id))
    if owner is None:
        moment = now()
        await conn.execute(
            insert(flows).values(
                id=flow_id, project_id=project.id, meta={}, created_at=moment, updated_at=moment
            )
        )
    elif owner != project.id:
        raise NotFound(f"Flow {flow_id} not found", code="FLOW_NOT_FOUND")


async def set_flow_alias(
    conn: AsyncConnection, flow_id: uuid.UUID, alias: str, image_id: uuid.UUID
) -> None:
    await conn.execute(
        delete(flow_aliases).where(flow_aliases.c.flow_id == flow_id, flow_aliases.c.alias == alias)
    )
    await conn.execute(insert(flow_aliases).values(flow_id=flow_id, alias=alias, image_id=image_id))
    await conn.execute(update(flows).where(flows.c.id == flow_id).values(updated_at=now()))
