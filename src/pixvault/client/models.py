"""Typed results of the native API: plain frozen dataclasses built from its JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class FocalPoint:
    x: float
    y: float


@dataclass(frozen=True)
class Image:
    """One image as `GET /api/v1/images/{id}` shows it."""

    id: str
    project_id: str
    flow_id: str | None
    url: str
    mime_type: str
    size: int
    width: int | None
    height: int | None
    sha256: str
    alias: str | None
    source: str | None
    focal_point: FocalPoint | None
    meta: dict[str, Any]
    blurhash: str | None
    dominant_color: str | None
    created_at: datetime | None
    updated_at: datetime | None
    deleted_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Image:
        focal = data.get("focalPoint")
        return cls(
            id=data["id"],
            project_id=data["projectId"],
            flow_id=data.get("flowId"),
            url=data["storageUrl"],
            mime_type=data["mimeType"],
            size=data["fileSize"],
            width=data.get("width"),
            height=data.get("height"),
            sha256=data["fileHash"],
            alias=data.get("alias"),
            source=data.get("source"),
            focal_point=None if focal is None else FocalPoint(focal["x"], focal["y"]),
            meta=data.get("meta") or {},
            blurhash=data.get("blurhash"),
            dominant_color=data.get("dominantColor"),
            created_at=_when(data.get("createdAt")),
            updated_at=_when(data.get("updatedAt")),
            deleted_at=_when(data.get("deletedAt")),
            raw=data,
        )


@dataclass(frozen=True)
class Page:
    """One page of a list with the total of the whole (filtered) list."""

    items: list[Image]
    total: int
    limit: int
    offset: int
    has_more: bool
