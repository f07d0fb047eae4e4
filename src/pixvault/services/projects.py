"""Organisations and projects. A project is also a vault; org slugs share the URL space with
the service's own routes, so those names are reserved."""

import re
import secrets
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError

from pixvault.db.engine import Database
from pixvault.db.queries import projects as rows
from pixvault.db.rows import to_project
from pixvault.domain.errors import InvalidInput, ProjectExists, ProjectNotFound
from pixvault.domain.ids import from_prefixed_ulid, new_id
from pixvault.domain.models import VAULT_PREFIX, Project
from pixvault.domain.policy import ProjectSettings
from pixvault.domain.text import plain
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


def validate_slug(value: str, *, what: str) -> str:
    if not _SLUG.fullmatch(value):
        raise InvalidInput(
            f"Invalid {what} slug {value!r}: use 1-64 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit",
            param=what,
        )
    if what == "org" and (value in RESERVED_ORG_SLUGS or value.startswith("vault_")):
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

    async def find_vault(self, vault_id: str) -> Project | None:
        """The project behind a `vault_…` id (memoised like slugs), or None."""
        # Memoised by the text as sent: decoding the ULID runs only on a miss.
        return await self.hot.get(("", vault_id), lambda: self._find_vault(vault_id))

    async def _find_vault(self, vault_id: str) -> Project | None:
        project_id = from_prefixed_ulid(vault_id, VAULT_PREFIX)
        if project_id is None:
            return None
        async with self.db.read() as conn:
            row = await rows.by_id(conn, project_id)
        return None if row is None else to_project(row)

    async def vault_secret(self, project: Project) -> str:
        """The secret that signs the vault's URLs, created on first need."""
        if project.settings.vault_signing_keys:
            return project.settings.vault_signing_keys[0]
        document = {
            **project.settings.as_document(),
            "vaultSigningKeys": [secrets.token_urlsafe(32)],
        }
        updated = await self.update_settings(project.id, document)
        return updated.settings.vault_signing_keys[0]

    async def create(self, org_slug: str, slug: str, name: str | None = None) -> Project:
        validate_slug(org_slug, what="org")
        validate_slug(slug, what="project")
        if name is not None:
            plain(name, "name")
        project_id = new_id()
        try:
            async with self.db.write() as conn:
                await rows.create(conn, (new_id(), project_id), org_slug, slug, name or slug)
        except IntegrityError:
            raise ProjectExists(f"{org_slug}/{slug}") from None
        return await self.get(project_id)

    async def get(self, project_id: uuid.UUID) -> Project:
        async with self.db.read() as conn:
            row = await rows.by_id(conn, project_id)
        if row is None:
            raise ProjectNotFound(project_id)
        return to_project(row)

    async def find(self, org_slug: str, slug: str) -> Project | None:
        if not (_SLUG.fullmatch(org_slug) and _SLUG.fullmatch(slug)):
            return None  # no project has such a name (NUL bytes included)
        async with self.db.read() as conn:
            row = await rows.by_slugs(conn, org_slug, slug)
        return None if row is None else to_project(row)

    async def by_path(self, path: str) -> Project:
        org, slug = split_path(path)
        project = await self.find(org, slug)
        if project is None:
            raise ProjectNotFound(path)
        return project

    async def list(self) -> list[Project]:
        async with self.db.read() as conn:
            found = await rows.all_projects(conn)
        return [to_project(r) for r in found]

    async def count(self) -> int:
        async with self.db.read() as conn:
            return await rows.count(conn)

    async def ensure(self, org_slug: str, slug: str) -> tuple[Project, bool]:
        """The project, created if missing; True when this call created it."""
        existing = await self.find(org_slug, slug)
        if existing is not None:
            return existing, False
        try:
            return await self.create(org_slug, slug), True
        except ProjectExists:
            return await self.by_path(f"{org_slug}/{slug}"), False

    async def update_settings(self, project_id: uuid.UUID, document: dict[str, Any]) -> Project:
        """Replace the project's settings document, refusing one its delivery would reject."""
        settings = ProjectSettings.parse(document, self.limits)
        async with self.db.write() as conn:
            found = await rows.set_settings(conn, project_id, settings.as_document())
        self.hot.clear()
        if not found:
            raise ProjectNotFound(project_id)
        return await self.get(project_id)
