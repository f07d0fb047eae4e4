"""Flows: project-scoped groups of images with their own alias map.

A flow id handed out on upload is "pending": its row is created when something first needs it
(a flow alias, an explicit reference, or a lookup of a flow that has images). Flow ids are
names within a project: another project naming the same id (pending or not) gets a flow of
its own, so it can neither take this one over nor tell that it exists.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from pixvault.db.engine import Database
from pixvault.db.queries import flows as rows
from pixvault.db.queries import images as image_rows
from pixvault.db.rows import utc
from pixvault.domain.aliases import validate_alias
from pixvault.domain.errors import AliasNotFound, FlowNotFound, InvalidInput
from pixvault.domain.models import Flow, Project
from pixvault.domain.paging import ImageFilter, Page, check_page
from pixvault.services.library import LibraryService


class FlowService:
    def __init__(self, db: Database, library: LibraryService):
        self.db = db
        self.library = library

    async def list(self, project: Project, *, limit: int = 20, offset: int = 0) -> Page:
        check_page(limit, offset)
        async with self.db.read() as conn:
            ids = await rows.page_ids(conn, project.id, limit, offset)
            total = await rows.count(conn, project.id)
        loaded = await self._load_many(project, ids)
        return Page([loaded[i] for i in ids if i in loaded], total, limit, offset)

    async def get(self, project: Project, flow_id: uuid.UUID) -> Flow:
        flow = await self._load(project, flow_id)
        if flow is not None:
            return flow
        async with self.db.read() as conn:
            has_images = await image_rows.flow_has_images(conn, project.id, flow_id)
        if not has_images:
            raise FlowNotFound(flow_id)
        async with self.db.write() as conn:
            await rows.claim(conn, project.id, flow_id)
        return await self._load(project, flow_id)  # type: ignore[return-value]

    async def images(
        self, project: Project, flow_id: uuid.UUID, *, limit: int, offset: int
    ) -> Page:
        await self.get(project, flow_id)
        return await self.library.list(
            project, ImageFilter(flow_id=flow_id), limit=limit, offset=offset
        )

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
                await rows.set_alias(conn, project.id, flow_id, alias, image_id)
        return await self.get(project, flow_id)

    async def remove_alias(self, project: Project, flow_id: uuid.UUID, alias: str) -> Flow:
        await self.get(project, flow_id)
        async with self.db.write() as conn:
            removed = await rows.remove_alias(conn, project.id, flow_id, alias)
        if not removed:
            raise AliasNotFound(alias, flow_id=flow_id, in_map=True)
        return await self.get(project, flow_id)

    async def delete(self, project: Project, flow_id: uuid.UUID) -> None:
        """Images without a project alias go with the flow; aliased images stay, unlinked."""
        await self.get(project, flow_id)
        async with self.db.read() as conn:
            doomed = await image_rows.unaliased_in_flow(conn, project.id, flow_id)
        for image_id in doomed:
            await self.library.delete(project, image_id, include_deleted=True)
        async with self.db.write() as conn:
            await image_rows.unlink_flow(conn, project.id, flow_id)
            await rows.delete_flow(conn, project.id, flow_id)

    async def _load(self, project: Project, flow_id: uuid.UUID) -> Flow | None:
        return (await self._load_many(project, [flow_id])).get(flow_id)

    async def _load_many(self, project: Project, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Flow]:
        """Flows with their alias maps and live image counts, in three queries for any page."""
        if not ids:
            return {}
        async with self.db.read() as conn:
            flow_rows, alias_rows, counts = await rows.load_many(conn, project.id, ids)
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
            for row in flow_rows
        }
