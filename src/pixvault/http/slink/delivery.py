"""Slink delivery: `/image/{id}.{ext}` and `/api/image/{id}.{ext}`, public, no key.

The extension is the output format; Slink's `width`/`height`/`quality`/`crop` and the seed's
`w`/`h`/`q` go through the one transform grammar. Slink's `crop` with one side is a square
of that side, so that side is given for the other too. Plain Starlette routes, like the
native CDN route, because this is a hot path.
"""

from fastapi import Request, Response
from starlette.routing import Route

from pixvault.domain.errors import ImageNotFound, PixvaultError
from pixvault.domain.locators import BySlinkId
from pixvault.domain.transform import is_truthy_crop
from pixvault.http.common.auth import core_of
from pixvault.http.common.delivery import respond, viewer_of
from pixvault.http.slink.errors import render_query_error
from pixvault.services.projects import split_path

_WIDTH, _HEIGHT = ("w", "width"), ("h", "height")


def slink_params(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Slink's square crop: `crop` with only a width (or only a height) crops a square."""
    names = {name for name, _ in params}
    crop = next((value for name, value in params if name == "crop"), None)
    if crop is None or not is_truthy_crop(crop):
        return params
    widths = [v for n, v in params if n in _WIDTH]
    heights = [v for n, v in params if n in _HEIGHT]
    if widths and not names & set(_HEIGHT):
        return [*params, ("h", widths[0])]
    if heights and not names & set(_WIDTH):
        return [*params, ("w", heights[0])]
    return params


async def slink_image(request: Request) -> Response:
    core = core_of(request)
    try:
        image_id, dot, ext = request.path_params["name"].rpartition(".")
        if not dot:
            raise ImageNotFound(ext)  # Slink's route needs the extension
        org, slug = split_path(core.settings.slink_project)
        answer = await core.delivery.serve(
            BySlinkId(org, slug, image_id, ext),
            slink_params(request.query_params.multi_items()),
            viewer_of(request, core),
        )
        return await respond(answer, render_query_error)
    except PixvaultError as exc:
        return render_query_error(exc)


def _route(path: str) -> Route:
    async def endpoint(request: Request) -> Response:
        # Metrics label requests by route template; plain routes must say which.
        request.scope["route"] = route
        return await slink_image(request)

    route = Route(path, endpoint, methods=["GET", "HEAD"])
    return route


routes = [_route("/image/{name}"), _route("/api/image/{name}")]
