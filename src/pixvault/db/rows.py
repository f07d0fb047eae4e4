"""Row → entity mapping, shared by every service that reads these tables."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Label, Row

from pixvault.db.tables import organizations, projects
from pixvault.domain.models import ApiKey, FocalPoint, Image, Project
from pixvault.domain.policy import ProjectSettings


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything pixvault stores is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def now() -> datetime:
    return datetime.now(UTC)


def project_columns(prefix: str = "") -> tuple[Label[Any], ...]:
    """What `to_project` reads; select it from projects joined to organizations."""
    return (
        projects.c.id.label(prefix + "id"),
        projects.c.org_id.label(prefix + "org_id"),
        organizations.c.slug.label(prefix + "org_slug"),
        projects.c.slug.label(prefix + "slug"),
        projects.c.name.label(prefix + "name"),
        projects.c.settings.label(prefix + "settings"),
        projects.c.created_at.label(prefix + "created_at"),
    )


def to_project(row: Row[Any], prefix: str = "") -> Project:
    """`prefix` reads a project selected beside another table under labelled columns."""
    m = row._mapping
    return Project(
        id=m[prefix + "id"],
        org_id=m[prefix + "org_id"],
        org_slug=m[prefix + "org_slug"],
        slug=m[prefix + "slug"],
        name=m[prefix + "name"],
        settings=ProjectSettings.model_validate(m[prefix + "settings"] or {}),
        created_at=utc(m[prefix + "created_at"]),
    )


def to_image(row: Row[Any]) -> Image:
    m = row._mapping
    focal = None if m["focal_x"] is None else FocalPoint(m["focal_x"], m["focal_y"])
    return Image(
        id=m["id"],
        project_id=m["project_id"],
        flow_id=m["flow_id"],
        source=m["source"],
        alias=m["alias"],
        storage_key=m["storage_key"],
        mime_type=m["mime_type"],
        size=m["size"],
        width=m["width"],
        height=m["height"],
        sha256=m["sha256"],
        focal_point=focal,
        meta=m["meta"] or {},
        tags=m["tags"] or [],
        description=m["description"],
        is_public=m["is_public"],
        views=m["views"],
        filename=m["filename"],
        partition=m["partition"],
        collection=m["collection"],
        channel=m["channel"],
        owner_id=m["owner_id"],
        blurhash=m["blurhash"],
        dominant_color=m["dominant_color"],
        created_at=utc(m["created_at"]),
        updated_at=utc(m["updated_at"]),
        deleted_at=utc(m["deleted_at"]),
    )


def to_key(row: Row[Any]) -> ApiKey:
    m = row._mapping
    return ApiKey(
        id=m["id"],
        project_id=m["project_id"],
        kind=m["kind"],
        label=m["label"],
        prefix=m["prefix"],
        user_id=m["user_id"],
        created_at=utc(m["created_at"]),
        expires_at=utc(m["expires_at"]),
        last_used_at=utc(m["last_used_at"]),
        revoked_at=utc(m["revoked_at"]),
    )
