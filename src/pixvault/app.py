"""create_app(settings): the ASGI application with every surface mounted on one core."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException

from pixvault import __version__, web
from pixvault.config import Settings
from pixvault.http import docs, ops
from pixvault.http.common.admission import AdmissionControl
from pixvault.http.common.errors import Render, from_http_exception
from pixvault.http.native import admin, cdn, flows, images
from pixvault.http.native.errors import render_error as native_error
from pixvault.http.slink import account
from pixvault.http.slink import delivery as slink_delivery
from pixvault.http.slink import images as slink_images
from pixvault.http.slink.errors import render_query_error as slink_error
from pixvault.http.vaults import assets as vault_assets
from pixvault.http.vaults import delivery as vault_delivery
from pixvault.http.vaults.errors import render_error as vault_error
from pixvault.observability import RequestContext
from pixvault.services.admission import Admission
from pixvault.services.core import Core, build_core, ensure_schema_current, initialise
from pixvault.web.visit import api_error as ui_api_error
from pixvault.web.visit import page_error as ui_page_error

# The routes, in the order they are matched. Public delivery is the hot path: matched first,
# ahead of even /docs. No API path has `img` as its third segment and `api` is a reserved
# organisation slug, so it never shadows another route.
DELIVERY = (cdn.route, vault_delivery.route, *slink_delivery.routes)
ROUTERS = (
    images.router,
    flows.router,
    admin.router,
    account.router,
    slink_images.uploads,
    slink_images.reads,
    vault_assets.router,
    ops.router,
)
# The envelope of a request no route answers (unknown path or method), by path prefix: the
# vault routes', then `/api/v1` and the admin paths are the native API's, the rest of `/api`
# is Slink's.
UNMATCHED: tuple[tuple[str, Render], ...] = (
    ("/api/v1/assets", vault_error),
    ("/api/v1/urls/", vault_error),
    ("/api/v1/vaults/", vault_error),
    ("/v1/", vault_error),
    ("/vault_", vault_error),
    ("/api/v1/", native_error),
    ("/api/admin/", native_error),
    ("/api/bootstrap/", native_error),
    ("/api/", slink_error),
    ("/ui/api/", ui_api_error),
    ("/ui/", ui_page_error),
    ("/", native_error),
)


def create_app(
    settings: Settings | None = None, *, core: Core | None = None, migrate: bool = True
) -> FastAPI:
    """Build the app. With `core` given the caller owns its lifecycle (tests, benchmarks);
    with `migrate=False` the schema must already be current (`pixvault serve` migrates once
    before starting its workers)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if core is not None:
            app.state.core = core
            yield
            return
        owned = build_core(settings)
        if migrate:
            await initialise(owned)
        else:
            await ensure_schema_current(owned)
        app.state.core = owned
        try:
            yield
        finally:
            await owned.close()

    app = FastAPI(
        title="pixvault",
        version=__version__,
        description="Self-hosted image hosting, management and delivery.",
        lifespan=lifespan,
        docs_url=None,  # served by `docs.mount` from packaged assets, not a CDN
        redoc_url=None,
        # pixvault exports Prometheus metrics and JSON logs itself; FastAPI's OpenTelemetry
        # hooks would only probe for providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    if core is not None:
        app.state.core = core
    app.router.routes[0:0] = DELIVERY
    for router in ROUTERS:
        app.include_router(router)
    # With METRICS_PORT set, /metrics is served there (server.py) and is not public here.
    hidden = frozenset() if settings.metrics_port is None else frozenset({"/metrics"})
    docs.mount(app, hidden=hidden)
    web.mount(app)  # the web UI at /ui (static files at /ui/static) and `/` redirecting there
    app.add_exception_handler(HTTPException, _unmatched)
    app.add_middleware(
        AdmissionControl,
        admission=Admission.from_settings(settings),
        envelope=envelope_for,
        body_timeout=settings.body_timeout_seconds,
        hidden=hidden,
    )
    app.add_middleware(RequestContext)
    return app


def envelope_for(path: str) -> Render:
    """The error renderer of the surface that owns `path`, route or no route."""
    return next(render for prefix, render in UNMATCHED if path.startswith(prefix))


async def _unmatched(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return envelope_for(request.url.path)(from_http_exception(exc, request))


def served_app() -> FastAPI:
    """uvicorn factory for `pixvault serve`: settings from the environment, schema checked."""
    return create_app(Settings(), migrate=False)
