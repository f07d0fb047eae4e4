"""Where blobs live in the store. Derivatives sit under their image's prefix, so deleting an
image removes them with one prefix listing."""

import uuid


def original_key(project_id: uuid.UUID, image_id: uuid.UUID) -> str:
    return f"{project_id}/originals/{image_id}"


def derivative_prefix(project_id: uuid.UUID, image_id: uuid.UUID) -> str:
    return f"{project_id}/derived/{image_id}/"


def derivative_key(project_id: uuid.UUID, image_id: uuid.UUID, digest: str) -> str:
    return f"{derivative_prefix(project_id, image_id)}{digest}"
