"""Slink accounts: sign-up, sign-in, token refresh and logout, the current user, the user's
own API keys and a ShareX uploader file for one of them."""

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pixvault.domain.errors import InvalidRefreshToken, KeyNotFound, PixvaultError
from pixvault.domain.models import ApiKey, TokenPair
from pixvault.http.common.auth import core_of
from pixvault.http.common.errors import enveloped_route
from pixvault.http.slink.auth import SignedIn, slink_project
from pixvault.http.slink.errors import render_form_error
from pixvault.http.slink.schemas import (
    Created,
    NewKeyOut,
    ShareXConfig,
    Tokens,
    UserKeyList,
    UserOut,
    errors,
)
from pixvault.http.slink.shapes import escape, timestamp

router = APIRouter(prefix="/api", tags=["slink"], route_class=enveloped_route(render_form_error))


class _UnknownRefreshToken(PixvaultError):
    """Logout with a token that is not live: Slink answers a plain 400."""


class SignUp(BaseModel):
    email: str
    username: str
    password: str
    confirm: str


class SignIn(BaseModel):
    username: str
    password: str


class Refresh(BaseModel):
    refresh_token: str


class NewKey(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=100)
    expiresAt: datetime | None = None


def _pair(pair: TokenPair) -> JSONResponse:
    return JSONResponse({"access_token": pair.access_token, "refresh_token": pair.refresh_token})


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/auth/signup",
    status_code=201,
    summary="Slink: create an account",
    response_model=Created,
    responses=errors(400, 422, 503),
)
async def sign_up(request: Request, body: SignUp) -> JSONResponse:
    core = core_of(request)
    user = await core.users.sign_up(
        await slink_project(request),
        email=body.email,
        username=body.username,
        password=body.password,
        confirm=body.confirm,
    )
    return JSONResponse(
        {"id": str(user.id)}, status_code=201, headers={"Location": "/profile/login"}
    )


@router.post(
    "/auth/login",
    summary="Slink: sign in (username or email)",
    response_model=Tokens,
    responses=errors(400, 422, 429, 503),
)
async def log_in(request: Request, body: SignIn) -> JSONResponse:
    core = core_of(request)
    user = await core.users.sign_in(body.username, body.password, client=_client(request))
    return _pair(await core.tokens.issue(user))


@router.post(
    "/auth/refresh",
    summary="Slink: new tokens for a refresh token (it rotates)",
    response_model=Tokens,
    responses=errors(400, 401, 422, 503),
)
async def refresh(request: Request, body: Refresh) -> JSONResponse:
    return _pair(await core_of(request).tokens.refresh(body.refresh_token))


@router.post(
    "/auth/logout",
    status_code=204,
    summary="Slink: revoke the user's refresh tokens",
    responses=errors(400, 401, 422, 503),
)
async def log_out(request: Request, body: Refresh) -> Response:
    try:
        await core_of(request).tokens.log_out(body.refresh_token)
    except InvalidRefreshToken:
        raise _UnknownRefreshToken("Invalid or expired refresh token.") from None
    return Response(status_code=204)


@router.get(
    "/user",
    summary="Slink: the signed-in user",
    response_model=UserOut,
    responses=errors(401, 403, 503),
)
async def current_user(caller: SignedIn) -> JSONResponse:
    user = caller.user
    assert user is not None
    return JSONResponse(
        {
            "data": {
                "id": str(user.id),
                "email": user.email,
                "username": escape(user.username),
                "displayName": escape(user.display_name),
            }
        }
    )


def _key_json(key: ApiKey, moment: datetime) -> dict[str, Any]:
    return {
        "id": str(key.id),
        "name": key.label,
        "createdAt": timestamp(key.created_at),
        "expiresAt": None if key.expires_at is None else timestamp(key.expires_at),
        "lastUsedAt": None if key.last_used_at is None else timestamp(key.last_used_at),
        "isExpired": key.expires_at is not None and key.expires_at <= moment,
    }


@router.post(
    "/user/api-keys",
    summary="Slink: create one of your API keys (shown once)",
    response_model=NewKeyOut,
    responses=errors(400, 401, 403, 422, 503),
)
async def create_key(request: Request, caller: SignedIn, body: NewKey) -> JSONResponse:
    issued = await core_of(request).keys.issue(
        "secret",
        caller.project.id,
        label=body.name,
        expires_at=body.expiresAt,
        user_id=caller.principal.user_id,  # type: ignore[union-attr]
    )
    return JSONResponse({"key": issued.secret, "keyId": str(issued.key.id), "name": body.name})


@router.get(
    "/user/api-keys",
    summary="Slink: your API keys (never their secrets)",
    response_model=UserKeyList,
    responses=errors(401, 403, 503),
)
async def list_keys(request: Request, caller: SignedIn) -> JSONResponse:
    keys = await core_of(request).keys.list(user_id=caller.principal.user_id)  # type: ignore[union-attr]
    moment = datetime.now().astimezone()
    return JSONResponse({"data": [_key_json(k, moment) for k in keys if k.revoked_at is None]})


@router.delete(
    "/user/api-keys/{key_id}",
    status_code=204,
    summary="Slink: revoke one of your keys",
    responses=errors(401, 403, 404, 503),
)
async def revoke_key(request: Request, caller: SignedIn, key_id: str) -> Response:
    try:
        ident = uuid.UUID(key_id)
    except ValueError:
        raise KeyNotFound(key_id) from None  # Slink: not an id, not found
    await core_of(request).keys.revoke_own(caller.principal.user_id, ident)  # type: ignore[union-attr]
    return Response(status_code=204)


@router.get(
    "/user/sharex-config",
    summary="Slink: a ShareX uploader (.sxcu) for a new key",
    response_model=ShareXConfig,
    responses=errors(401, 403, 503),
)
async def sharex_config(request: Request, caller: SignedIn) -> JSONResponse:
    """A new key labelled ShareX goes into the file (keys are stored hashed, so an existing
    one cannot be shown again); revoke it like any other key."""
    core = core_of(request)
    issued = await core.keys.issue(
        "secret",
        caller.project.id,
        label="ShareX",
        user_id=caller.principal.user_id,  # type: ignore[union-attr]
    )
    origin = core.urls.base(str(request.base_url))
    config = {
        "Version": "16.0.0",
        "Name": f"pixvault ({request.url.hostname})",
        "DestinationType": "ImageUploader",
        "RequestMethod": "POST",
        "RequestURL": f"{origin}/api/external/upload",
        "Headers": {"Authorization": f"Bearer {issued.secret}"},
        "Body": "MultipartFormData",
        "FileFormName": "image",
        "URL": f"{origin}/{{json:url}}",
        "ThumbnailURL": f"{origin}/{{json:thumbnailUrl}}",
        "ErrorMessage": "{json:error.message}",
    }
    return JSONResponse(
        config, headers={"Content-Disposition": 'attachment; filename="pixvault.sxcu"'}
    )
