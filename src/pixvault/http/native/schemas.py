"""The native API's documented response shapes, for `/docs` only: routes build their JSON in
`responses.py` and return it as is, so these models never run on a request. `extra="forbid"`
makes every field part of the contract: the OpenAPI test fails when a route returns a field
documented nowhere."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pixvault.http.common.openapi import error_responses


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FocalPointOut(_Shape):
    x: float
    y: float


class ImageOut(_Shape):
    id: str = Field(description="UUID")
    projectId: str
    flowId: str | None
    storageKey: str
    storageUrl: str = Field(description="the public CDN URL of the original")
    mimeType: str
    fileSize: int
    width: int | None
    height: int | None
    source: str
    alias: str | None = Field(description="@name, unique in the project")
    focalPoint: FocalPointOut | None
    fileHash: str = Field(description="SHA-256 of the stored bytes, hex")
    generationId: None
    meta: dict[str, Any]
    blurhash: str | None = Field(description="BlurHash placeholder")
    dominantColor: str | None = Field(description="#rrggbb")
    createdAt: str
    updatedAt: str
    deletedAt: str | None


class FlowOut(_Shape):
    id: str
    projectId: str
    aliases: dict[str, str] = Field(description="@alias → image id, scoped to the flow")
    generationCount: int
    imageCount: int
    meta: dict[str, Any]
    createdAt: str
    updatedAt: str


class ProjectOut(_Shape):
    id: str
    org: str
    slug: str
    name: str
    vaultId: str = Field(description="the same project on the vault API")
    settings: dict[str, Any]
    createdAt: str


class KeyOut(_Shape):
    id: str
    kind: str = Field(description="secret | public | master")
    projectId: str | None
    label: str | None
    prefix: str
    createdAt: str
    expiresAt: str | None
    lastUsedAt: str | None
    revokedAt: str | None


class IssuedKeyOut(KeyOut):
    key: str = Field(description="the secret, shown only in this answer")


class DeletedOut(_Shape):
    id: str


class Pagination(_Shape):
    limit: int
    offset: int
    total: int
    hasMore: bool


class _Ok(_Shape):
    success: bool = Field(True, description="always true")


class ImageAnswer(_Ok):
    data: ImageOut


class ImageList(_Ok):
    data: list[ImageOut]
    pagination: Pagination


class FlowAnswer(_Ok):
    data: FlowOut


class FlowList(_Ok):
    data: list[FlowOut]
    pagination: Pagination


class ProjectAnswer(_Ok):
    data: ProjectOut


class ProjectList(_Ok):
    data: list[ProjectOut]


class KeyAnswer(_Ok):
    data: KeyOut


class KeyList(_Ok):
    data: list[KeyOut]


class IssuedKeyAnswer(_Ok):
    data: IssuedKeyOut


class DeletedAnswer(_Ok):
    data: DeletedOut
    message: str


class NativeErrorBody(_Shape):
    code: str = Field(description="machine-readable, e.g. VALIDATION_ERROR, IMAGE_NOT_FOUND")
    message: str = Field(description="what was wrong and how to fix it")


class NativeError(_Shape):
    """The native error envelope, on the API and on CDN URLs."""

    success: bool = Field(False, description="always false")
    error: NativeErrorBody


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a native route: each status in the native error envelope."""
    return error_responses(NativeError, statuses)
