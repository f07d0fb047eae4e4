"""Flows: project-scoped groups of images with their own alias map.

A flow id handed out on upload is "pending": its row is created when something first needs it
(a flow alias, an explicit reference, or a lookup of a flow that has images).
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update

from pixvault.db.engine import Database
from pixvault.db.rows import now, utc
from pixvault.db.tables import flow_aliases, flows, images
from pixvault.domain.aliases import validate_alias
from pixvault.domain.errors import InvalidInput, NotFound
from pixvault.domain.models import Flow, Page, Project
from pixvault.services.library import (
    LibraryService,
    check_page,
    ensure_flow,
    live,
    set_flow_alias,
)


def flow_not_found(flow_id: uuid.UUID) -> NotFound:
    return NotFound(f"Flow {flow_id} not found in this project", code="FLOW_NOT_FOUND")


class FlowService:
    def __init__(self, db: Database, library: LibraryService):
        self.db = db
        self.library = library

    async def list(self, project: Project, *, limit: int = 20, offset: int = 0) -> Page:
        check_page(limit, offset)
        where = flows.c.project_id == project.id
        async with self.db.read() as conn:
            ids = (
                await conn.scalars(
                    select(flows.c.id)
                    .where(where)
                    .order_by(flows.c.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
            total = await conn.scalar(select(func.count()).select_from(flows).where(where))
        loaded = await self._load_many(project, ids)
        return Page([loaded[i] for i in ids if i in loaded], total or 0, limit, offset)

    async def get(self, project: Project, flow_id: uuid.UUID) -> Flow:
        flow = await self._load(project, flow_id)
        if flow is not None:
            return flow
        async with self.db.read() as conn:
            has_images = await conn.scalar(
                select(images.c.id).where(live(project.id), images.c.flow_id == flow_id).limit(1)
            )
        if has_images is None:
            raise flow_not_found(flow_id)
        async with self.db.write() as conn:
            await ensure_flow(conn, project, flow_id)
        return await self._load(project, flow_id)  # type: ignore[return-value]

    async def images(
        self, project: Project, flow_id: uuid.UUID, *, limit: int, offset: int
    ) -> Page:
        await self.get(project, flow_id)
        return await self.library.list(project, flow_id=flow_id, limit=limit, offset=offset)

    async def merge_aliases(
        self, project: Project, flow_id: uuid.UUID, aliases: dict[str, Any]
    ) -> Flow:
        if not isinstance(aliases, dict) or not aliases:
            raise InvalidInput(
                'aliases must be a non-empty object like {"@hero": "IMAGE_ID"}', param="aliases"
            )
        await self.get(project, flow_id)
        targets: dict[str, uuid.UUID] = {}
        for alias, ref in aliases.items():
            validate_alias(alias, param="aliases")
            if not isinstance(ref, str):
                raise InvalidInput(
                    f"aliases[{alias!r}] must be an image id or @alias", param="aliases"
                )
            targets[alias] = (await self.library.resolve(project, ref, flow_id=str(flow_id))).id
        async with self.db.write() as conn:
            for alias, image_id in targets.items():
                await set_flow_alias(conn, flow_id, alias, image_id)
        return await self.get(project, flow_id)

    async def remove_alias(self, project: Project, flow_id: uuid.UUID, alias: str) -> Flow:
        await self.get(project, flow_id)
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(flow_aliases).where(
                    flow_aliases.c.flow_id == flow_id, flow_aliases.c.alias == alias
                )
            )
        if result.rowcount == 0:
            raise NotFound(f"Flow {flow_id} has no alias {alias}", code="ALIAS_NOT_FOUND")
        return await self.get(project, flow_id)

    async def delete(self, project: Project, flow_id: uuid.UUID) -> None:
        """Images without a project alias go with the flow; aliased images stay, unlinked."""
        await self.get(project, flow_id)
        async with self.db.read() as conn:
            doomed = (
                await conn.scalars(
                    select(images.c.id).where(
                        images.c.project_id == project.id,
                        images.c.flow_id == flow_id,
                        images.c.alias.is_(None),
                    )
                )
            ).all()
        for image_id in doomed:
            await self.library.delete(project, image_id, include_deleted=True)
        async with self.db.write() as conn:
            await conn.execute(
                update(images)
                .where(images.c.project_id == project.id, images.c.flow_id == flow_id)
                .values(flow_id=None, updated_at=now())
            )
            await conn.execute(delete(flows).where(flows.c.id == flow_id))

    async def _load(self, project: Project, flow_id: uuid.UUID) -> Flow | None:
        return (await self._load_many(project, [flow_id])).get(flow_id)

    async def _load_many(self, project: Project, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Flow]:
        """Flows with their alias maps and live image counts, in three queries for any page."""
        if not ids:
            return {}
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(flows).where(flows.c.id.in_(ids), flows.c.project_id == project.id)
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
                        .where(live(project.id), images.c.flow_id.in_(ids))
                        .group_by(images.c.flow_id)
                    )
                ).all()
            )
        aliases: dict[uuid.UUID, dict[str, uuid.UUID]] = {}
        for alias in alias_rows:
            aliases.setdefault(alias.flow_id, {})[alias.alias] = alias.image_id
        return {
            row.id: Flow(
                id=row.id,
                project_id=row.project_id,
                meta=row.meta or {},
                aliases=aliases.get(row.id, {}),
                image_count=counts.get(row.id, 0),
                created_at=utc(row.created_at),
                updated_at=utc(row.updated_at),
            )
            for row in rows
        }
