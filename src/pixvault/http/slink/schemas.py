"""Slink's documented response shapes (v1.9.1), for `/docs` only: routes build their JSON in
`shapes.py` and `account.py` and return it as is. `extra="forbid"` makes every field part of
the contract, so the OpenAPI test fails on a field documented nowhere."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pixvault.http.common.openapi import error_responses


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Created(_Shape):
    id: str


class ExternalUpload(_Shape):
    url: str = Field(description="relative delivery URL, `image/{id}.{ext}`")
    thumbnailUrl: str
    id: str


class Tokens(_Shape):
    access_token: str = Field(description="JWT; send as `Authorization: Bearer ...`")
    refresh_token: str


class UserFields(_Shape):
    id: str
    email: str
    username: str
    displayName: str


class UserOut(_Shape):
    data: UserFields


class NewKeyOut(_Shape):
    key: str = Field(description="the secret, shown only in this answer")
    keyId: str
    name: str


class KeyItem(_Shape):
    id: str
    name: str | None
    createdAt: str
    expiresAt: str | None
    lastUsedAt: str | None
    isExpired: bool


class UserKeyList(_Shape):
    data: list[KeyItem]


class ShareXConfig(_Shape):
    """A ShareX custom uploader (.sxcu), with a new key in its Authorization header."""

    Version: str
    Name: str
    DestinationType: str
    RequestMethod: str
    RequestURL: str
    Headers: dict[str, str]
    Body: str
    FileFormName: str
    URL: str
    ThumbnailURL: str
    ErrorMessage: str


class DetailFields(_Shape):
    id: str
    fileName: str
    description: str
    isPublic: bool
    createdAt: str
    updatedAt: str | None
    views: int
    size: int
    mimeType: str
    width: int | None
    height: int | None
    supportsResize: bool
    url: str
    blurhash: str | None
    dominantColor: str | None


class ImageDetail(DetailFields):
    """The fields flat (as the seed's clients read them) and under `data` (as Slink's do)."""

    data: DetailFields


class Owner(_Shape):
    id: str
    username: str
    displayName: str


class CreatedAt(_Shape):
    formattedDate: str
    timestamp: int


class ItemAttributes(_Shape):
    fileName: str
    description: str
    isPublic: bool
    createdAt: CreatedAt
    views: int


class ItemMetadata(_Shape):
    size: int
    mimeType: str
    width: int | None
    height: int | None
    blurhash: str | None
    dominantColor: str | None


class ListItem(_Shape):
    id: str
    owner: Owner
    attributes: ItemAttributes
    metadata: ItemMetadata


class ListMeta(_Shape):
    size: int
    page: int
    total: int
    nextCursor: str | None = Field(None, description="only when there is a next page")


class ImagePage(_Shape):
    meta: ListMeta
    data: list[ListItem]


class ImagesById(_Shape):
    data: list[ListItem]


class Violation(_Shape):
    property: str
    message: str


class SlinkErrorBody(_Shape):
    title: str | None = Field(None, description="e.g. Validation Failed, NotFoundException")
    message: str
    violations: list[Violation] | None = Field(None, description="422 and Specification Error")
    code: str | None = Field(None, description="INVALID_API_KEY on /api/external")


class SlinkError(_Shape):
    """Slink's `{"error": ...}` envelope (as `application/vnd.api+json`)."""

    error: SlinkErrorBody


class TokenError(_Shape):
    """LexikJWT's 401 for a missing or bad access token (`WWW-Authenticate: Bearer`)."""

    code: int
    message: str


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a Slink route: 401 may be LexikJWT's shape, the rest Slink's."""
    found = error_responses(SlinkError, statuses, media_types=("application/vnd.api+json",))
    if 401 in found:
        found[401]["model"] = TokenError | SlinkError
    return found
