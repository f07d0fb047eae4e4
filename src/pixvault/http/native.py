"""The native images API (Banatie contract): `/api/v1/images`, `/api/v1/flows`.

Responses are `{success: true, data}`; errors `{success: false, error: {code, message}}`.
"""

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pixvault.domain.errors import InvalidInput, PixvaultError
from pixvault.domain.ids import parse_uuid
from pixvault.domain.models import Flow, FocalPoint, Image, Page, Principal, Project
from pixvault.http.auth import core_of, principal, require_project
from pixvault.http.errors import enveloped_route
from pixvault.http.multipart import read_form
from pixvault.services.library import UNSET, NewUpload, pending_flow


def render_error(exc: PixvaultError) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": {"code": exc.code, "message": exc.message}},
        status_code=exc.status,
        headers=exc.headers,
    )


router = APIRouter(prefix="/api/v1", tags=["images"], route_class=enveloped_route(render_error))
Who = Annotated[Principal, Depends(principal)]


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def public_base(request: Request) -> str:
    configured = core_of(request).settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def cdn_url(request: Request, project: Project, image: Image) -> str:
    return f"{public_base(request)}/{project.org_slug}/{project.slug}/img/{image.id}"


def image_json(request: Request, project: Project, image: Image) -> dict[str, Any]:
    focal = image.focal_point
    return {
        "id": str(image.id),
        "projectId": str(image.project_id),
        "flowId": None if image.flow_id is None else str(image.flow_id),
        "storageKey": image.storage_key,
        "storageUrl": cdn_url(request, project, image),
        "mimeType": image.mime_type,
        "fileSize": image.size,
        "width": image.width,
        "height": image.height,
        "source": image.source,
        "alias": image.alias,
        "focalPoint": None if focal is None else {"x": focal.x, "y": focal.y},
        "fileHash": image.sha256,
        "generationId": None,
        "meta": image.meta,
        "createdAt": iso(image.created_at),
        "updatedAt": iso(image.updated_at),
        "deletedAt": iso(image.deleted_at),
    }


def ok(data: Any, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"success": True, "data": data, **extra}, status_code=status)


def paged(page: Page, items: list[Any]) -> JSONResponse:
    pagination = {
        "limit": page.limit,
        "offset": page.offset,
        "total": page.total,
        "hasMore": page.has_more,
    }
    return ok(items, pagination=pagination)


def parse_meta(text: str | None) -> dict[str, Any] | None:
    if text is None or text == "":
        return None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"meta must be a JSON object: {exc.msg} at position {exc.pos}", param="meta"
        ) from None
    if not isinstance(meta, dict):
        raise InvalidInput('meta must be a JSON object, like {"tag": "hero"}', param="meta")
    return meta


def parse_flow_field(fields: dict[str, str]) -> tuple[uuid.UUID | None, bool]:
    """The seed's flowId table: absent → pending id, `null` → no flow, a UUID → that flow."""
    raw = fields.get("flowId")
    if raw is None or raw == "":
        return pending_flow(), False
    if raw == "null":
        return None, False
    return parse_uuid(raw, param="flowId"), True


async def resolve(request: Request, project: Project, ref: str, flow_id: str | None) -> Image:
    return await core_of(request).library.resolve(project, ref, flow_id=flow_id)


# -- images ------------------------------------------------------------------------------


@router.post("/images/upload", status_code=201, summary="Upload an image (multipart)")
async def upload_image(request: Request, who: Who) -> JSONResponse:
    project = require_project(who, write=True)
    core = core_of(request)
    form = await read_form(request, file_limit=core.settings.max_upload_bytes)
    file = form.files.get("file")
    if file is None:
        raise InvalidInput("Attach the image as a multipart file field named 'file'", param="file")
    flow_id, explicit = parse_flow_field(form.fields)
    upload = NewUpload(
        data=bytes(file.data),
        filename=file.filename,
        alias=form.fields.get("alias") or None,
        flow_id=flow_id,
        flow_is_explicit=explicit,
        flow_alias=form.fields.get("flowAlias") or None,
        meta=parse_meta(form.fields.get("meta")),
    )
    image = await core.library.upload(project, upload)
    return ok(image_json(request, project, image), 201)


@router.get("/images", summary="List images")
async def list_images(
    request: Request,
    who: Who,
    flowId: str | None = None,
    source: str | None = None,
    alias: str | None = None,
    limit: Annotated[int, Query()] = 20,
    offset: Annotated[int, Query()] = 0,
    includeDeleted: bool = False,
) -> JSONResponse:
    project = require_project(who, write=False)
    page = await core_of(request).library.list(
        project,
        flow_id=parse_uuid(flowId, param="flowId") if flowId else None,
        source=source,
        alias=alias,
        limit=limit,
        offset=offset,
        include_deleted=includeDeleted,
    )
    return paged(page, [image_json(request, project, i) for i in page.items])


@router.get("/images/{id_or_alias}", summary="Get an image by UUID or @alias")
async def get_image(
    request: Request, who: Who, id_or_alias: str, flowId: str | None = None
) -> JSONResponse:
    project = require_project(who, write=False)
    image = await resolve(request, project, id_or_alias, flowId)
    return ok(image_json(request, project, image))


class FocalPointIn(BaseModel):
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)


class ImageUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    focalPoint: FocalPointIn | None = None
    meta: dict[str, Any] | None = None


@router.put("/images/{id_or_alias}", summary="Update focal point and meta")
async def update_image(
    request: Request, who: Who, id_or_alias: str, body: ImageUpdate, flowId: str | None = None
) -> JSONResponse:
    project = require_project(who, write=True)
    image = await resolve(request, project, id_or_alias, flowId)
    sent = body.model_fields_set
    if "meta" in sent and body.meta is None:
        raise InvalidInput("meta must be an object; send {} to clear it", param="meta")
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


@router.put("/images/{id_or_alias}/alias", summary="Assign, move or remove the project alias")
async def assign_alias(
    request: Request, who: Who, id_or_alias: str, body: AliasAssignment, flowId: str | None = None
) -> JSONResponse:
    project = require_project(who, write=True)
    image = await resolve(request, project, id_or_alias, flowId)
    updated = await core_of(request).library.assign_alias(project, image.id, body.alias)
    return ok(image_json(request, project, updated))


@router.delete("/images/{id_or_alias}", summary="Delete an image (hard, or ?mode=soft)")
async def delete_image(
    request: Request, who: Who, id_or_alias: str, flowId: str | None = None, mode: str = "hard"
) -> JSONResponse:
    project = require_project(who, write=True)
    if mode not in ("hard", "soft"):
        raise InvalidInput(f"mode must be 'hard' or 'soft', got {mode!r}", param="mode")
    image = await resolve(request, project, id_or_alias, flowId)
    await core_of(request).library.delete(project, image.id, soft=mode == "soft")
    return ok({"id": str(image.id)}, message="Image deleted")


# -- flows -------------------------------------------------------------------------------


def flow_json(flow: Flow) -> dict[str, Any]:
    return {
        "id": str(flow.id),
        "projectId": str(flow.project_id),
        "aliases": {alias: str(image_id) for alias, image_id in flow.aliases.items()},
        "generationCount": 0,
        "imageCount": flow.image_count,
        "meta": flow.meta,
        "createdAt": iso(flow.created_at),
        "updatedAt": iso(flow.updated_at),
    }


@router.get("/flows", tags=["flows"], summary="List flows")
async def list_flows(request: Request, who: Who, limit: int = 20, offset: int = 0) -> JSONResponse:
    project = require_project(who, write=False)
    page = await core_of(request).flows.list(project, limit=limit, offset=offset)
    return paged(page, [flow_json(f) for f in page.items])


@router.get("/flows/{flow_id}", tags=["flows"], summary="Get a flow")
async def get_flow(request: Request, who: Who, flow_id: str) -> JSONResponse:
    project = require_project(who, write=False)
    flow = await core_of(request).flows.get(project, parse_uuid(flow_id, param="flowId"))
    return ok(flow_json(flow))


@router.get("/flows/{flow_id}/images", tags=["flows"], summary="List a flow's images")
async def flow_images(
    request: Request, who: Who, flow_id: str, limit: int = 20, offset: int = 0
) -> JSONResponse:
    project = require_project(who, write=False)
    page = await core_of(request).flows.images(
        project, parse_uuid(flow_id, param="flowId"), limit=limit, offset=offset
    )
    return paged(page, [image_json(request, project, i) for i in page.items])


class FlowAliases(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aliases: dict[str, str] = Field(description='{"@alias": "IMAGE_ID or @alias"}, merged')


@router.put("/flows/{flow_id}/aliases", tags=["flows"], summary="Merge flow aliases")
async def merge_flow_aliases(
    request: Request, who: Who, flow_id: str, body: FlowAliases
) -> JSONResponse:
    project = require_project(who, write=True)
    flow = await core_of(request).flows.merge_aliases(
        project, parse_uuid(flow_id, param="flowId"), body.aliases
    )
    return ok(flow_json(flow))


@router.delete("/flows/{flow_id}/aliases/{alias}", tags=["flows"], summary="Remove a flow alias")
async def delete_flow_alias(request: Request, who: Who, flow_id: str, alias: str) -> JSONResponse:
    project = require_project(who, write=True)
    flow = await core_of(request).flows.remove_alias(
        project, parse_uuid(flow_id, param="flowId"), alias
    )
    return ok(flow_json(flow))


@router.delete("/flows/{flow_id}", tags=["flows"], summary="Delete a flow")
async def delete_flow(request: Request, who: Who, flow_id: str) -> JSONResponse:
    project = require_project(who, write=True)
    flow_uuid = parse_uuid(flow_id, param="flowId")
    await core_of(request).flows.delete(project, flow_uuid)
    return ok({"id": str(flow_uuid)}, message="Flow deleted")
