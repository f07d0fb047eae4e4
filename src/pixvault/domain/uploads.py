"""Upload policies: what one API surface accepts, chosen per surface, enforced by the core."""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
# Slink's image formats that pixvault decodes (BMP is stored as PNG: see imaging/probe.py).
SLINK_TYPES = frozenset({*IMAGE_TYPES, "image/gif", "image/avif", "image/bmp"})


@dataclass(frozen=True)
class UploadPolicy:
    """`max_bytes` is refused as soon as the body crosses it; `allowed_types` None accepts
    any type (images among them are still probed for their dimensions)."""

    max_bytes: int
    allowed_types: frozenset[str] | None = IMAGE_TYPES
    # False: a file that looks like an image but cannot be decoded is stored as it is, with
    # no dimensions (the vault surface), instead of refused.
    strict_images: bool = True
