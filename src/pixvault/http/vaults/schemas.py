"""The vault (imgbt) API's documented response shapes, for `/docs` only: routes build their
JSON in `shapes.py` and return it as is. `extra="forbid"` makes every field part of the
contract, so the OpenAPI test fails on a field documented nowhere."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pixvault.http.common.openapi import error_responses


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssetOut(_Shape):
    id: str = Field(description="asset_ + ULID")
    vault_id: str
    partition: str | None
    collection: str | None
    channel: str | None
    filename: str | None
    r2_key: str
    size: int
    mime_type: str
    width: int | None
    height: int | None
    metadata: str = Field(description="a JSON object, as a string")
    tags: str = Field(description="a JSON array of strings, as a string")
    created_at: str
    updated_at: str
    vault: str
    path: str = Field(description="partition/collection/channel/filename")
    url: str = Field(description="the public delivery URL")
    content_type: str
    pages: None
    blurhash: str | None
    dominant_color: str | None


class AssetPage(_Shape):
    data: list[AssetOut]
    cursor: str | None = Field(description="pass as ?cursor= for the next page")
    has_more: bool


class SignedUrl(_Shape):
    url: str


class VaultErrorBody(_Shape):
    code: str = Field(description="e.g. INVALID_PARAMS, ASSET_NOT_FOUND, UNAUTHORIZED")
    message: str = Field(description="what was wrong and how to fix it")
    status: int


class VaultError(_Shape):
    """The vault error envelope, on the API and on delivery URLs."""

    error: VaultErrorBody


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a vault route: each status in the vault error envelope."""
    return error_responses(VaultError, statuses)


class AssetChange(_Shape):
    metadata: dict[str, Any] | None = Field(None, description="merged; a null value removes a key")
    tags: list[str] | None = Field(None, description="replaces the tags")


class SignRequest(_Shape):
    path: str = Field(description="partition/collection/channel/filename")
    expires_at: int = Field(description="unix seconds, in the future")
    vault: str | None = Field(None, description="the key's vault id or slug (optional)")


class RevokeRequest(_Shape):
    path: str = Field(description="a signed URL, its token, or an asset path (revokes all)")
    vault: str | None = Field(None, description="the key's vault id or slug (optional)")
