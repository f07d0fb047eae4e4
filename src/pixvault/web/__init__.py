"""The web UI at `/ui`: server-rendered pages (Jinja2) and a little plain JavaScript over the
same core as the APIs. `mount(app)` adds its routes, its static files and the `/` redirect."""

from fastapi import FastAPI, Response
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from pixvault.web import api, pages


class _Static(StaticFiles):
    """Vendored CSS and JavaScript. A URL with `?v=HASH` (as the pages link them) names one
    version of the file, so it may be cached for a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200 and b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers.setdefault("Cache-Control", "no-cache")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def mount(app: FastAPI) -> None:
    app.mount("/ui/static", _Static(packages=[("pixvault.web", "static")]), name="ui-static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.add_api_route("/", _home, methods=["GET", "HEAD"], include_in_schema=False)


async def _home() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)
