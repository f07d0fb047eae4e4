"""The native envelope `{success: true, data}` and the JSON shapes of its entities."""

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from pixvault.domain.models import Image, Project
from pixvault.domain.paging import Page
from pixvault.http.common.auth import core_of


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def ok(data: Any, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"success": True, "data": data, **extra}, status_code=status)


def paged(page: Page, items: list[Any]) -> JSONResponse:
    pagination = {
        "limit": page.limit,
        "offset": page.offset,
        "total": page.total,
        "hasMore": page.has_more,
    }
    return ok(items, pagination=pagination)


def image_json(request: Request, project: Project, image: Image) -> dict[str, Any]:
    focal = image.focal_point
    url = core_of(request).urls.cdn(project, image, request_base=str(request.base_url))
    return {
        "id": str(image.id),
        "projectId": str(image.project_id),
        "flowId": None if image.flow_id is None else str(image.flow_id),
        "storageKey": image.storage_key,
        "storageUrl": url,
        "mimeType": image.mime_type,
        "fileSize": image.size,
        "width": image.width,
        "height": image.height,
        "source": image.source,
        "alias": image.alias,
        "focalPoint": None if focal is None else {"x": focal.x, "y": focal.y},
        "fileHash": image.sha256,
        "generationId": None,
        "meta": image.meta,
        "blurhash": image.blurhash,
        "dominantColor": image.dominant_color,
        "createdAt": iso(image.created_at),
        "updatedAt": iso(image.updated_at),
        "deletedAt": iso(image.deleted_at),
    }
