"""The native images API (Banatie contract): `/api/v1/images`."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pixvault.domain.errors import InvalidInput
from pixvault.domain.ids import parse_uuid
from pixvault.domain.models import FocalPoint, Image, Project
from pixvault.domain.paging import ImageFilter, parse_sha256
from pixvault.domain.text import check_value, parse_json_object, plain
from pixvault.http.common.auth import Reader, Writer, core_of
from pixvault.http.common.errors import enveloped_route
from pixvault.http.common.multipart import read_upload
from pixvault.http.common.openapi import multipart_body
from pixvault.http.common.params import known_params
from pixvault.http.native.errors import render_error
from pixvault.http.native.responses import image_json, ok, paged
from pixvault.http.native.schemas import DeletedAnswer, ImageAnswer, ImageList, errors
from pixvault.services.library import UNSET, NewUpload, pending_flow

router = APIRouter(prefix="/api/v1", tags=["images"], route_class=enveloped_route(render_error))


def parse_meta(text: str | None) -> dict[str, Any] | None:
    if text is None or text == "":
        return None
    return parse_json_object(text, "meta")


def parse_flow_field(fields: dict[str, str]) -> tuple[uuid.UUID | None, bool]:
    """The seed's flowId table: absent → pending id, `null` → no flow, a UUID → that flow."""
    raw = fields.get("flowId")
    if raw is None or raw == "":
        return pending_flow(), False
    if raw == "null":
        return None, False
    return parse_uuid(raw, param="flowId"), True


def upload_name(name: str) -> str:
    """A client's file name, kept for reference: no control characters, at most 255 bytes."""
    plain(name, "filename")
    if len(name.encode()) > 255:
        raise InvalidInput(
            "The file name is longer than 255 bytes; rename the file", param="filename"
        )
    return name


async def resolve(request: Request, project: Project, ref: str, flow_id: str | None) -> Image:
    return await core_of(request).library.resolve(project, ref, flow_id=flow_id)


@router.post(
    "/images/upload",
    status_code=201,
    summary="Upload an image (multipart)",
    response_model=ImageAnswer,
    responses=errors(400, 401, 403, 404, 409, 503),
    openapi_extra=multipart_body(
        "file",
        {
            "alias": "@name for the image, unique in the project",
            "flowId": "a flow UUID; absent: a new pending flow id; null: no flow",
            "flowAlias": "@name scoped to the flow",
            "meta": "a JSON object",
        },
    ),
)
async def upload_image(request: Request, project: Writer) -> JSONResponse:
    core = core_of(request)
    policy = core.native_uploads
    form = await read_upload(
        request,
        core.library,
        policy,
        file_field="file",
        missing="Attach the image as a multipart file field named 'file'",
    )
    with form.file:
        flow_id, explicit = parse_flow_field(form.fields)
        upload = NewUpload(
            filename=None if form.filename is None else upload_name(form.filename),
            alias=form.fields.get("alias") or None,
            flow_id=flow_id,
            flow_is_explicit=explicit,
            flow_alias=form.fields.get("flowAlias") or None,
            meta=parse_meta(form.fields.get("meta")),
        )
        image = await core.library.upload(project, form.file, upload, policy)
    return ok(image_json(request, project, image), 201)


@router.get(
    "/images",
    summary="List images",
    response_model=ImageList,
    responses=errors(400, 401, 403, 503),
    dependencies=[
        known_params("flowId", "source", "alias", "fileHash", "limit", "offset", "includeDeleted")
    ],
)
async def list_images(
    request: Request,
    project: Reader,
    flowId: str | None = None,
    source: str | None = None,
    alias: str | None = None,
    fileHash: Annotated[
        str | None, Query(description="Only the images with this SHA-256 (64 hex digits)")
    ] = None,
    limit: Annotated[int, Query()] = 20,
    offset: Annotated[int, Query()] = 0,
    includeDeleted: bool = False,
) -> JSONResponse:
    only = ImageFilter(
        flow_id=parse_uuid(flowId, param="flowId") if flowId else None,
        source=source,
        alias=alias,
        include_deleted=includeDeleted,
        sha256=None if fileHash is None else parse_sha256(fileHash, "fileHash"),
    )
    page = await core_of(request).library.list(project, only, limit=limit, offset=offset)
    return paged(page, [image_json(request, project, i) for i in page.items])


@router.get(
    "/images/{id_or_alias}",
    summary="Get an image by UUID or @alias",
    response_model=ImageAnswer,
    responses=errors(400, 401, 403, 404, 503),
)
async def get_image(
    request: Request, project: Reader, id_or_alias: str, flowId: str | None = None
) -> JSONResponse:
    image = await resolve(request, project, id_or_alias, flowId)
    return ok(image_json(request, project, image))


class FocalPointIn(BaseModel):
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)


class ImageUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    focalPoint: FocalPointIn | None = None
    meta: dict[str, Any] | None = None


@router.put(
    "/images/{id_or_alias}",
    summary="Update focal point and meta",
    response_model=ImageAnswer,
    responses=errors(400, 401, 403, 404, 503),
)
async def update_image(
    request: Request,
    project: Writer,
    id_or_alias: str,
    body: ImageUpdate,
    flowId: str | None = None,
) -> JSONResponse:
    image = await resolve(request, project, id_or_alias, flowId)
    sent = body.model_fields_set
    if "meta" in sent and body.meta is None:
        raise InvalidInput("meta must be an object; send {} to clear it", param="meta")
    check_value(body.meta, "meta")
    focal = UNSET
    if "focalPoint" in sent:
        focal = (
            None if body.focalPoint is None else FocalPoint(body.focalPoint.x, body.focalPoint.y)
        )
    updated = await core_of(request).library.update(
        project, image.id, focal_point=focal, meta=body.meta if "meta" in sent else UNSET
    )
    return ok(image_json(request, project, updated))


class AliasAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alias: str | None = Field(description="@name to assign, or null to remove")


@router.put(
    "/images/{id_or_alias}/alias",
    summary="Assign, move or remove the project alias",
    response_model=ImageAnswer,
    responses=errors(400, 401, 403, 404, 409, 503),
)
async def assign_alias(
    request: Request,
    project: Writer,
    id_or_alias: str,
    body: AliasAssignment,
    flowId: str | None = None,
) -> JSONResponse:
    image = await resolve(request, project, id_or_alias, flowId)
    updated = await core_of(request).library.assign_alias(project, image.id, body.alias)
    return ok(image_json(request, project, updated))


@router.delete(
    "/images/{id_or_alias}",
    summary="Delete an image (hard, or ?mode=soft)",
    response_model=DeletedAnswer,
    responses=errors(400, 401, 403, 404, 503),
)
async def delete_image(
    request: Request,
    project: Writer,
    id_or_alias: str,
    flowId: str | None = None,
    mode: str = "hard",
) -> JSONResponse:
    if mode not in ("hard", "soft"):
        raise InvalidInput(f"mode must be 'hard' or 'soft', got {mode!r}", param="mode")
    image = await resolve(request, project, id_or_alias, flowId)
    await core_of(request).library.delete(project, image.id, soft=mode == "soft")
    return ok({"id": str(image.id)}, message="Image deleted")
