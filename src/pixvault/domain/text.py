"""Text at the edge of the core: control characters refused (PostgreSQL cannot store NUL,
and no name needs them) and JSON parsed with a bound on nesting depth, so no input can reach
a database or a recursion limit as a 500."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pixvault.domain.errors import InvalidInput

MAX_JSON_DEPTH = 32
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def plain(value: str, param: str) -> str:
    """The value if it has no control characters and is valid Unicode (no lone surrogates:
    no database stores them), else a 400 naming `param`."""
    if has_control(value):
        raise InvalidInput(f"{param} may not contain control characters", param=param)
    _storable(value, param)
    return value


def load_json(text: str, param: str) -> Any:
    """The JSON value of `text` (syntax only: see `check_value` for what may be stored)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{param} is not valid JSON: {exc.msg} at position {exc.pos}", param=param
        ) from None
    except RecursionError:
        _too_deep(param)


def parse_json(text: str, param: str) -> Any:
    """Strict JSON that can be stored: see `check_value`."""
    value = load_json(text, param)
    check_value(value, param)
    return value


def parse_json_object(text: str, param: str) -> dict[str, Any]:
    value = parse_json(text, param)
    if not isinstance(value, dict):
        raise InvalidInput(f'{param} must be a JSON object, like {{"tag": "hero"}}', param=param)
    return value


def check_value(value: Any, param: str) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH (counted without recursion), numbers
    JSON cannot hold (NaN, infinities: Python's parser lets them through) and text no
    database can store (lone surrogates)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise InvalidInput(f"{param} holds {item}, which is not a JSON number", param=param)
        if isinstance(item, str):
            _storable(item, param)
        elif isinstance(item, dict):
            for key in item:
                _storable(str(key), param)
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                _too_deep(param)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def storable(text: str) -> bool:
    """Whether `text` is valid Unicode (JSON can carry lone surrogates; no database stores
    them and UTF-8 cannot encode them)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _storable(text: str, param: str) -> None:
    if not storable(text):
        raise InvalidInput(f"{param} holds text that is not valid Unicode", param=param)


def _too_deep(param: str) -> None:
    raise InvalidInput(f"{param} is nested more than {MAX_JSON_DEPTH} levels deep", param=param)
