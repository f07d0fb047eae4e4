"""Slink images: uploads (signed in, guest, API key), detail, lists, changes and deletes."""

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr

from pixvault.domain.errors import (
    GuestUploadsClosed,
    ImageNotFound,
    InvalidInput,
    NotOwner,
)
from pixvault.domain.ids import parse_uuid
from pixvault.domain.models import Image, Project
from pixvault.domain.paging import ImageFilter, Keyset, Order
from pixvault.domain.principal import may_change
from pixvault.http.common.auth import core_of
from pixvault.http.common.errors import enveloped_route
from pixvault.http.common.multipart import read_upload
from pixvault.http.common.openapi import multipart_body, query_parameters
from pixvault.http.slink import shapes
from pixvault.http.slink.auth import Caller, KeyHolder, SignedIn, slink_project
from pixvault.http.slink.errors import render_form_error, render_query_error
from pixvault.http.slink.schemas import (
    Created,
    ExternalUpload,
    ImageDetail,
    ImagePage,
    ImagesById,
    errors,
)
from pixvault.services.library import UNSET, NewUpload

uploads = APIRouter(prefix="/api", tags=["slink"], route_class=enveloped_route(render_form_error))
reads = APIRouter(prefix="/api", tags=["slink"], route_class=enveloped_route(render_query_error))

MAX_DESCRIPTION = 255
ORDER_FIELDS = {
    "attributes.createdAt": "created_at",
    "attributes.updatedAt": "updated_at",
    "attributes.views": "views",
    "attributes.description": "description",
    "attributes.fileName": "id",  # the shown fileName is `<id>.<ext>`
    "metadata.size": "size",
    "metadata.width": "width",
    "metadata.height": "height",
}
SEARCH_FIELDS = {
    "description": frozenset({"description"}),
    "hashtag": frozenset({"description"}),
    "user": frozenset({"owner"}),
}
_TRUE, _FALSE = ("true", "1", "on", "yes"), ("false", "0", "off", "no", "")


# -- uploads -------------------------------------------------------------------------------


def _flag(value: str | None, param: str) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(f"{param} must be true or false, got {value!r}", param=param)


def _description(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"The description is at most {MAX_DESCRIPTION} characters", param="description"
        )
    return value


async def _upload(request: Request, project: Project, owner: uuid.UUID | None) -> Image:
    """Store the `image` field; guests' uploads (no owner) are always public."""
    core = core_of(request)
    policy = core.slink_uploads
    form = await read_upload(
        request,
        core.library,
        policy,
        file_field="image",
        missing="Attach the image as a multipart file field named 'image'",
    )
    with form.file:
        public = owner is None or _flag(form.fields.get("isPublic"), "isPublic")
        upload = NewUpload(
            filename=form.filename,
            flow_id=None,
            description=_description(form.fields.get("description")),
            is_public=public,
            owner_id=owner,
        )
        return await core.library.upload(project, form.file, upload, policy)


def _json_created(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=201, headers=headers)


# Every upload route takes the same form: the image and two optional fields.
_UPLOAD_FORM = multipart_body(
    "image",
    {
        "description": "at most 255 characters",
        "isPublic": "true or false (guests' uploads are always public)",
    },
)


@uploads.post(
    "/upload",
    status_code=201,
    summary="Slink: upload",
    description="Also answers PUT.",
    response_model=Created,
    responses=errors(400, 401, 403, 422, 503),
    openapi_extra=_UPLOAD_FORM,
)
@uploads.put("/upload", status_code=201, include_in_schema=False)
async def upload(request: Request, caller: SignedIn) -> JSONResponse:
    image = await _upload(request, caller.project, caller.principal.user_id)  # type: ignore[union-attr]
    return _json_created({"id": str(image.id)}, {"Location": f"image/{image.id}/detail"})


@uploads.post(
    "/guest/upload",
    status_code=201,
    summary="Slink: guest upload",
    description="When guest uploads are on (PIXVAULT_GUEST_UPLOADS). Also answers PUT.",
    response_model=Created,
    responses=errors(400, 403, 422, 503),
    openapi_extra=_UPLOAD_FORM,
)
@uploads.put("/guest/upload", status_code=201, include_in_schema=False)
async def guest_upload(request: Request) -> JSONResponse:
    if not core_of(request).settings.guest_uploads:
        raise GuestUploadsClosed()
    image = await _upload(request, await slink_project(request), None)
    return _json_created({"id": str(image.id)})


@uploads.post(
    "/external/upload",
    status_code=201,
    summary="Slink: upload with a key",
    description="With one of your own sk_ keys (ShareX). Also answers PUT.",
    response_model=ExternalUpload,
    responses=errors(400, 401, 403, 422, 503),
    openapi_extra=_UPLOAD_FORM,
)
@uploads.put("/external/upload", status_code=201, include_in_schema=False)
async def external_upload(request: Request, caller: KeyHolder) -> JSONResponse:
    assert caller.user is not None
    image = await _upload(request, caller.project, caller.user.id)
    name = shapes.file_name(image)
    return _json_created(
        {
            "url": f"image/{name}",
            "thumbnailUrl": f"image/{name}?width=300&height=300&crop=true",
            "id": str(image.id),
        }
    )


# -- one image -----------------------------------------------------------------------------


def _image_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ImageNotFound(text) from None  # Slink: a non-UUID id is not found


async def _own_image(request: Request, caller: Caller, image_id: str) -> Image:
    image = await core_of(request).library.get(caller.project, _image_id(image_id))
    if not may_change(caller.principal, image):
        raise NotOwner()
    return image


def _views(request: Request, image: Image) -> int:
    return image.views + core_of(request).views.pending(image.id)


@reads.get(
    "/image/{image_id}/detail",
    summary="Slink: one of your images",
    response_model=ImageDetail,
    responses=errors(400, 401, 403, 404, 503),
)
async def image_detail(request: Request, caller: SignedIn, image_id: str) -> JSONResponse:
    image = await _own_image(request, caller, image_id)
    return JSONResponse(shapes.detail(image, _views(request, image)))


class ImageChange(BaseModel):
    model_config = ConfigDict(extra="ignore")
    description: StrictStr | None = None
    isPublic: StrictBool | None = None
    license: StrictStr | None = None


@uploads.patch(
    "/image/{image_id}",
    status_code=204,
    summary="Slink: change description, isPublic",
    responses=errors(400, 401, 403, 404, 422, 503),
)
async def change_image(
    request: Request, caller: SignedIn, image_id: str, body: ImageChange
) -> Response:
    image = await _own_image(request, caller, image_id)
    await core_of(request).library.update(
        caller.project,
        image.id,
        description=UNSET if body.description is None else _description(body.description),
        is_public=UNSET if body.isPublic is None else body.isPublic,
    )
    return Response(status_code=204)


class ImageDeletion(BaseModel):
    model_config = ConfigDict(extra="ignore")
    preserveOnDisk: StrictBool = False


@uploads.delete(
    "/image/{image_id}",
    status_code=204,
    summary="Slink: delete one of your images",
    responses=errors(400, 401, 403, 404, 422, 503),
)
async def delete_image(
    request: Request,
    caller: SignedIn,
    image_id: str,
    body: Annotated[ImageDeletion | None, Body()] = None,
) -> Response:
    image = await _own_image(request, caller, image_id)
    keep = body is not None and body.preserveOnDisk
    await core_of(request).library.delete(caller.project, image.id, soft=keep)
    return Response(status_code=204)


# -- lists ---------------------------------------------------------------------------------


def _encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _decode_cursor(text: str) -> dict[str, Any]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if isinstance(decoded, dict) and (
            ("id" in decoded and uuid.UUID(str(decoded["id"])))
            or (isinstance(decoded.get("offset"), int) and decoded["offset"] >= 0)
        ):
            return decoded
    except (ValueError, binascii.Error, TypeError):
        pass
    raise InvalidInput(
        "cursor is not one this server handed out; drop it to start over", param="cursor"
    )


def _search(term: str | None, by: str | None) -> tuple[str | None, frozenset[str]]:
    if not term:
        return None, frozenset()
    if by == "hashtag":
        return "#" + term.lstrip("#"), SEARCH_FIELDS["hashtag"]
    return term, SEARCH_FIELDS.get(by or "", frozenset({"owner", "description"}))


@dataclass(frozen=True)
class ListQuery:
    """The query of Slink's list routes, parsed once for both."""

    page: int
    limit: int
    order_by: str
    order: str
    search: str | None
    search_in: frozenset[str]
    cursor: str | None


def list_query(default_order: str) -> Any:
    """Explore orders by `attributes.updatedAt` by default (the seed), history by
    `attributes.createdAt` (Slink)."""

    def parse(
        page: int,
        limit: Annotated[int, Query()] = 10,
        orderBy: str = default_order,
        order: str = "desc",
        searchTerm: str | None = None,
        searchBy: str | None = None,
        cursor: str | None = None,
    ) -> ListQuery:
        term, fields = _search(searchTerm, searchBy)
        return ListQuery(page, limit, orderBy, order, term, fields, cursor)

    return Depends(parse)


async def _list(request: Request, only: ImageFilter, query: ListQuery) -> JSONResponse:
    page, limit, order_by, order, cursor = (
        query.page, query.limit, query.order_by, query.order, query.cursor,
    )  # fmt: skip
    if page < 1:
        raise InvalidInput(f"page must be 1 or more, got {page}", param="page")
    if order_by not in ORDER_FIELDS:
        raise InvalidInput(
            f"orderBy must be one of {', '.join(ORDER_FIELDS)}, got {order_by!r}", param="orderBy"
        )
    if order not in ("asc", "desc"):
        raise InvalidInput(f"order must be asc or desc, got {order!r}", param="order")
    if not 1 <= limit <= 100:
        raise InvalidInput(f"limit must be from 1 to 100, got {limit}", param="limit")
    core = core_of(request)
    project = await slink_project(request)
    sort = Order(ORDER_FIELDS[order_by], descending=order == "desc")
    position = _decode_cursor(cursor) if cursor else None
    by_creation = sort.field == "created_at"
    if position is not None and "id" in position and by_creation:
        direction = "older" if sort.descending else "newer"
        keyset = await core.library.page(
            project, only, limit=limit, start=Keyset(uuid.UUID(position["id"]), direction)
        )
        items, more = keyset.items, keyset.has_more
        total = await core.library.count(project, only)
        offset = None
    else:
        offset = (page - 1) * limit
        if position is not None:
            if "offset" not in position:
                raise InvalidInput(
                    "this cursor belongs to a list ordered by attributes.createdAt", param="cursor"
                )
            offset = position["offset"]
        listed = await core.library.list(project, only, limit=limit, offset=offset, order=sort)
        items, more, total = listed.items, listed.has_more, listed.total
    names = await core.users.names(i.owner_id for i in items if i.owner_id is not None)
    meta: dict[str, Any] = {"size": limit, "page": page, "total": total}
    if more and items:
        meta["nextCursor"] = _encode_cursor(
            {"timestamp": int(items[-1].created_at.timestamp()), "id": str(items[-1].id)}
            if by_creation
            else {"offset": (offset or 0) + len(items)}
        )
    data = [shapes.item(i, names, _views(request, i)) for i in items]
    return JSONResponse({"meta": meta, "data": data})


@reads.get(
    "/images/{page:int}",
    summary="Slink: explore public images",
    response_model=ImagePage,
    responses=errors(400, 401, 403, 404, 503),  # 404: a page that is not a number
)
@reads.get("/images/{page:int}/", include_in_schema=False)
async def explore(
    request: Request,
    caller: SignedIn,
    query: ListQuery = list_query("attributes.updatedAt"),
) -> JSONResponse:
    only = ImageFilter(public_only=True, search=query.search, search_in=query.search_in)
    return await _list(request, only, query)


@reads.get(
    "/images/history/{page:int}",
    summary="Slink: your images",
    response_model=ImagePage,
    responses=errors(400, 401, 403, 404, 503),  # 404: a page that is not a number
)
@reads.get("/images/history/{page:int}/", include_in_schema=False)
async def history(
    request: Request,
    caller: SignedIn,
    query: ListQuery = list_query("attributes.createdAt"),
) -> JSONResponse:
    only = ImageFilter(
        owner_id=caller.principal.user_id,  # type: ignore[union-attr]
        search=query.search,
        search_in=query.search_in,
    )
    return await _list(request, only, query)


@reads.get(
    "/images",
    summary="Slink: your images by id",
    response_model=ImagesById,
    responses=errors(400, 401, 403, 503),
    openapi_extra=query_parameters({"uuid[]": "an image id; repeat for several"}),
)
async def images_by_id(request: Request, caller: SignedIn) -> JSONResponse:
    raw = request.query_params.getlist("uuid[]")
    if not raw:
        raise InvalidInput("Pass one or more ids as uuid[]=ID", param="uuid[]")
    ids = [parse_uuid(text, param="uuid[]") for text in raw]
    core = core_of(request)
    found = await core.library.get_many(caller.project, ids)
    own = [i for i in found if may_change(caller.principal, i)]
    names = await core.users.names(i.owner_id for i in own if i.owner_id is not None)
    return JSONResponse({"data": [shapes.item(i, names, _views(request, i)) for i in own]})
