"""Banatie CDN URLs: `/{org}/{project}/img/{imageId}` and `/{org}/{project}/img/@{alias}`.

Public, no key. Query parameters transform the image (see `domain/transform.py`). Errors use
the native envelope, since these URLs belong to the same contract.
"""

from fastapi import APIRouter, Request, Response

from pixvault.domain.errors import NotFound
from pixvault.domain.ids import parse_uuid
from pixvault.http.auth import core_of
from pixvault.http.delivery import send
from pixvault.http.errors import enveloped_route
from pixvault.http.native import render_error

router = APIRouter(tags=["delivery"], route_class=enveloped_route(render_error))


@router.get(
    "/{org}/{project}/img/{ref}",
    summary="Image bytes by id or @alias, transformed by query parameters",
    response_class=Response,
)
@router.head("/{org}/{project}/img/{ref}", include_in_schema=False)
async def cdn_image(request: Request, org: str, project: str, ref: str) -> Response:
    core = core_of(request)
    found = await core.projects.find_for_delivery(org, project)
    if found is None:
        raise NotFound(f"Project {org}/{project} not found", code="PROJECT_NOT_FOUND")
    spec = core.delivery.transform_for(found, request.url.path, request.query_params.multi_items())
    if not ref.startswith("@"):
        parse_uuid(ref, param="imageId")
    image = await core.library.find_for_delivery(found, ref)
    delivery = await core.delivery.deliver(
        found, image, spec, accept=request.headers.get("accept"), mutable=ref.startswith("@")
    )
    redirect = core.settings.redirect_expires_seconds
    return await send(
        request,
        delivery,
        core.blobs,
        redirect_expires=redirect if core.settings.delivery_mode == "redirect" else None,
    )
