"""Where blobs live in the store. Derivatives sit under their image's prefix, so deleting an
image removes them with one prefix listing."""

import uuid
from typing import Literal

BlobKind = Literal["original", "derived"]


def original_key(project_id: uuid.UUID, image_id: uuid.UUID) -> str:
    return f"{project_id}/originals/{image_id}"


def derivative_prefix(project_id: uuid.UUID, image_id: uuid.UUID) -> str:
    return f"{project_id}/derived/{image_id}/"


def derivative_key(project_id: uuid.UUID, image_id: uuid.UUID, digest: str) -> str:
    return f"{derivative_prefix(project_id, image_id)}{digest}"


def parse_key(key: str) -> tuple[BlobKind, uuid.UUID, uuid.UUID] | None:
    """(kind, project id, image id) of a key laid out as above; None for anything else."""
    parts = key.split("/")
    try:
        if len(parts) == 3 and parts[1] == "originals":
            return "original", uuid.UUID(parts[0]), uuid.UUID(parts[2])
        if len(parts) == 4 and parts[1] == "derived":
            return "derived", uuid.UUID(parts[0]), uuid.UUID(parts[2])
    except ValueError:
        return None
    return None
