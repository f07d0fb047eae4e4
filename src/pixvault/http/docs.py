"""`/docs` (Swagger UI), `/redoc` (ReDoc) and `/openapi.json`: one spec for every surface,
a tag per surface, with the Swagger UI and ReDoc assets served from the fastapi-offline
package so the docs work without internet.

FastAPI writes the spec from the routes; this module adds what it cannot see: the security
schemes (so "Authorize" sends `X-API-Key` or a Bearer token), which routes need which
credential, the public delivery URLs (plain Starlette routes, on the hot path), and it drops
FastAPI's generic 422 `HTTPValidationError`, which no route answers (each surface renders
validation errors in its own envelope, documented per route).
"""

from collections.abc import Callable, Iterable, Iterator
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.staticfiles import StaticFiles

from pixvault.http.common.admission import UNLANED
from pixvault.http.common.auth import Master, Reader, Writer
from pixvault.http.common.openapi import STATUS_MEANINGS, query_parameters
from pixvault.http.slink.auth import KeyHolder, SignedIn
from pixvault.http.vaults.auth import VaultReader, VaultWriter

ASSETS = "/docs/assets"  # `docs` is a reserved organisation slug: no delivery URL shadows it
OAUTH2_REDIRECT = "/docs/oauth2-redirect"

TAGS = [
    {"name": "images", "description": "Native (Banatie) API: images. Key: X-API-Key or Bearer."},
    {"name": "flows", "description": "Native (Banatie) API: flows of images and their aliases."},
    {"name": "admin", "description": "Native API, instance administration: a master key."},
    {
        "name": "slink",
        "description": "Slink API: accounts (JWT access tokens from /api/auth/login), uploads "
        "and the signed-in user's images. Errors use Slink's envelopes.",
    },
    {
        "name": "vaults",
        "description": "Vault (imgbt) API. Each route is documented once, at "
        "/api/v1/vaults/{vault_id}/...; it also answers at /v1/vaults/{vault_id}/... and, "
        "with the vault implied by the key, at /api/v1/... and /v1/....",
    },
    {
        "name": "delivery",
        "description": "Public image URLs (no key): the original or a transform given by query "
        "parameters, in the envelope of the surface the URL belongs to. HEAD works too.",
    },
    {"name": "ops", "description": "Liveness, readiness and Prometheus metrics."},
]

SECURITY_SCHEMES = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "A pixvault API key (native, vault, or a Slink user's sk_ key)",
    },
    "Bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The same API key as `Authorization: Bearer KEY`",
    },
    "SlinkToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Slink access token from POST /api/auth/login",
    },
}
_KEY = [{"ApiKey": []}, {"Bearer": []}]


def _dependency(annotated: Any) -> Callable[..., Any]:
    return get_args(annotated)[1].dependency


# The credential each route-level dependency asks for.
_SECURITY: dict[Callable[..., Any], list[dict[str, list[str]]]] = {
    **{_dependency(a): _KEY for a in (Reader, Writer, Master, VaultReader, VaultWriter, KeyHolder)},
    _dependency(SignedIn): [{"SlinkToken": []}],
}


def mount(app: FastAPI, *, hidden: frozenset[str] = frozenset()) -> None:
    """Serve `/docs`, `/redoc` and their assets, and build the spec with `openapi(app)`;
    `hidden` paths are not served on this port (as `/metrics` with METRICS_PORT set), so the
    spec leaves them out."""
    app.mount(ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")
    spec_url = app.openapi_url or "/openapi.json"

    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=spec_url,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            oauth2_redirect_url=OAUTH2_REDIRECT,
            swagger_ui_parameters={"persistAuthorization": True},
        )

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=spec_url,
            title=f"{app.title} API",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    for path, endpoint in (("/docs", swagger), (OAUTH2_REDIRECT, oauth2_redirect)):
        app.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
    app.openapi = lambda: openapi(app, hidden)  # type: ignore[method-assign]


def openapi(app: FastAPI, hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    if app.openapi_schema is None:
        spec = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=TAGS,
        )
        _drop_phantom_validation(spec)
        _share_schemas(spec)
        _add_admission(spec)
        _add_security(spec, app)
        spec["paths"].update(delivery_paths())
        for path in hidden:
            spec["paths"].pop(path, None)
        app.openapi_schema = spec
    return app.openapi_schema


def _drop_phantom_validation(spec: dict[str, Any]) -> None:
    phantom = "#/components/schemas/HTTPValidationError"
    for item in spec["paths"].values():
        for operation in item.values():
            answer = operation.get("responses", {}).get("422", {})
            if answer.get("content", {}).get("application/json", {}).get("schema") == {
                "$ref": phantom
            }:
                del operation["responses"]["422"]
    schemas = spec.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def _share_schemas(spec: dict[str, Any]) -> None:
    """A response declared in more media types than JSON (Slink's errors) has one schema."""
    for item in spec["paths"].values():
        for operation in item.values():
            for answer in operation.get("responses", {}).values():
                content = answer.get("content", {})
                schema = content.get("application/json", {}).get("schema")
                for media in content.values():
                    if schema is not None and "schema" not in media:
                        media["schema"] = schema


def _add_admission(spec: dict[str, Any]) -> None:
    """Admission control (`http/common/admission.py`) answers any laned route 429 when its
    lane is full, and a request whose body stalls 408, in the route's own error envelope."""
    for path, item in spec["paths"].items():
        if path in UNLANED:
            continue
        for operation in item.values():
            answers = operation["responses"]
            envelope = next(
                (
                    a["content"]
                    for s, a in answers.items()
                    if s in ("400", "404") and "content" in a
                ),
                None,
            )
            if envelope is None:
                continue
            added = [429, 408] if "requestBody" in operation else [429]
            for status in added:
                answers.setdefault(
                    str(status), {"description": STATUS_MEANINGS[status], "content": envelope}
                )


def _calls(dependant: Dependant) -> Iterable[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def routes_of(app: FastAPI) -> Iterator[RouteContext]:
    """Every route as FastAPI's spec sees it: included routers flattened, prefixes applied."""
    return iter_route_contexts(app.routes)


def _add_security(spec: dict[str, Any], app: FastAPI) -> None:
    spec.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for route in routes_of(app):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        needed = next((_SECURITY[c] for c in _calls(route.dependant) if c in _SECURITY), None)
        if needed is None:
            continue
        item = spec["paths"][route.path_format]
        for method in route.methods or ():
            if method.lower() in item:
                item[method.lower()]["security"] = needed


# -- public delivery URLs --------------------------------------------------------------------

_TRANSFORM = {
    "w": "width in pixels, 1 to the instance's max side (alias: width)",
    "h": "height in pixels (alias: height)",
    "dpr": "device pixel ratio 1-3, two decimals at most; multiplies w and h",
    "fit": "cover | contain | fill | inside | outside (default inside); needs w or h",
    "crop": "true (focal point or centre), focal, smart, auto, entropy, center, or false",
    "gravity": "crop anchor: center, n, ne, e, se, s, sw, w, nw, focal, smart, auto (alias: g)",
    "format": "jpeg, png, webp, avif, gif, or auto from Accept (alias: f); alone, a "
    "placeholder: blurhash (the BlurHash as text/plain) or lqip (a 32-pixel WebP)",
    "q": "quality 1-100 (alias: quality)",
    "rotate": "0, 90, 180 or 270 degrees clockwise (alias: rt)",
    "flip": "h, v or hv",
    "grayscale": "true or false",
    "blur": "1-100",
    "sharpen": "1-100",
    "bg": "6 hex digits: padding, flattening and corner colour",
    "border": "{px},{hex}, e.g. 5,ff0000",
    "radius": "1-4096 pixels, or max",
    "preset": "a named preset of the project (required when the project is presets-only)",
}
_SIGNED = {
    "s": "signature, when the project signs its URLs (see README, Signed URLs)",
}
_VAULT_SIGNED = {
    "token": "token of a URL from POST /urls/sign",
    "expires": "unix seconds until which the signed URL works",
}


def _path(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _delivery(
    summary: str,
    description: str,
    params: list[dict[str, Any]],
    error: str,
    error_type: str = "application/json",
) -> dict[str, Any]:
    problem = {"content": {error_type: {"schema": {"$ref": error}}}}
    reasons = {
        "400": "An invalid transform parameter (named in the message)",
        "403": "Bad or missing signature, or a presets-only project",
        "404": "No such image (or not public)",
        "416": "The Range is past the end of the file",
        "429": "Too many cold renders; retry after Retry-After",
        "503": "The blob store is unavailable, or a new derivative was not ready within the "
        "render timeout (RENDER_TIMEOUT, Retry-After)",
    }
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "get": {
            "tags": ["delivery"],
            "summary": summary,
            "description": description,
            "operationId": summary.lower().replace(" ", "_").replace(":", ""),
            "parameters": params,
            "responses": {
                "200": {
                    "description": "The image (original or derivative), or the BlurHash text",
                    "content": {"image/*": binary, "text/plain": {"schema": {"type": "string"}}},
                },
                "206": {"description": "Part of the image, for a Range request"},
                "304": {"description": "Not modified (If-None-Match matched the ETag)"},
                **{status: {"description": why, **problem} for status, why in reasons.items()},
            },
        }
    }


def delivery_paths() -> dict[str, Any]:
    native, vault, slink = (
        f"#/components/schemas/{name}" for name in ("NativeError", "VaultError", "SlinkError")
    )
    transform = query_parameters(_TRANSFORM)["parameters"]
    return {
        "/{org}/{project}/img/{ref}": _delivery(
            "Native CDN URL",
            "An image of a project by id or @alias, e.g. `/acme/site/img/@hero?w=800&format=auto`.",
            [
                _path("org", "organisation slug"),
                _path("project", "project slug"),
                _path("ref", "image UUID, or @alias"),
                *transform,
                *query_parameters(_SIGNED)["parameters"],
            ],
            native,
        ),
        "/{vault_id}/{partition}/{collection}/{channel}/{filename}": _delivery(
            "Vault delivery URL",
            "A vault file by its folder path. With both w and h the fit defaults to cover.",
            [
                _path(
                    "vault_id",
                    "vault_ + 26 ULID characters",
                    pattern="^[vV][aA][uU][lL][tT]_[0-9A-Za-z]{26}$",
                ),
                _path("partition", "first folder level"),
                _path("collection", "second folder level"),
                _path("channel", "third folder level"),
                _path("filename", "the file's name"),
                *transform,
                *query_parameters(_VAULT_SIGNED)["parameters"],
            ],
            vault,
        ),
        "/image/{name}": _delivery(
            "Slink image URL",
            "A Slink image as `{id}.{ext}`; the extension is the output format. Also at "
            "`/api/image/{name}`. Slink's width, height, quality and crop (one side with "
            "crop=true is a square) are accepted.",
            [_path("name", "{uuid}.{ext}, e.g. 3f1c….webp"), *transform],
            slink,
            "application/vnd.api+json",
        ),
    }
