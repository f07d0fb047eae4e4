"""The web UI's session: one signed cookie holding the signed-in user and a CSRF token.

The cookie is an itsdangerous-signed (HMAC-SHA1 over a derived key), timestamped document
`{"u": USER_ID or null, "c": CSRF_TOKEN}`. Its key is derived from the instance's JWT signing
key (`PIXVAULT_JWT_SECRET`, else the one kept in the database), so every process of a
deployment accepts every other's cookies and nothing new is stored. The cookie is HttpOnly,
SameSite=Lax, limited to `/ui`, and Secure when the UI is reached over https.

CSRF: every visitor, signed in or not, gets a random token in the cookie; state-changing
requests must echo it, as a `csrf` form field or an `X-CSRF-Token` header (scripts). A
cross-site page can neither read the cookie nor the token, so it cannot forge either. The
token is replaced at sign-in and sign-out (no fixation).
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from pixvault.domain.errors import Forbidden
from pixvault.services.core import Core

COOKIE = "pixvault_ui"
COOKIE_PATH = "/ui"
MAX_AGE = 7 * 24 * 3600  # a sign-in lasts a week
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
_SALT = "pixvault.web.session"


class CsrfRejected(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "This form has expired or did not come from this site; reload the page and try again"
        )


@dataclass
class Session:
    csrf: str
    user_id: uuid.UUID | None = None
    changed: bool = False  # the response must carry a new cookie
    issued: datetime | None = None  # when the cookie was signed (None: made by this request)

    @classmethod
    def fresh(cls, user_id: uuid.UUID | None = None) -> Session:
        return cls(secrets.token_urlsafe(32), user_id, changed=True)


async def _serializer(core: Core) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(await core.tokens.signing_key(), salt=_SALT)


async def load(request: Request, core: Core) -> Session:
    """The request's session (cached on the request); a new anonymous one when the cookie is
    missing, forged or older than MAX_AGE."""
    cached = getattr(request.state, "ui_session", None)
    if cached is not None:
        return cached
    session = Session.fresh()
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data, issued = (await _serializer(core)).loads(
                raw, max_age=MAX_AGE, return_timestamp=True
            )
            csrf, user = data["c"], data["u"]
            if isinstance(csrf, str) and len(csrf) >= 32:
                session = Session(csrf, None if user is None else uuid.UUID(user), issued=issued)
        except (BadSignature, KeyError, TypeError, ValueError):
            pass
    request.state.ui_session = session
    return session


def sign_in(request: Request, user_id: uuid.UUID) -> Session:
    session = Session.fresh(user_id)
    request.state.ui_session = session
    return session


def sign_out(request: Request) -> Session:
    session = Session.fresh()
    request.state.ui_session = session
    return session


async def save(request: Request, core: Core, response: Response) -> Response:
    """Attach the session cookie to `response` when the session changed."""
    session: Session | None = getattr(request.state, "ui_session", None)
    if session is None or not session.changed:
        return response
    value = (await _serializer(core)).dumps(
        {"u": None if session.user_id is None else str(session.user_id), "c": session.csrf}
    )
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


def check_csrf(session: Session, given: str | None) -> None:
    if not given or not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise CsrfRejected()
