"""The asset record of the imgbt contract: the documented snake_case fields exactly
(`metadata` and `tags` as JSON strings, timestamps to the second) plus the SDK's."""

import json
from datetime import datetime
from typing import Any

from fastapi import Request

from pixvault.domain.models import Image, Project, asset_id
from pixvault.http.common.auth import core_of
from pixvault.services.urls import vault_path


def timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def asset_json(request: Request, project: Project, image: Image) -> dict[str, Any]:
    ident = asset_id(image.id)
    path = vault_path(image)
    url = core_of(request).urls.vault(project, image, request_base=str(request.base_url))
    return {
        "id": ident,
        "vault_id": project.vault_id,
        "partition": image.partition,
        "collection": image.collection,
        "channel": image.channel,
        "filename": image.filename,
        "r2_key": f"{project.vault_id}/{image.partition}/{image.collection}/{image.channel}/"
        f"{ident}_{image.filename}",
        "size": image.size,
        "mime_type": image.mime_type,
        "width": image.width,
        "height": image.height,
        "metadata": json.dumps(image.meta, ensure_ascii=False, separators=(",", ":")),
        "tags": json.dumps(image.tags, ensure_ascii=False, separators=(",", ":")),
        "created_at": timestamp(image.created_at),
        "updated_at": timestamp(image.updated_at),
        "vault": project.vault_id,
        "path": path,
        "url": url,
        "content_type": image.mime_type,
        "pages": None,
        "blurhash": image.blurhash,
        "dominant_color": image.dominant_color,
    }
