"""What the UI's scripts call (JSON, same session cookie, CSRF token in `X-CSRF-Token`):
upload one file, set the focal point, build a delivery URL. Errors are `{"error": message}`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pixvault.domain.errors import InvalidInput
from pixvault.domain.models import FocalPoint
from pixvault.domain.text import plain
from pixvault.http.common.multipart import read_upload
from pixvault.services.library import NewUpload
from pixvault.web.links import snippets
from pixvault.web.pages import alt_text, card
from pixvault.web.visit import TEMPLATES, ApiRoute, parse_id, visit_of

router = APIRouter(prefix="/ui/api", include_in_schema=False, route_class=ApiRoute)
MAX_FOCAL_BODY = 1024
# The delivery grammar names parameters as URLs do; the builder shows its own labels.
BUILDER_LABELS = {"w": "Width", "h": "Height", "fit": "Fit", "format": "Format", "q": "Quality"}


def _filename(name: str | None) -> str | None:
    if not name:
        return None
    plain(name, "filename")
    if len(name.encode()) > 255:
        raise InvalidInput("The file name is longer than 255 bytes; rename the file")
    return name


@router.post("/upload")
async def upload(request: Request) -> JSONResponse:
    """One file per request (the page sends several in parallel, each with its progress)."""
    visit = await visit_of(request)
    user, project, _ = visit.writer()
    visit.check_header()
    core = visit.core
    policy = core.native_uploads
    form = await read_upload(
        request,
        core.library,
        policy,
        file_field="file",
        missing="Choose an image file to upload",
        drain=True,
    )
    with form.file:
        upload = NewUpload(
            filename=_filename(form.filename),
            flow_id=None,
            owner_id=user.id,
            content_type=form.content_type,
        )
        image = await core.library.upload(project, form.file, upload, policy)
    html = TEMPLATES.get_template("_card.html").render(c=card(visit.links(), image))
    return JSONResponse(
        {"id": str(image.id), "url": f"/ui/images/{image.id}", "html": html}, status_code=201
    )


class _Focal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: float | None = Field(None, ge=0, le=1)
    y: float | None = Field(None, ge=0, le=1)


@router.post("/images/{image_id}/focal")
async def set_focal(request: Request, image_id: str) -> JSONResponse:
    """`{"x": 0-1, "y": 0-1}` sets the focal point; `{}` (or nulls) clears it."""
    visit = await visit_of(request)
    _, project, _ = visit.writer()
    visit.check_header()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FOCAL_BODY:
            raise InvalidInput("A focal point is two numbers, x and y")
    try:
        given = _Focal.model_validate_json(body or b"{}")
    except ValidationError:
        raise InvalidInput(
            "A focal point is x and y between 0 (left, top) and 1 (right, bottom)"
        ) from None
    if (given.x is None) != (given.y is None):
        raise InvalidInput("A focal point needs both x and y; send neither to clear it")
    library = visit.core.library
    image = await library.get(project, parse_id(image_id))
    visit.owner_of(image)
    focal = None if given.x is None or given.y is None else FocalPoint(given.x, given.y)
    image = await library.update(project, image.id, focal_point=focal)
    point = image.focal_point
    return JSONResponse(
        {
            "focalPoint": None if point is None else {"x": point.x, "y": point.y},
            "crops": [url for _, _, _, url in visit.links().crops(image)],
        }
    )


@router.get("/images/{image_id}/url")
async def build_url(request: Request, image_id: str) -> JSONResponse:
    """The URL builder: `width`, `height`, `fit`, `format`, `quality` or `preset`."""
    visit = await visit_of(request)
    _, project, _ = visit.member()
    image = await visit.core.library.get(project, parse_id(image_id))
    fields = {k: v for k, v in request.query_params.items() if len(v) <= 64}
    try:
        built = visit.links().build(image, fields)
    except InvalidInput as exc:
        label = BUILDER_LABELS.get(exc.param or "")
        if label is None:
            raise
        text = exc.message.removeprefix(f"{exc.param} ")
        raise InvalidInput(f"{label}: {text}", param=exc.param) from None
    markdown, html = snippets(built, alt_text(image))
    return JSONResponse(
        {
            "url": built.url,
            "markdown": markdown,
            "html": html,
            "width": built.width,
            "height": built.height,
        }
    )
