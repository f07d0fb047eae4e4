"""Sign-in sessions: short-lived JWT access tokens and rotating refresh tokens.

Access tokens are HS256 JWTs (PyJWT) with the user id (`uuid`), `username`, `roles`, `iat` and
`exp`. The signing key is `PIXVAULT_JWT_SECRET`, else one generated on first use and kept in
the database, so every process of a deployment shares it. Refresh tokens are random, stored as
SHA-256 hashes, and work once: refreshing spends the token and hands out a new pair; logging
out revokes every refresh token of the user.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

import jwt
from sqlalchemy.exc import IntegrityError

from pixvault.db.engine import Database
from pixvault.db.queries import users as rows
from pixvault.db.rows import now
from pixvault.domain.errors import InvalidRefreshToken, TokenExpired, TokenInvalid, UserNotFound
from pixvault.domain.ids import new_id
from pixvault.domain.models import TokenPair, User
from pixvault.services.users import UserService

REFRESH_TTL = timedelta(days=30)
_SECRET_NAME = "jwt_signing_key"
_ALGORITHM = "HS256"


def _hash(token: str) -> str:
    # surrogatepass: a token with a lone surrogate (valid JSON, not UTF-8) is one we never issued
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class TokenService:
    def __init__(
        self, db: Database, users: UserService, *, access_ttl: int, secret: str | None = None
    ):
        self.db = db
        self.users = users
        self.access_ttl = access_ttl
        self._secret = secret

    async def signing_key(self) -> str:
        if self._secret is None:
            async with self.db.read() as conn:
                stored = await rows.secret(conn, _SECRET_NAME)
            if stored is None:
                try:
                    async with self.db.write() as conn:
                        await rows.insert_secret(conn, _SECRET_NAME, secrets.token_urlsafe(48))
                except IntegrityError:
                    pass  # another process created it first: use theirs
                async with self.db.read() as conn:
                    stored = await rows.secret(conn, _SECRET_NAME)
            self._secret = stored
        assert self._secret is not None
        return self._secret

    async def issue(self, user: User) -> TokenPair:
        moment = now()
        claims = {
            "uuid": str(user.id),
            "username": user.username,
            "roles": ["ROLE_USER", "ROLE_ADMIN"] if user.is_admin else ["ROLE_USER"],
            "iat": int(moment.timestamp()),
            "exp": int(moment.timestamp()) + self.access_ttl,
        }
        access = jwt.encode(claims, await self.signing_key(), algorithm=_ALGORITHM)
        refresh = secrets.token_urlsafe(48)
        async with self.db.write() as conn:
            await rows.insert_refresh(
                conn,
                {
                    "id": new_id(),
                    "user_id": user.id,
                    "token_hash": _hash(refresh),
                    "created_at": moment,
                    "expires_at": moment + REFRESH_TTL,
                },
            )
        return TokenPair(access, refresh)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """A new pair for a live refresh token, which stops working (rotation)."""
        async with self.db.write() as conn:
            user_id = await rows.use_refresh(conn, _hash(refresh_token), now())
        if user_id is None:
            raise InvalidRefreshToken()
        try:
            user = await self.users.get(user_id)
        except UserNotFound:
            raise InvalidRefreshToken() from None
        return await self.issue(user)

    async def log_out(self, refresh_token: str) -> None:
        """Revoke every refresh token of the token's user; access tokens live until expiry."""
        moment = now()
        async with self.db.write() as conn:
            user_id = await rows.refresh_owner(conn, _hash(refresh_token), moment)
            if user_id is None:
                raise InvalidRefreshToken()
            await rows.revoke_all_refresh(conn, user_id, moment)

    async def verify(self, access_token: str) -> uuid.UUID:
        """The user id an access token was issued to."""
        try:
            claims = jwt.decode(
                access_token,
                await self.signing_key(),
                algorithms=[_ALGORITHM],
                options={"require": ["exp", "iat", "uuid"]},
            )
            return uuid.UUID(claims["uuid"])
        except jwt.ExpiredSignatureError:
            raise TokenExpired() from None
        except (jwt.InvalidTokenError, ValueError, TypeError):
            raise TokenInvalid() from None
