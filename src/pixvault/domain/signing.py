"""imgbt's signed delivery URLs: `expires` (unix seconds) and `token`, where the token is
base64url(HMAC-SHA256(secret, PAYLOAD)) and PAYLOAD is three lines: the raw request path as
sent (still percent-encoded), the other query parameters sorted by name and form-encoded,
and `expires` as sent. Verification tries every secret of the vault in constant time and
both serialisations of line 2 that clients produce (WHATWG form encoding, which escapes `~`
but not `*`, and RFC 3986, the other way round)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

SIGNATURE_PARAMS = frozenset({"token", "expires"})


def _form(text: str, safe: str) -> str:
    return quote(text, safe=safe).replace("%20", "+")


def _query_line(params: list[tuple[str, str]], safe: str) -> str:
    ordered = sorted(params, key=lambda pair: pair[0])  # stable: repeats keep their order
    return "&".join(f"{_form(k, safe)}={_form(v, safe)}" for k, v in ordered)


def payloads(path: str, params: list[tuple[str, str]], expires: str) -> tuple[str, ...]:
    rest = [(k, v) for k, v in params if k not in SIGNATURE_PARAMS]
    lines = {_query_line(rest, "-._*"), _query_line(rest, "-._~")}
    return tuple(f"{path}\n{line}\n{expires}" for line in sorted(lines))


def token(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_matches(secrets: tuple[str, ...], candidates: tuple[str, ...], given: str) -> bool:
    given = given.rstrip("=")
    matched = False
    for secret in secrets:
        for payload in candidates:
            matched |= hmac.compare_digest(token(secret, payload), given)
    return matched
