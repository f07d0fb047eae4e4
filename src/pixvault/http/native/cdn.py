"""Banatie CDN URLs: `/{org}/{project}/img/{imageId}` and `/{org}/{project}/img/@{alias}`.

Public, no key. Query parameters transform the image (see `domain/transform.py`). Errors use
the native envelope, since these URLs belong to the same contract.

This is the hottest route, so it is a plain Starlette route: FastAPI's parameter solving
cost ~70 µs per cached hit, a fifth of the budget. Its entry in `/docs` (with its parameters)
is written by hand in `http/docs.py`.
"""

from fastapi import Request, Response
from starlette.routing import Route

from pixvault.domain.errors import PixvaultError
from pixvault.domain.locators import cdn_locator
from pixvault.http.common.auth import core_of
from pixvault.http.common.delivery import respond, viewer_of
from pixvault.http.native.errors import render_error


async def cdn_image(request: Request) -> Response:
    # FastAPI records only its own routes in the scope; metrics label requests by template.
    request.scope["route"] = route
    params = request.path_params
    core = core_of(request)
    try:
        answer = await core.delivery.serve(
            cdn_locator(params["org"], params["project"], params["ref"]),
            request.query_params.multi_items(),
            viewer_of(request, core),
        )
        return await respond(answer, render_error)
    except PixvaultError as exc:
        return render_error(exc)


route = Route("/{org}/{project}/img/{ref}", cdn_image, methods=["GET", "HEAD"])
