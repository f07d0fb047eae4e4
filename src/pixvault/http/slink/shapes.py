"""The JSON shapes of Slink v1.9.1: image detail, list items, timestamps, escaped text."""

import html
import uuid
from datetime import datetime
from typing import Any

from pixvault.domain.models import Image
from pixvault.domain.transform import FORMAT_EXTENSION, MIME_FORMAT

GUEST_OWNER = {"id": "guest", "username": "guest", "displayName": "Guest"}


def escape(text: str | None) -> str:
    """Slink's EscapedString: decode entities once, then escape `& < > " '`."""
    raw = html.unescape(text or "")
    return (
        raw.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


def extension(image: Image) -> str:
    fmt = MIME_FORMAT.get(image.mime_type)
    return FORMAT_EXTENSION.get(fmt or "", "bin")


def file_name(image: Image) -> str:
    return f"{image.id}.{extension(image)}"


def timestamp(value: datetime) -> str:
    """ISO 8601 with microseconds and the UTC offset, as Slink writes it."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def detail(image: Image, views: int) -> dict[str, Any]:
    fields = {
        "id": str(image.id),
        "fileName": file_name(image),
        "description": escape(image.description),
        "isPublic": image.is_public,
        "createdAt": timestamp(image.created_at),
        "updatedAt": None if image.updated_at == image.created_at else timestamp(image.updated_at),
        "views": views,
        "size": image.size,
        "mimeType": image.mime_type,
        "width": image.width,
        "height": image.height,
        "supportsResize": image.width is not None,
        "url": f"/image/{file_name(image)}",
        "blurhash": image.blurhash,
        "dominantColor": image.dominant_color,
    }
    # Slink's client unwraps `data`; clients written from the seed read the flat object.
    return {"data": fields, **fields}


def owner(image: Image, names: dict[uuid.UUID, tuple[str, str]]) -> dict[str, Any]:
    """The owner without their email (never shown to other users)."""
    if image.owner_id is None or image.owner_id not in names:
        return GUEST_OWNER
    username, display = names[image.owner_id]
    return {"id": str(image.owner_id), "username": escape(username), "displayName": escape(display)}


def item(image: Image, names: dict[uuid.UUID, tuple[str, str]], views: int) -> dict[str, Any]:
    return {
        "id": str(image.id),
        "owner": owner(image, names),
        "attributes": {
            "fileName": file_name(image),
            "description": escape(image.description),
            "isPublic": image.is_public,
            "createdAt": {
                "formattedDate": image.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "timestamp": int(image.created_at.timestamp()),
            },
            "views": views,
        },
        "metadata": {
            "size": image.size,
            "mimeType": image.mime_type,
            "width": image.width,
            "height": image.height,
            "blurhash": image.blurhash,
            "dominantColor": image.dominant_color,
        },
    }
