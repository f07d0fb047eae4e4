"""Durations as operators type them on the command line: `90`, `90s`, `15m`, `1h`, `30d`."""

import re
from datetime import timedelta

from pixvault.domain.errors import InvalidInput

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")


def parse_duration(text: str) -> timedelta:
    """`90`, `90s`, `15m`, `1h`, `30d`, `2w` → timedelta (a bare number is seconds)."""
    match = _DURATION.match(text)
    if match is None:
        raise InvalidInput(
            f"{text!r} is not a duration; use a number with s, m, h, d or w, like 1h or 30d"
        )
    return timedelta(seconds=float(match[1]) * _UNITS[match[2] or "s"])
