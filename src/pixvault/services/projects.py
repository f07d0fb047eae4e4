"""Organisations and projects. A project is also a vault; org slugs share the URL space with
the service's own routes, so those names are reserved."""

import re
import uuid

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from pixvault.db.engine import Database
from pixvault.db.rows import now, project_columns, to_project
from pixvault.db.tables import organizations, projects
from pixvault.domain.errors import Conflict, InvalidInput, NotFound
from pixvault.domain.ids import new_id
from pixvault.domain.models import Project
from pixvault.domain.policy import validate_settings
from pixvault.domain.transform import Limits
from pixvault.services.lookup import LookupCache

RESERVED_ORG_SLUGS = frozenset(
    {
        "admin", "api", "assets", "cdn", "docs", "favicon.ico", "health", "image", "images",
        "img", "metrics", "openapi.json", "ready", "redoc", "robots.txt", "static", "ui",
        "v1", "vault", "vaults", "web",
    }
)  # fmt: skip
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

_SELECT = select(*project_columns()).join_from(projects, organizations)


def validate_slug(value: str, *, what: str) -> str:
    if not _SLUG.fullmatch(value):
        raise InvalidInput(
            f"Invalid {what} slug {value!r}: use 1-64 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit",
            param=what,
        )
    if what == "org" and value in RESERVED_ORG_SLUGS:
        raise InvalidInput(
            f"Organisation slug {value!r} is reserved for the service's own URLs; choose another",
            param=what,
        )
    return value


def split_path(path: str) -> tuple[str, str]:
    org, sep, project = path.partition("/")
    if not sep or not org or not project:
        raise InvalidInput(f"Expected ORG/PROJECT, got {path!r}", param="project")
    return org, project


class ProjectService:
    def __init__(self, db: Database, *, limits: Limits = Limits(), lookup_cache_seconds: float = 0):
        self.db = db
        self.limits = limits  # presets in a project's settings must parse under these
        # Every public URL names its project by slugs.
        self.hot: LookupCache[tuple[str, str], Project | None] = LookupCache(
            lookup_cache_seconds, maxsize=1024
        )

    async def find_for_delivery(self, org_slug: str, slug: str) -> Project | None:
        return await self.hot.get((org_slug, slug), lambda: self.find(org_slug, slug))

    async def create(self, org_slug: str, slug: str, name: str | None = None) -> Project:
        validate_slug(org_slug, what="org")
        validate_slug(slug, what="project")
        try:
            async with self.db.write() as conn:
                org_id = await conn.scalar(
                    select(organizations.c.id).where(organizations.c.slug == org_slug)
                )
                if org_id is None:
                    org_id = new_id()
                    await conn.execute(
                        insert(organizations).values(id=org_id, slug=org_slug, created_at=now())
                    )
                project_id = new_id()
                await conn.execute(
                    insert(projects).values(
                        id=project_id,
                        org_id=org_id,
                        slug=slug,
                        name=name or slug,
                        settings={},
                        created_at=now(),
                    )
                )
        except IntegrityError:
            raise Conflict(
                f"Project {org_slug}/{slug} already exists", code="PROJECT_EXISTS"
            ) from None
        return await self.get(project_id)

    async def get(self, project_id: uuid.UUID) -> Project:
        async with self.db.read() as conn:
            row = (await conn.execute(_SELECT.where(projects.c.id == project_id))).first()
        if row is None:
            raise NotFound(f"Project {project_id} not found", code="PROJECT_NOT_FOUND")
        return to_project(row)

    async def find(self, org_slug: str, slug: str) -> Project | None:
        query = _SELECT.where(organizations.c.slug == org_slug, projects.c.slug == slug)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else to_project(row)

    async def by_path(self, path: str) -> Project:
        org, slug = split_path(path)
        project = await self.find(org, slug)
        if project is None:
            raise NotFound(f"Project {path} not found", code="PROJECT_NOT_FOUND")
        return project

    async def list(self) -> list[Project]:
        async with self.db.read() as conn:
            rows = (await conn.execute(_SELECT.order_by(projects.c.id))).all()
        return [to_project(r) for r in rows]

    async def count(self) -> int:
        async with self.db.read() as conn:
            return await conn.scalar(select(func.count()).select_from(projects)) or 0

    async def ensure(self, org_slug: str, slug: str) -> tuple[Project, bool]:
        """The project, created if missing; True when this call created it."""
        existing = await self.find(org_slug, slug)
        if existing is not None:
            return existing, False
        try:
            return await self.create(org_slug, slug), True
        except Conflict:
            return await self.by_path(f"{org_slug}/{slug}"), False

    async def update_settings(self, project_id: uuid.UUID, settings: dict[str, object]) -> Project:
        """Replace the project's settings document, refusing one its delivery would reject."""
        validate_settings(settings, self.limits)
        async with self.db.write() as conn:
            result = await conn.execute(
                update(projects).where(projects.c.id == project_id).values(settings=settings)
            )
        self.hot.clear()
        if result.rowcount == 0:
            raise NotFound(f"Project {project_id} not found", code="PROJECT_NOT_FOUND")
        return await self.get(project_id)
