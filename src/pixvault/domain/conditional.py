"""The conditional and partial parts of a GET (RFC 9110): entity tags and byte ranges."""

from __future__ import annotations

from pixvault.domain.errors import RangeNotSatisfiable


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether `If-None-Match` names this (strong) tag, weakly compared, or `*`."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One `bytes=` range as [start, end); None means "ignore Range, send everything"."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        raise RangeNotSatisfiable("Only a single byte range is supported per request", size=size)
    first, dash, last = spec.strip().partition("-")
    if not dash or (not first and not last):
        return None
    try:
        if not first:
            suffix = int(last)
            start, end = max(0, size - suffix), size
        else:
            start = int(first)
            end = min(size, int(last) + 1) if last else size
    except ValueError:
        return None
    if start >= size or start >= end:
        raise RangeNotSatisfiable(f"Range {spec} is outside the {size}-byte body", size=size)
    return start, end
