"""Identifiers: time-ordered UUIDv7 for rows; the vault API shows the same 128 bits as ULID text."""

import uuid

import uuid_utils
from ulid import ULID

from pixvault.domain.errors import InvalidInput


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)


def to_ulid(value: uuid.UUID) -> str:
    return str(ULID.from_bytes(value.bytes))


def from_ulid(text: str) -> uuid.UUID:
    return uuid.UUID(bytes=ULID.from_str(text).bytes)


def from_prefixed_ulid(text: str, prefix: str) -> uuid.UUID | None:
    """The id behind `vault_…`/`asset_…` (ULID case-insensitive), or None if malformed."""
    if not text.startswith(prefix):
        return None
    try:
        return from_ulid(text[len(prefix) :].upper())
    except ValueError:
        return None


def parse_uuid(text: str, *, param: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(f"{param} must be a UUID, got {text!r}", param=param) from None


def looks_like_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36
