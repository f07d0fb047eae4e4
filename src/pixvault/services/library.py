"""The image library: upload, list, resolve, update, alias and delete images of a project.

Crash consistency: bytes are written before the row that references them, and rows are removed
before their bytes, so a crash leaves at most an unreferenced blob for `pixvault gc`.
"""

import hashlib
import logging
import mimetypes
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from pixvault.db.engine import Database
from pixvault.db.queries import flows as flow_rows
from pixvault.db.queries import images as rows
from pixvault.db.rows import now, to_image
from pixvault.domain.aliases import TECHNICAL, validate_alias
from pixvault.domain.errors import (
    AliasNotFound,
    ImageNotFound,
    InvalidInput,
    PathTaken,
    PixvaultError,
)
from pixvault.domain.folders import Folders, merge_metadata
from pixvault.domain.ids import looks_like_uuid, new_id, parse_uuid, to_ulid
from pixvault.domain.models import FocalPoint, Image, Project
from pixvault.domain.paging import (
    ImageFilter,
    Keyset,
    KeysetPage,
    Order,
    Page,
    check_limit,
    check_page,
)
from pixvault.domain.text import plain
from pixvault.domain.uploads import UploadPolicy
from pixvault.imaging.probe import probe
from pixvault.metrics import UPLOAD_BYTES
from pixvault.services.blobkeys import derivative_prefix, original_key
from pixvault.services.lookup import LookupCache
from pixvault.services.staging import StagedFile
from pixvault.storage import BlobStore

log = logging.getLogger(__name__)

SOURCES = ("uploaded", "generated")
_ALIAS_RETRIES = 5


class _Unset:
    """Marks a field the client did not send (as opposed to an explicit null)."""


UNSET: Any = _Unset()


@dataclass(frozen=True)
class NewUpload:
    """What a surface says about an upload besides its bytes."""

    filename: str | None = None
    alias: str | None = None
    flow_id: uuid.UUID | None = None
    flow_is_explicit: bool = False
    flow_alias: str | None = None
    meta: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    is_public: bool = True
    owner_id: uuid.UUID | None = None
    folders: Folders | None = None
    content_type: str | None = None  # the client's type: a hint for files not named by bytes
    source: str = "uploaded"


MAX_FILENAME_BYTES = 255  # the column's width


def _check_texts(upload: NewUpload) -> None:
    """Text every surface passes through as given: storable, and the name within its column."""
    if upload.description is not None:
        plain(upload.description, "description")
    if upload.filename is not None:
        plain(upload.filename, "filename")
        if len(upload.filename.encode()) > MAX_FILENAME_BYTES:
            raise InvalidInput(
                f"The file name is longer than {MAX_FILENAME_BYTES} bytes; rename the file",
                param="filename",
            )


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
        max_frames: int = 1000,
        spool_dir: str | None = None,
        lookup_cache_seconds: float = 0,
    ):
        self.db = db
        self.blobs = blobs
        self.max_source_pixels = max_source_pixels
        self.max_frames = max_frames
        self.spool_dir = spool_dir
        # Called with (project, image) after each upload commits (eager presets).
        self.uploaded: list[Callable[[Project, Image], None]] = []
        # Public delivery looks images up on every hit; any write here clears the memo.
        self._hot: LookupCache[tuple[uuid.UUID, str], Image] = LookupCache(
            lookup_cache_seconds, maxsize=20_000
        )

    async def find_for_delivery(self, project: Project, ref: str) -> Image:
        """`resolve` for public URLs, memoised briefly."""
        return await self._hot.get((project.id, ref), lambda: self.resolve(project, ref))

    async def find_path_for_delivery(
        self, project: Project, folders: Folders, filename: str, path: str
    ) -> Image:
        """`find_by_path` for public URLs (`path` is the joined folder path), memoised like
        `find_for_delivery` (a leading `/` keeps paths apart from ids and aliases)."""
        return await self._hot.get(
            (project.id, "/" + path), lambda: self.find_by_path(project, folders, filename)
        )

    # -- writing ---------------------------------------------------------------------------

    def stage(self, policy: UploadPolicy) -> StagedFile:
        """Somewhere for a surface to stream an upload's bytes into, under `policy`'s limit."""
        return StagedFile(policy.max_bytes, directory=self.spool_dir)

    async def upload(
        self, project: Project, staged: StagedFile, upload: NewUpload, policy: UploadPolicy
    ) -> Image:
        """Store a complete staged upload as a new image of `project`."""
        _check_texts(upload)
        if upload.alias is not None:
            validate_alias(upload.alias)
        if upload.flow_alias is not None:
            validate_alias(upload.flow_alias, param="flowAlias")
            if upload.flow_id is None:
                raise InvalidInput(
                    "flowAlias needs a flow: omit flowId or pass one", param="flowId"
                )
        staged.finish()
        source = staged.data if staged.data is not None else staged.path
        assert source is not None
        found = await anyio.to_thread.run_sync(
            lambda: probe(
                source,
                staged.head,
                staged.size,
                allowed=policy.allowed_types,
                max_pixels=self.max_source_pixels,
                max_frames=self.max_frames,
                strict=policy.strict_images,
                hint=upload.content_type,
                filename=upload.filename,
            )
        )
        image_id = new_id()
        key = original_key(project.id, image_id)
        size, sha256 = staged.size, staged.sha256
        if found.converted is not None:
            source = found.converted
            size, sha256 = len(source), hashlib.sha256(source).hexdigest()
        if isinstance(source, bytes):
            await self.blobs.put(key, source, content_type=found.mime)
        else:
            await self.blobs.put_file(key, source, consume=True, content_type=found.mime)
        created = now()
        row = {
            "id": image_id,
            "project_id": project.id,
            "flow_id": upload.flow_id,
            "source": upload.source,
            "alias": None,
            "storage_key": key,
            "mime_type": found.mime,
            "size": size,
            "width": found.width,
            "height": found.height,
            "sha256": sha256,
            "meta": upload.meta or {},
            "tags": upload.tags,
            "description": upload.description,
            "is_public": upload.is_public,
            "owner_id": upload.owner_id,
            "blurhash": None if found.placeholder is None else found.placeholder.blurhash,
            "dominant_color": None if found.placeholder is None else found.placeholder.color,
            "filename": upload.filename or _generated_name(upload, image_id, found.mime),
            **_folder_columns(upload.folders),
            "created_at": created,
            "updated_at": created,
        }
        try:
            await self._with_alias_retries(lambda conn: self._insert(conn, project, upload, row))
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._forget_blob(key)
            raise
        UPLOAD_BYTES.inc(size)
        self._hot.clear()
        image = await self.get(project, image_id)
        for listener in self.uploaded:
            listener(project, image)
        return image

    async def upload_bytes(
        self, project: Project, data: bytes, upload: NewUpload, policy: UploadPolicy
    ) -> Image:
        """`upload` for bytes already in memory (benchmarks, tools)."""
        with self.stage(policy) as staged:
            staged.write(data)
            return await self.upload(project, staged, upload, policy)

    async def _insert(
        self, conn: AsyncConnection, project: Project, upload: NewUpload, row: dict[str, Any]
    ) -> None:
        if upload.folders is not None and await rows.by_folder_path(
            conn, project.id, upload.folders, row["filename"]
        ):
            raise PathTaken("/".join((*upload.folders, row["filename"])))
        needs_flow_row = upload.flow_id is not None and (
            upload.flow_is_explicit or upload.flow_alias is not None
        )
        if needs_flow_row:
            await flow_rows.claim(conn, project.id, upload.flow_id)
        await rows.insert_image(conn, row)
        if upload.alias is not None:
            await rows.claim_alias(conn, project.id, row["id"], upload.alias)
        if upload.flow_alias is not None:
            await flow_rows.set_alias(
                conn, project.id, upload.flow_id, upload.flow_alias, row["id"]
            )

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
        description: str | None = UNSET,
        is_public: bool = UNSET,
    ) -> Image:
        values: dict[str, Any] = {"updated_at": now()}
        if description is not UNSET:
            values["description"] = (
                None if description is None else plain(description, "description")
            )
        if is_public is not UNSET:
            values["is_public"] = is_public
        if focal_point is not UNSET:
            values["focal_x"] = None if focal_point is None else focal_point.x
            values["focal_y"] = None if focal_point is None else focal_point.y
        if meta is not UNSET:
            values["meta"] = meta
        async with self.db.write() as conn:
            changed = await rows.update_live(conn, project.id, image_id, values)
        self._hot.clear()
        if not changed:
            raise ImageNotFound(image_id)
        return await self.get(project, image_id)

    async def merge(
        self,
        project: Project,
        image_id: uuid.UUID,
        *,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> Image:
        """Merge `metadata` into the stored meta (a null value removes its key) and replace
        the tags, in one transaction."""
        async with self.db.write() as conn:
            row = await rows.by_id(conn, project.id, image_id, include_deleted=False)
            if row is None:
                raise ImageNotFound(image_id)
            values: dict[str, Any] = {"updated_at": now()}
            if metadata is not None:
                values["meta"] = merge_metadata(row.meta or {}, metadata)
            if tags is not None:
                values["tags"] = tags
            await rows.update_live(conn, project.id, image_id, values)
        self._hot.clear()
        return await self.get(project, image_id)

    async def assign_alias(self, project: Project, image_id: uuid.UUID, alias: str | None) -> Image:
        """Give the image this alias, taking it from any other holder; None removes it."""
        if alias is not None:
            validate_alias(alias)

        async def assign(conn: AsyncConnection) -> None:
            if not await rows.is_live(conn, project.id, image_id):
                raise ImageNotFound(image_id)
            if alias is None:
                await rows.drop_alias(conn, image_id)
            else:
                await rows.claim_alias(conn, project.id, image_id, alias)

        await self._with_alias_retries(assign)
        self._hot.clear()
        return await self.get(project, image_id)

    async def _with_alias_retries(self, work: Callable[[AsyncConnection], Awaitable[None]]) -> None:
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
            if soft:
                await rows.soft_delete(conn, project.id, image_id)
            else:
                await rows.hard_delete(conn, project.id, image_id)
        self._hot.clear()
        await self.blobs.delete_prefix(derivative_prefix(project.id, image_id))
        if not soft:
            await self.blobs.delete(image.storage_key)
        return image

    async def restore(self, project: Project, image_id: uuid.UUID) -> Image:
        """Undo a soft delete. The alias it gave up stays with whoever holds it now; a
        folder path taken meanwhile by another file makes this a conflict."""
        image = await self.get(project, image_id, include_deleted=True)
        try:
            async with self.db.write() as conn:
                restored = await rows.restore(conn, project.id, image_id)
        except IntegrityError:
            raise PathTaken(
                "/".join(
                    filter(None, (image.partition, image.collection, image.channel, image.filename))
                )
            ) from None
        if not restored:
            raise ImageNotFound(image_id)
        self._hot.clear()
        return await self.get(project, image_id)

    # -- reading ---------------------------------------------------------------------------

    async def get(
        self, project: Project, image_id: uuid.UUID, *, include_deleted: bool = False
    ) -> Image:
        async with self.db.read() as conn:
            row = await rows.by_id(conn, project.id, image_id, include_deleted=include_deleted)
        if row is None:
            raise ImageNotFound(image_id)
        return to_image(row)

    async def get_many(self, project: Project, image_ids: list[uuid.UUID]) -> list[Image]:
        """The live images among these ids, in the order asked; unknown ids are left out."""
        async with self.db.read() as conn:
            found = {r.id: to_image(r) for r in await rows.by_ids(conn, project.id, image_ids)}
        return [found[i] for i in image_ids if i in found]

    async def resolve(self, project: Project, ref: str, *, flow_id: str | None = None) -> Image:
        """Find an image by UUID or alias: technical, then flow alias, then project alias."""
        plain(ref, "alias" if ref.startswith("@") else "id")
        if not ref.startswith("@"):
            if not looks_like_uuid(ref):
                raise InvalidInput(f"{ref!r} is neither an image UUID nor an @alias")
            return await self.get(project, uuid.UUID(ref))
        flow = parse_uuid(flow_id, param="flowId") if flow_id else None
        async with self.db.read() as conn:
            if ref in TECHNICAL:
                if flow is None:
                    raise InvalidInput(
                        f"{ref} is a technical alias computed per flow; add ?flowId=FLOW_ID",
                        param="flowId",
                    )
                row = (await conn.execute(rows.technical(project.id, flow, ref))).first()
            else:
                row = None
                if flow is not None:
                    row = (await conn.execute(rows.by_flow_alias(project.id, flow, ref))).first()
                if row is None:
                    row = await rows.by_alias(conn, project.id, ref)
        if row is None:
            raise AliasNotFound(ref, flow_id=flow)
        return to_image(row)

    async def find_by_path(
        self, project: Project, folders: tuple[str, str, str], filename: str
    ) -> Image:
        """The live image at a folder path (partition, collection, channel) and filename."""
        async with self.db.read() as conn:
            row = await rows.by_folder_path(conn, project.id, folders, filename)
        if row is None:
            raise ImageNotFound("/".join((*folders, filename)))
        return to_image(row)

    async def list(
        self,
        project: Project,
        only: ImageFilter = ImageFilter(),
        *,
        limit: int = 20,
        offset: int = 0,
        order: Order | None = None,
    ) -> Page:
        """An offset page (newest first unless `order` says otherwise) with the total of the
        whole filtered list."""
        check_page(limit, offset)
        _check_filter(only)
        query = rows.offset_page(project.id, only, limit, offset, order)
        async with self.db.read() as conn:
            found = (await conn.execute(query)).all()
            total = await conn.scalar(rows.total(project.id, only))
        return Page([to_image(r) for r in found], total or 0, limit, offset)

    async def count(self, project: Project, only: ImageFilter = ImageFilter()) -> int:
        """How many images the filtered list holds."""
        _check_filter(only)
        async with self.db.read() as conn:
            return await conn.scalar(rows.total(project.id, only)) or 0

    async def page(
        self,
        project: Project,
        only: ImageFilter = ImageFilter(),
        *,
        limit: int = 20,
        start: Keyset = Keyset(),
        max_limit: int | None = None,
    ) -> KeysetPage:
        """A keyset page past `start` (older: newest first; newer: oldest first), the same
        cost at any depth (no OFFSET scan)."""
        check_limit(limit, max_limit or 100)
        _check_filter(only)
        async with self.db.read() as conn:
            found = (await conn.execute(rows.keyset_page(project.id, only, limit, start))).all()
        items = [to_image(r) for r in found[:limit]]
        return KeysetPage(items, limit, len(found) > limit, start.direction)


def _generated_name(upload: NewUpload, image_id: uuid.UUID, mime: str) -> str | None:
    """A file with a folder path needs a name: `upload-{ulid}.{ext}` when none was given."""
    if upload.folders is None:
        return None
    extension = mimetypes.guess_extension(mime, strict=False) or ".bin"
    return f"upload-{to_ulid(image_id).lower()}{extension}"


def _folder_columns(folders: Folders | None) -> dict[str, str | None]:
    partition, collection, channel = folders or (None, None, None)
    return {"partition": partition, "collection": collection, "channel": channel}


def _check_filter(only: ImageFilter) -> None:
    if only.source is not None and only.source not in SOURCES:
        raise InvalidInput(
            f"source must be one of {', '.join(SOURCES)}, got {only.source!r}", param="source"
        )
