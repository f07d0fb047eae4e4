"""Folder paths of files (imgbt's partition/collection/channel/filename), their names and the
JSON text fields that come with them. Pure rules; every surface that stores folder paths
uses these."""

from __future__ import annotations

import re
from typing import Any

from pixvault.domain.errors import InvalidInput
from pixvault.domain.text import has_control, parse_json, parse_json_object, storable

FOLDER_LEVELS = ("partition", "collection", "channel")
_FOLDER = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
PLACEHOLDER_NAMES = frozenset({"upload", "blob"})
MAX_TAGS = 100
MAX_TAG = 256

Folders = tuple[str, str, str]


def validate_folder(value: object, level: str) -> str:
    if not isinstance(value, str) or not _FOLDER.fullmatch(value):
        raise InvalidInput(
            f"{level} must be 1-64 lowercase letters, digits or '-', starting and ending with "
            f"a letter or digit; got {value!r}",
            param=level,
        )
    return value


def validate_filename(name: str) -> str:
    """1-255 bytes of UTF-8, no `/`, `\\`, control characters or `..`."""
    if (
        not name
        or not storable(name)
        or len(name.encode()) > 255
        or "/" in name
        or "\\" in name
        or ".." in name
        or has_control(name)
    ):
        raise InvalidInput(
            f"Invalid filename {name!r}: use 1-255 bytes without '/', '\\\\', '..' or control "
            "characters",
            param="filename",
        )
    return name


def parse_path(path: str) -> tuple[Folders, str]:
    """`partition/collection/channel/filename` (a leading `/` is ignored)."""
    parts = path.lstrip("/").split("/")
    if len(parts) != 4:
        raise InvalidInput(
            f"A path is partition/collection/channel/filename, got {path!r}", param="path"
        )
    folders = tuple(
        validate_folder(v, level) for v, level in zip(parts, FOLDER_LEVELS, strict=False)
    )
    return folders, validate_filename(parts[3])  # type: ignore[return-value]


def parse_metadata(text: str | None) -> dict[str, Any]:
    if text is None or text == "":
        return {}
    return parse_json_object(text, "metadata")


def parse_tags(text: str | None) -> list[str]:
    if text is None or text == "":
        return []
    return validate_tags(parse_json(text, "tags"))


def validate_tags(value: object) -> list[str]:
    if (
        not isinstance(value, list)
        or len(value) > MAX_TAGS
        or any(not isinstance(t, str) or not 1 <= len(t) <= MAX_TAG for t in value)
    ):
        raise InvalidInput(
            f"tags must be a JSON array of at most {MAX_TAGS} strings of 1-{MAX_TAG} characters",
            param="tags",
        )
    return value


def merge_metadata(stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Shallow merge; a key set to null is removed."""
    merged = {**stored, **patch}
    return {k: v for k, v in merged.items() if v is not None}
