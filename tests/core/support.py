"""Shared helpers of the core tests: uploads straight through the library, direct looks at
the project counters, and folder paths written onto rows (NewUpload has no folder fields)."""

from typing import Any

from sqlalchemy import func, select, update

from pixvault.db.tables import images, projects
from pixvault.domain.models import Image, Project
from pixvault.domain.paging import ImageFilter
from pixvault.services.core import Core
from pixvault.services.library import NewUpload
from tests.helpers import jpeg


async def put(core: Core, project: Project, data: bytes | None = None, **fields: Any) -> Image:
    """Upload `data` (a small JPEG by default) under the native policy."""
    return await core.library.upload_bytes(
        project, jpeg() if data is None else data, NewUpload(**fields), core.native_uploads
    )


async def stored_counters(core: Core, project: Project) -> tuple[int, int]:
    """(live_images, deleted_images) as the projects row holds them."""
    async with core.db.read() as conn:
        row = (
            await conn.execute(
                select(projects.c.live_images, projects.c.deleted_images).where(
                    projects.c.id == project.id
                )
            )
        ).one()
    return row.live_images, row.deleted_images


async def counted(core: Core, project: Project) -> tuple[int, int]:
    """(live, soft-deleted) counted from the images table itself."""
    async with core.db.read() as conn:
        live = await conn.scalar(
            select(func.count())
            .select_from(images)
            .where(images.c.project_id == project.id, images.c.deleted_at.is_(None))
        )
        deleted = await conn.scalar(
            select(func.count())
            .select_from(images)
            .where(images.c.project_id == project.id, images.c.deleted_at.is_not(None))
        )
    return live or 0, deleted or 0


async def list_totals(core: Core, project: Project) -> tuple[int, int]:
    """(total of the live list, total including soft-deleted) as `library.list` reports."""
    live = (await core.library.list(project)).total
    everything = (await core.library.list(project, ImageFilter(include_deleted=True))).total
    return live, everything


async def set_path(
    core: Core,
    image: Image,
    partition: str | None,
    collection: str | None,
    channel: str | None,
    filename: str | None,
) -> None:
    """Put a folder path on an image's row (raises IntegrityError on a taken path)."""
    async with core.db.write() as conn:
        await conn.execute(
            update(images)
            .where(images.c.id == image.id)
            .values(partition=partition, collection=collection, channel=channel, filename=filename)
        )
