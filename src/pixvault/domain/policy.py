"""Per-project delivery policy: named presets, presets-only mode, URL signing, AVIF, auto format.

Stored in the project's settings JSON; validated here so a bad setting is refused when it is
written, not discovered by the first visitor.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pixvault.domain.errors import InvalidInput
from pixvault.domain.transform import Limits, parse_transform

_KNOWN = {"presets", "presetsOnly", "signingKeys", "avif", "autoFormat"}


@dataclass(frozen=True)
class DeliveryPolicy:
    presets: dict[str, str]
    presets_only: bool = False
    signing_keys: tuple[str, ...] = ()
    avif: bool = False
    auto_format: bool = False

    @property
    def signature_required(self) -> bool:
        return bool(self.signing_keys)

    @classmethod
    def of(cls, settings: dict[str, Any], *, auto_format_default: bool = False) -> "DeliveryPolicy":
        return cls(
            presets=dict(settings.get("presets") or {}),
            presets_only=bool(settings.get("presetsOnly", False)),
            signing_keys=tuple(settings.get("signingKeys") or ()),
            avif=bool(settings.get("avif", False)),
            auto_format=bool(settings.get("autoFormat", auto_format_default)),
        )


def validate_settings(settings: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """Check a project's settings document; returns it unchanged when valid."""
    unknown = set(settings) - _KNOWN
    if unknown:
        raise InvalidInput(
            f"Unknown project setting(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(_KNOWN))}",
            param="settings",
        )
    presets = settings.get("presets", {})
    if not isinstance(presets, dict):
        raise InvalidInput('presets must be an object like {"thumb": "w=200&h=200&crop=true"}')
    for name, query in presets.items():
        if not isinstance(query, str) or not name.replace("-", "").replace("_", "").isalnum():
            raise InvalidInput(f"preset {name!r} must map a simple name to a query string")
        try:
            parse_transform(parse_qsl(query, keep_blank_values=True), limits, ignore=frozenset())
        except InvalidInput as exc:
            raise InvalidInput(
                f"preset {name!r} is invalid: {exc.message}", param="presets"
            ) from None
    keys = settings.get("signingKeys", [])
    if not isinstance(keys, list) or any(not isinstance(k, str) or len(k) < 16 for k in keys):
        raise InvalidInput("signingKeys must be a list of secrets of 16 characters or more")
    for flag in ("presetsOnly", "avif", "autoFormat"):
        if flag in settings and not isinstance(settings[flag], bool):
            raise InvalidInput(f"{flag} must be true or false", param=flag)
    return settings


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
