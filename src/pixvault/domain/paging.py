"""Pages of a list: offset pages (page numbers, totals) and keyset pages (cursors).

Keyset pages continue from the position of the last item seen, in either direction (older:
newest first; newer: oldest first), instead of skipping `offset` rows, so the cost of a page
does not grow with its depth. Image ids are UUIDv7, minted with
the row's `created_at`: their order is creation order, so a position is just an id and the
(project, id) index serves every page. Each surface encodes positions in its own cursor
tokens; the core never sees them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pixvault.domain.errors import InvalidInput
from pixvault.domain.text import plain

MAX_PAGE = 100
MAX_OFFSET = 2**63 - 1  # the databases' OFFSET is a signed 64-bit integer
Direction = Literal["older", "newer"]


def check_limit(limit: int, maximum: int = MAX_PAGE) -> None:
    if not 1 <= limit <= maximum:
        raise InvalidInput(f"limit must be from 1 to {maximum}, got {limit}", param="limit")


def check_page(limit: int, offset: int, maximum: int = MAX_PAGE) -> None:
    check_limit(limit, maximum)
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset must be from 0 to {MAX_OFFSET}, got {offset}", param="offset")


@dataclass(frozen=True)
class Page:
    """An offset page with the total of the whole list."""

    items: list[Any]
    total: int
    limit: int
    offset: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


@dataclass(frozen=True)
class Keyset:
    """Where a keyset page starts: past `position` in `direction` (None: the newest item)."""

    position: uuid.UUID | None = None
    direction: Direction = "older"


@dataclass(frozen=True)
class KeysetPage:
    """Up to `limit` items in the order read (newest first for "older", oldest first for
    "newer"); `has_more` says items lie beyond the page in that direction."""

    items: list[Any]
    limit: int
    has_more: bool
    direction: Direction = "older"

    @property
    def next(self) -> Keyset | None:
        """The page after this one in the same direction, if any."""
        if not self.has_more:
            return None
        return Keyset(self.items[-1].id, self.direction)


SEARCHABLE = frozenset({"filename", "description", "alias", "tags", "owner"})
ORDERABLE = (
    "created_at",
    "updated_at",
    "views",
    "description",
    "filename",
    "size",
    "width",
    "height",
    "id",
)


@dataclass(frozen=True)
class ImageFilter:
    """Which images a list shows; every field narrows it. `search` matches, case-insensitively
    and with `%` and `_` taken literally, any of the `search_in` fields (`owner`: the owner's
    username or display name)."""

    flow_id: uuid.UUID | None = None
    source: str | None = None
    alias: str | None = None
    include_deleted: bool = False
    owner_id: uuid.UUID | None = None
    public_only: bool = False
    private_only: bool = False
    partition: str | None = None
    collection: str | None = None
    channel: str | None = None
    in_folders: bool = False  # only files with a folder path (the vault surface's assets)
    search: str | None = None
    search_in: frozenset[str] = frozenset({"filename", "description", "alias", "tags"})
    sha256: str | None = None  # lowercase hex: the project's files with this content

    def __post_init__(self) -> None:
        for name in ("source", "alias", "search", "partition", "collection", "channel"):
            value = getattr(self, name)
            if value is not None:
                plain(value, name)

    @property
    def is_whole_project(self) -> bool:
        """True when the list is every (live) image: its total is the project's counter."""
        narrowing = (
            self.flow_id, self.source, self.alias, self.owner_id, self.search or None,
            self.partition, self.collection, self.channel, self.sha256,
        )  # fmt: skip
        return narrowing == (None,) * 9 and not (
            self.public_only or self.private_only or self.in_folders
        )


def parse_sha256(text: str, param: str) -> str:
    """A SHA-256 content hash as 64 hex digits (any case), lowercased."""
    digest = text.strip().lower()
    if len(digest) != 64 or not set(digest) <= set("0123456789abcdef"):
        raise InvalidInput(
            f"{param} must be a SHA-256 as 64 hex digits, got {text[:80]!r}", param=param
        )
    return digest


@dataclass(frozen=True)
class Order:
    """The order of an offset page; ties are broken by id in the same direction."""

    field: str = "created_at"
    descending: bool = True

    def __post_init__(self) -> None:
        if self.field not in ORDERABLE:
            raise InvalidInput(
                f"Cannot order by {self.field!r}; use one of: {', '.join(ORDERABLE)}",
                param="orderBy",
            )
