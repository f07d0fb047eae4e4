"""Entities the core hands to API surfaces. Plain data: surfaces decide how to render them."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pixvault.domain.ids import to_ulid
from pixvault.domain.policy import ProjectSettings


@dataclass(frozen=True)
class Project:
    id: uuid.UUID
    org_id: uuid.UUID
    org_slug: str
    slug: str
    name: str
    settings: ProjectSettings
    created_at: datetime

    @property
    def vault_id(self) -> str:
        return VAULT_PREFIX + to_ulid(self.id)

    @property
    def path(self) -> str:
        return f"{self.org_slug}/{self.slug}"


VAULT_PREFIX, ASSET_PREFIX = "vault_", "asset_"


def asset_id(image_id: uuid.UUID) -> str:
    return ASSET_PREFIX + to_ulid(image_id)


@dataclass(frozen=True)
class FocalPoint:
    x: float
    y: float


@dataclass(frozen=True)
class Image:
    id: uuid.UUID
    project_id: uuid.UUID
    flow_id: uuid.UUID | None
    source: str
    alias: str | None
    storage_key: str
    mime_type: str
    size: int
    width: int | None
    height: int | None
    sha256: str
    focal_point: FocalPoint | None
    meta: dict[str, Any]
    tags: list[str]
    description: str | None
    is_public: bool
    views: int
    filename: str | None
    partition: str | None
    collection: str | None
    channel: str | None
    owner_id: uuid.UUID | None
    blurhash: str | None
    dominant_color: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class Flow:
    id: uuid.UUID
    project_id: uuid.UUID
    meta: dict[str, Any]
    aliases: dict[str, uuid.UUID]
    image_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    project_id: uuid.UUID | None
    kind: str
    label: str | None
    prefix: str
    user_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    username: str
    display_name: str
    is_admin: bool
    project_ids: tuple[uuid.UUID, ...]
    created_at: datetime
    signed_out_at: datetime | None = None


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str


@dataclass(frozen=True)
class IssuedKey:
    """A key as created: the only moment its secret text exists outside the client."""

    key: ApiKey
    secret: str
