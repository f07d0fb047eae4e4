"""Per-project settings: named presets, presets-only mode, URL signing, AVIF, auto format.

Stored as the project's settings JSON and parsed once, when the project is loaded, into a
typed, validated `ProjectSettings`; a bad document is refused when it is written, not
discovered by the first visitor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from pixvault.domain.errors import InvalidInput
from pixvault.domain.transform import Limits, parse_transform

_PRESET_NAME = re.compile(r"[A-Za-z0-9_-]+")
SigningKey = Annotated[str, StringConstraints(min_length=16)]


class ProjectSettings(BaseModel):
    """The settings document, in its JSON names (`presetsOnly`, `signingKeys`, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    presets: dict[str, str] = Field(default_factory=dict)
    presets_only: StrictBool = Field(False, alias="presetsOnly")
    # Presets rendered in the background right after each upload, so a first visit is a hit.
    eager_presets: tuple[str, ...] = Field((), alias="eagerPresets")
    signing_keys: tuple[SigningKey, ...] = Field((), alias="signingKeys")
    avif: StrictBool | None = None  # None: the instance's AVIF_BY_DEFAULT
    auto_format: StrictBool | None = Field(None, alias="autoFormat")
    # Secrets of the vault surface's signed URLs: the first signs, all verify (rotation).
    vault_signing_keys: tuple[SigningKey, ...] = Field((), alias="vaultSigningKeys")
    # Bytes of stored derivatives kept, least recently used evicted first; 0 is no quota,
    # None the instance's DERIVATIVE_QUOTA_BYTES.
    derivative_quota_bytes: StrictInt | None = Field(None, alias="derivativeQuotaBytes", ge=0)

    @field_validator("presets")
    @classmethod
    def _simple_names(cls, presets: dict[str, str]) -> dict[str, str]:
        for name in presets:
            if not _PRESET_NAME.fullmatch(name):
                raise ValueError(f"preset {name!r} must map a simple name to a query string")
        return presets

    @model_validator(mode="after")
    def _eager_presets_exist(self) -> ProjectSettings:
        unknown = [name for name in self.eager_presets if name not in self.presets]
        if unknown:
            raise ValueError(f"eagerPresets names unknown presets: {', '.join(unknown)}")
        return self

    @property
    def signature_required(self) -> bool:
        return bool(self.signing_keys)

    def avif_or(self, default: bool) -> bool:
        return default if self.avif is None else self.avif

    def auto_format_or(self, default: bool) -> bool:
        return default if self.auto_format is None else self.auto_format

    def as_document(self) -> dict[str, Any]:
        """The JSON document as it was written (only the settings that were given)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    @classmethod
    def parse(cls, document: dict[str, Any], limits: Limits) -> ProjectSettings:
        """Validate a document someone is writing, presets included; InvalidInput if bad."""
        try:
            settings = cls.model_validate(document)
        except ValidationError as exc:
            raise InvalidInput(_describe(exc), param="settings") from None
        for name, query in settings.presets.items():
            try:
                parse_transform(
                    parse_qsl(query, keep_blank_values=True), limits, ignore=frozenset()
                )
            except InvalidInput as exc:
                raise InvalidInput(
                    f"preset {name!r} is invalid: {exc.message}", param="presets"
                ) from None
        return settings


def _describe(exc: ValidationError) -> str:
    known = ", ".join(f.alias or n for n, f in ProjectSettings.model_fields.items())
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "settings"
        if error["type"] == "extra_forbidden":
            parts.append(f"unknown project setting {where}; known: {known}")
        else:
            parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def signature(key: str, path: str, canonical: str) -> str:
    """base64url(HMAC-SHA256(key, PATH + "?" + CANONICAL_TRANSFORM)), unpadded."""
    digest = hmac.new(key.encode(), f"{path}?{canonical}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signature_matches(keys: tuple[str, ...], path: str, canonical: str, given: str) -> bool:
    """Constant-time check against every active key (several allow rotation)."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(signature(key, path, canonical), given)
    return matched
