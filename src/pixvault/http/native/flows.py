"""The native flows API (Banatie contract): `/api/v1/flows`."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from pixvault.domain.ids import parse_uuid
from pixvault.domain.models import Flow
from pixvault.http.common.auth import Reader, Writer, core_of
from pixvault.http.common.errors import enveloped_route
from pixvault.http.common.params import known_params
from pixvault.http.native.errors import render_error
from pixvault.http.native.responses import image_json, iso, ok, paged
from pixvault.http.native.schemas import DeletedAnswer, FlowAnswer, FlowList, ImageList, errors

router = APIRouter(prefix="/api/v1", tags=["flows"], route_class=enveloped_route(render_error))


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


@router.get(
    "/flows",
    summary="List flows",
    dependencies=[known_params("limit", "offset")],
    response_model=FlowList,
    responses=errors(400, 401, 403, 503),
)
async def list_flows(
    request: Request, project: Reader, limit: int = 20, offset: int = 0
) -> JSONResponse:
    page = await core_of(request).flows.list(project, limit=limit, offset=offset)
    return paged(page, [flow_json(f) for f in page.items])


@router.get(
    "/flows/{flow_id}",
    summary="Get a flow",
    response_model=FlowAnswer,
    responses=errors(400, 401, 403, 404, 503),
)
async def get_flow(request: Request, project: Reader, flow_id: str) -> JSONResponse:
    flow = await core_of(request).flows.get(project, parse_uuid(flow_id, param="flowId"))
    return ok(flow_json(flow))


@router.get(
    "/flows/{flow_id}/images",
    summary="List a flow's images",
    response_model=ImageList,
    responses=errors(400, 401, 403, 404, 503),
    dependencies=[known_params("limit", "offset")],
)
async def flow_images(
    request: Request, project: Reader, flow_id: str, limit: int = 20, offset: int = 0
) -> JSONResponse:
    page = await core_of(request).flows.images(
        project, parse_uuid(flow_id, param="flowId"), limit=limit, offset=offset
    )
    return paged(page, [image_json(request, project, i) for i in page.items])


class FlowAliases(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aliases: dict[str, str] = Field(description='{"@alias": "IMAGE_ID or @alias"}, merged')


@router.put(
    "/flows/{flow_id}/aliases",
    summary="Merge flow aliases",
    response_model=FlowAnswer,
    responses=errors(400, 401, 403, 404, 409, 503),
)
async def merge_flow_aliases(
    request: Request, project: Writer, flow_id: str, body: FlowAliases
) -> JSONResponse:
    flow = await core_of(request).flows.merge_aliases(
        project, parse_uuid(flow_id, param="flowId"), body.aliases
    )
    return ok(flow_json(flow))


@router.delete(
    "/flows/{flow_id}/aliases/{alias}",
    summary="Remove a flow alias",
    response_model=FlowAnswer,
    responses=errors(400, 401, 403, 404, 503),
)
async def delete_flow_alias(
    request: Request, project: Writer, flow_id: str, alias: str
) -> JSONResponse:
    flow = await core_of(request).flows.remove_alias(
        project, parse_uuid(flow_id, param="flowId"), alias
    )
    return ok(flow_json(flow))


@router.delete(
    "/flows/{flow_id}",
    summary="Delete a flow",
    response_model=DeletedAnswer,
    responses=errors(400, 401, 403, 404, 503),
)
async def delete_flow(request: Request, project: Writer, flow_id: str) -> JSONResponse:
    flow_uuid = parse_uuid(flow_id, param="flowId")
    await core_of(request).flows.delete(project, flow_uuid)
    return ok({"id": str(flow_uuid)}, message="Flow deleted")
