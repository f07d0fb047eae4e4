"""The imgbt assets API over pixvault's core: upload, list, get, update and delete files of a
vault, plus server-side URL signing and revocation. Every route exists under `/api/v1` and
`/v1`, with `/vaults/{vault_id}` in the path or the vault implied by the key."""

import base64
import binascii
import hashlib
import hmac
import json
import math
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from pixvault.domain.errors import ImageNotFound, InvalidInput, VaultNotFound
from pixvault.domain.folders import (
    FOLDER_LEVELS,
    PLACEHOLDER_NAMES,
    parse_metadata,
    parse_path,
    parse_tags,
    validate_filename,
    validate_folder,
    validate_tags,
)
from pixvault.domain.ids import from_prefixed_ulid, to_ulid
from pixvault.domain.models import ASSET_PREFIX, Image, Project
from pixvault.domain.paging import ImageFilter, Keyset
from pixvault.domain.text import check_value, load_json
from pixvault.http.common.auth import core_of
from pixvault.http.common.errors import enveloped_route
from pixvault.http.common.multipart import read_upload
from pixvault.http.common.openapi import json_body, multipart_body, query_parameters
from pixvault.http.vaults.auth import Vault, VaultReader, VaultWriter
from pixvault.http.vaults.errors import render_error
from pixvault.http.vaults.schemas import (
    AssetChange,
    AssetOut,
    AssetPage,
    RevokeRequest,
    SignedUrl,
    SignRequest,
    errors,
)
from pixvault.http.vaults.shapes import asset_json
from pixvault.services.library import NewUpload
from pixvault.services.urls import vault_path

router = APIRouter(tags=["vaults"], route_class=enveloped_route(render_error))
PREFIXES = ("/api/v1", "/v1")
VAULTS = ("/vaults/{vault_id}", "")
MAX_LIST = 200
_FOREVER = datetime(9999, 1, 1, tzinfo=UTC)  # a bare token's expiry is unknown


def _expiry(text: str) -> datetime:
    """When a revoked token stops mattering: its `expires`, else (or past year 9999) never."""
    if not (text.isascii() and text.isdigit()):
        return _FOREVER
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (OverflowError, ValueError, OSError):
        return _FOREVER


def route(path: str, methods: list[str], status_code: int, summary: str, **docs: Any) -> Callable:  # type: ignore[type-arg]
    """Register an endpoint under all four route forms; only the first is in /docs (with
    `docs`: response_model, responses, openapi_extra)."""

    def register(endpoint: Callable) -> Callable:  # type: ignore[type-arg]
        first = True
        for prefix in PREFIXES:
            for vault in VAULTS:
                router.add_api_route(
                    prefix + vault + path,
                    endpoint,
                    methods=methods,
                    status_code=status_code,
                    summary=summary,
                    include_in_schema=first,
                    **docs,
                    operation_id=None
                    if first
                    else f"{endpoint.__name__}_{prefix}{vault}".replace("/", "_"),
                )
                first = False
        return endpoint

    return register


def created(request: Request, project: Project, image: Image, status: int = 200) -> JSONResponse:
    return JSONResponse(asset_json(request, project, image), status_code=status)


# -- upload --------------------------------------------------------------------------------


@route(
    "/assets",
    ["POST"],
    201,
    "Upload a file (multipart: file, partition, collection, channel)",
    response_model=AssetOut,
    responses=errors(400, 401, 403, 404, 413, 503),
    openapi_extra=multipart_body(
        "file",
        {
            "partition": "first folder level",
            "collection": "second folder level",
            "channel": "third folder level",
            "filename": "the stored name (default: the file part's name)",
            "metadata": "a JSON object",
            "tags": "a JSON array of strings, or comma-separated",
        },
        required=("partition", "collection", "channel"),
    ),
)
async def upload_asset(request: Request, vault: VaultWriter) -> JSONResponse:
    core = core_of(request)
    policy = core.vault_uploads
    form = await read_upload(
        request,
        core.library,
        policy,
        file_field="file",
        missing="Attach the file as a multipart part named 'file'",
        drain=True,
    )
    with form.file:
        folders = []
        for level in FOLDER_LEVELS:
            if level not in form.fields:
                raise InvalidInput(f"{level} is required", param=level)
            folders.append(validate_folder(form.fields[level], level))
        named = form.fields.get("filename")
        given = form.filename if form.filename not in PLACEHOLDER_NAMES else None
        name = named or given  # an explicit `filename` part is kept as it is
        upload = NewUpload(
            filename=None if not name else validate_filename(name),
            flow_id=None,
            meta=parse_metadata(form.fields.get("metadata")),
            tags=parse_tags(form.fields.get("tags")),
            folders=(folders[0], folders[1], folders[2]),
            content_type=form.content_type,
        )
        image = await core.library.upload(vault.project, form.file, upload, policy)
    return created(request, vault.project, image, 201)


# -- list ----------------------------------------------------------------------------------


def _limit(text: str | None) -> int:
    if text is None:
        return 50
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIST:
        raise InvalidInput(
            f"limit must be an integer from 1 to {MAX_LIST}, got {text!r}", param="limit"
        )
    return int(text)


def cursor_token(secret: str, vault_id: str, image_id: uuid.UUID) -> str:
    """An opaque keyset position: the vault and the last asset, with a MAC so a tampered or
    forged cursor is refused."""
    raw = json.dumps({"v": vault_id, "a": to_ulid(image_id)}, separators=(",", ":"))
    body = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    return f"{body}.{_mac(secret, body)}"


def _mac(secret: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"cursor|{body}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def _position(secret: str, project: Project, text: str) -> Keyset:
    body, _, mac = text.partition(".")
    try:
        if hmac.compare_digest(_mac(secret, body), mac):
            decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            if isinstance(decoded, dict) and decoded.get("v") == project.vault_id:
                position = from_prefixed_ulid(ASSET_PREFIX + str(decoded.get("a")), ASSET_PREFIX)
                if position is not None:
                    return Keyset(position, "older")
    except (ValueError, binascii.Error, TypeError):
        pass
    raise InvalidInput(
        "cursor is not one this vault handed out; drop it to start over", param="cursor"
    )


@route(
    "/assets",
    ["GET"],
    200,
    "List files, newest first, a page at a time",
    response_model=AssetPage,
    responses=errors(400, 401, 403, 404, 503),
    openapi_extra=query_parameters(
        {
            "partition": "only this first folder level",
            "collection": "only this second folder level",
            "channel": "only this third folder level",
            "limit": f"1 to {MAX_LIST} (default 50)",
            "cursor": "the previous page's cursor",
        }
    ),
)
async def list_assets(request: Request, vault: VaultReader) -> JSONResponse:
    query = request.query_params
    levels = {
        level: validate_folder(query[level], level) for level in FOLDER_LEVELS if level in query
    }
    limit = _limit(query.get("limit"))
    secret = await core_of(request).tokens.signing_key()
    start = _position(secret, vault.project, query["cursor"]) if query.get("cursor") else Keyset()
    page = await core_of(request).library.page(
        vault.project,
        ImageFilter(in_folders=True, **levels),
        limit=limit,
        start=start,
        max_limit=MAX_LIST,
    )
    return JSONResponse(
        {
            "data": [asset_json(request, vault.project, i) for i in page.items],
            "cursor": (
                cursor_token(secret, vault.project.vault_id, page.items[-1].id)
                if page.has_more
                else None
            ),
            "has_more": page.has_more,
        }
    )


# -- one asset -----------------------------------------------------------------------------


async def _asset(request: Request, vault: Vault, ref: str) -> Image:
    """An asset by `asset_…` id or by its folder path (one encoded segment or several)."""
    library = core_of(request).library
    if ref.lower().startswith(ASSET_PREFIX):
        image_id = from_prefixed_ulid(ASSET_PREFIX + ref[len(ASSET_PREFIX) :], ASSET_PREFIX)
        if image_id is None:
            raise ImageNotFound(ref)
        image = await library.get(vault.project, image_id)
        if image.partition is None:
            raise ImageNotFound(ref)  # an image of the project without a folder path
        return image
    try:
        folders, filename = parse_path(ref)
    except InvalidInput:
        raise ImageNotFound(ref) from None
    return await library.find_by_path(vault.project, folders, filename)


@route(
    "/assets/{ref:path}",
    ["GET"],
    200,
    "Get a file's record by id or path",
    response_model=AssetOut,
    responses=errors(400, 401, 403, 404, 503),
)
async def get_asset(request: Request, vault: VaultReader, ref: str) -> JSONResponse:
    return created(request, vault.project, await _asset(request, vault, ref))


async def _json_body(request: Request) -> Any:
    try:
        text = (await request.body()).decode()
    except UnicodeDecodeError:
        raise InvalidInput("The body must be JSON (UTF-8)", param="body") from None
    return load_json(text, "body")


@route(
    "/assets/{ref:path}",
    ["PATCH"],
    200,
    "Merge metadata (null removes a key), replace tags",
    response_model=AssetOut,
    responses=errors(400, 401, 403, 404, 503),
    openapi_extra=json_body(AssetChange),
)
async def update_asset(request: Request, vault: VaultWriter, ref: str) -> JSONResponse:
    body = await _json_body(request)
    if not isinstance(body, dict) or not body or set(body) - {"metadata", "tags"}:
        raise InvalidInput('Send {"metadata": {...}} and/or {"tags": [...]}', param="body")
    metadata = body.get("metadata")
    if "metadata" in body and not isinstance(metadata, dict):
        raise InvalidInput("metadata must be a JSON object", param="metadata")
    check_value(metadata, "metadata")
    check_value(body.get("tags"), "tags")
    tags = validate_tags(body["tags"]) if "tags" in body else None
    image = await _asset(request, vault, ref)
    updated = await core_of(request).library.merge(
        vault.project, image.id, metadata=metadata, tags=tags
    )
    return created(request, vault.project, updated)


@route(
    "/assets/{ref:path}",
    ["DELETE"],
    204,
    "Delete a file, its bytes and derivatives",
    responses=errors(400, 401, 403, 404, 503),
)
async def delete_asset(request: Request, vault: VaultWriter, ref: str) -> Response:
    core = core_of(request)
    image = await _asset(request, vault, ref)
    await core.library.delete(vault.project, image.id)
    await core.revocations.forget_path(vault.project.id, vault_path(image))
    return Response(status_code=204)


# -- signed URLs ---------------------------------------------------------------------------


def _named_vault(vault: Vault, named: Any) -> None:
    project = vault.project
    if named is None:
        return
    if not isinstance(named, str) or named.lower() not in {
        project.vault_id.lower(), project.slug, project.path,
    }:  # fmt: skip
        raise VaultNotFound(str(named))


async def _path_asset(request: Request, vault: Vault, path: Any) -> Image:
    if not isinstance(path, str) or not path:
        raise InvalidInput("path is required: partition/collection/channel/filename", param="path")
    folders, filename = parse_path(path)
    return await core_of(request).library.find_by_path(vault.project, folders, filename)


@route(
    "/urls/sign",
    ["POST"],
    200,
    "A signed delivery URL that works until expires_at",
    response_model=SignedUrl,
    responses=errors(400, 401, 403, 404, 503),
    openapi_extra=json_body(SignRequest),
)
async def sign_url(request: Request, vault: VaultWriter) -> JSONResponse:
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object", param="body")
    if "password" in body:
        raise InvalidInput("Password-protected links are not supported", param="password")
    _named_vault(vault, body.get("vault"))
    expires = body.get("expires_at")
    if (
        isinstance(expires, bool)
        or not isinstance(expires, int | float)
        or (isinstance(expires, float) and not math.isfinite(expires))
        or expires > sys.float_info.max  # past any number a JSON client can hold
    ):
        raise InvalidInput("expires_at must be unix seconds", param="expires_at")
    expires = math.floor(expires)
    if expires <= time.time():
        raise InvalidInput("expires_at must be in the future", param="expires_at")
    image = await _path_asset(request, vault, body.get("path"))
    core = core_of(request)
    secret = await core.projects.vault_secret(vault.project)
    url = core.urls.signed_vault(
        vault.project, vault_path(image), expires, secret, request_base=str(request.base_url)
    )
    return JSONResponse({"url": url})


@route(
    "/urls/revoke",
    ["POST"],
    204,
    "Revoke a signed URL (by token or URL) or an asset path",
    responses=errors(400, 401, 403, 404, 503),
    openapi_extra=json_body(RevokeRequest),
)
async def revoke_url(request: Request, vault: VaultWriter) -> Response:
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object", param="body")
    _named_vault(vault, body.get("vault"))
    given = body.get("path")
    if not isinstance(given, str) or not given:
        raise InvalidInput(
            "path is required: a signed URL, its token or an asset path", param="path"
        )
    core = core_of(request)
    query = parse_qs(urlparse(given).query)
    if "token" in query:
        until = _expiry(query.get("expires", [""])[0])
        await core.revocations.revoke_token(vault.project.id, query["token"][0], until)
    elif given.count("/") >= 3:
        image = await _path_asset(request, vault, given)
        await core.revocations.revoke_path(vault.project.id, vault_path(image))
    else:
        await core.revocations.revoke_token(vault.project.id, given, _FOREVER)
    return Response(status_code=204)
