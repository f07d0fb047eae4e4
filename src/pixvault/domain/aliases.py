"""The alias grammar shared by project and flow aliases.

`@` then 1-64 letters, digits, `_` or `-`, starting with a letter or digit. The technical
aliases are computed from a flow's history and can never be assigned.
"""

import re

from pixvault.domain.errors import InvalidAlias

TECHNICAL = frozenset({"@last", "@first", "@upload"})
_GRAMMAR = re.compile(r"@[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_RULE = (
    "an alias is '@' followed by 1-64 letters, digits, '_' or '-', starting with a letter or digit"
)


def validate_alias(alias: object, *, param: str = "alias") -> str:
    """Return the alias if it may be assigned, else raise ALIAS_FORMAT_CHECK."""
    if not isinstance(alias, str) or not _GRAMMAR.fullmatch(alias):
        raise InvalidAlias(f"Invalid {param} {alias!r}: {_RULE}", param=param)
    if alias in TECHNICAL:
        raise InvalidAlias(
            f"{param} {alias!r} is reserved: {', '.join(sorted(TECHNICAL))} are computed per flow",
            param=param,
        )
    return alias


def is_alias_reference(text: str) -> bool:
    return text.startswith("@")
