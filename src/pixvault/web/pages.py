"""The UI's pages: sign-in, gallery, image page, API keys, project settings.

Every page parses its request, calls the core, and renders a template; every change goes
through the same core services (and so the same rules) as the APIs. Forms are plain POSTs
(answered with a redirect, or the page again with the error in words); the scripts call
`api.py`.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from pixvault.domain.aliases import validate_alias
from pixvault.domain.errors import (
    FileTooLarge,
    InvalidCredentials,
    InvalidInput,
    KeyNotFound,
    NotFound,
    PixvaultError,
    RegistrationClosed,
    TooManyAttempts,
)
from pixvault.domain.folders import validate_tags
from pixvault.domain.ids import parse_uuid
from pixvault.domain.models import ApiKey, Image
from pixvault.domain.paging import ImageFilter, Keyset
from pixvault.domain.text import has_control, plain
from pixvault.http.common.auth import core_of
from pixvault.http.common.delivery import client_address
from pixvault.web import session as sessions
from pixvault.web.links import FITS, FORMATS, Links
from pixvault.web.visit import (
    AdminsOnly,
    PageRoute,
    Visit,
    message_of,
    parse_id,
    redirect,
    safe_next,
    status_of,
    visit_of,
)

router = APIRouter(prefix="/ui", include_in_schema=False, route_class=PageRoute)

PAGE_SIZE = 30
MAX_DESCRIPTION = 255  # as Slink's, which shows the same images
MAX_LABEL = 100
_SIGNING_KEY = re.compile(r"signingKeys\.(\d+): ")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
DONE = {
    "saved": "Changes saved.",
    "restored": "Image restored.",
    "purged": "Image deleted permanently.",
    "revoked": "Key revoked. Requests with it are refused from now on.",
    "settings": "Project settings saved.",
    "signed-out": "You are signed out.",
    "welcome": "Welcome! Your account is ready.",
}


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _client(request: Request) -> str:
    """The address failed sign-ins count against (the trusted proxy's header when set)."""
    trusted = core_of(request).settings.client_ip_header
    return client_address(request, trusted) or "unknown"


def _done(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


# -- signing in and out --------------------------------------------------------------------


@router.get("")
async def ui_root() -> Response:
    return redirect("/ui/")


@router.get("/login")
async def login_page(request: Request) -> Response:
    visit = await visit_of(request)
    if visit.signed_in:
        return redirect(safe_next(request.query_params.get("next")))
    return _login(visit, next_url=request.query_params.get("next", ""), notice=_done(request))


def _login(
    visit: Visit, *, status: int = 200, error: str | None = None, **context: Any
) -> HTMLResponse:
    return visit.render(
        "login.html",
        status,
        error=error,
        registration=visit.core.settings.registration,
        **context,
    )


@router.post("/login")
async def login(request: Request) -> Response:
    visit = await visit_of(request)
    try:
        form = await visit.form()
    except sessions.CsrfRejected as exc:  # a stale tab: the page again, with a fresh token
        typed = _field(await request.form(), "email").strip()
        return _login(visit, status=403, error=exc.message, email=typed)
    login_name, password = _field(form, "email").strip(), _field(form, "password")
    next_url = _field(form, "next")
    try:
        if not login_name or not password:
            raise InvalidInput("Enter your email (or username) and your password")
        user = await visit.core.users.sign_in(login_name, password, client=_client(request))
    except (InvalidCredentials, TooManyAttempts, InvalidInput) as exc:
        message = (
            "That email and password do not match an account; check them and try again"
            if isinstance(exc, InvalidCredentials)
            else exc.message
        )
        return _login(
            visit, status=status_of(exc), error=message, email=login_name, next_url=next_url
        )
    sessions.sign_in(request, user.id)
    return redirect(safe_next(next_url))


@router.post("/logout")
async def logout(request: Request) -> Response:
    visit = await visit_of(request)
    await visit.form()
    if visit.session.user_id is not None:
        # Server-side too: a copied cookie of this user stops working everywhere.
        await visit.core.users.sign_out_everywhere(visit.session.user_id)
    sessions.sign_out(request)
    return redirect("/ui/login?done=signed-out")


@router.get("/signup")
async def signup_page(request: Request) -> Response:
    visit = await visit_of(request)
    if not visit.core.settings.registration:
        raise RegistrationClosed()
    return visit.render("signup.html", values={})


@router.post("/signup")
async def signup(request: Request) -> Response:
    visit = await visit_of(request)
    form = await visit.form()
    core = visit.core
    values = {k: _field(form, k).strip() for k in ("email", "username")}
    try:
        project = await core.projects.by_path(core.settings.slink_project)
        user = await core.users.sign_up(
            project,
            email=values["email"],
            username=values["username"],
            password=_field(form, "password"),
            confirm=_field(form, "confirm"),
        )
    except PixvaultError as exc:
        return visit.render(
            "signup.html",
            status_of(exc),
            error=message_of(exc),
            error_field=exc.param,
            values=values,
        )
    sessions.sign_in(request, user.id)
    return redirect("/ui/?done=welcome")


# -- gallery -------------------------------------------------------------------------------


def _filters(request: Request) -> tuple[ImageFilter, dict[str, str]]:
    query = request.query_params
    chosen = {
        "q": query.get("q", "").strip(),
        "flow": query.get("flow", "").strip(),
        "visibility": query.get("visibility", "all"),
        "deleted": "1" if query.get("deleted") == "1" else "",
    }
    if chosen["q"]:
        plain(chosen["q"], "Search")
    flow = parse_uuid(chosen["flow"], param="Flow") if chosen["flow"] else None
    if chosen["visibility"] not in ("all", "public", "private"):
        raise InvalidInput(
            "Visibility is all images, public ones or private ones", param="visibility"
        )
    only = ImageFilter(
        search=chosen["q"] or None,
        flow_id=flow,
        public_only=chosen["visibility"] == "public",
        private_only=chosen["visibility"] == "private",
        include_deleted=chosen["deleted"] == "1",
    )
    return only, chosen


def _gallery_url(chosen: dict[str, str], **cursor: str) -> str:
    params = {k: v for k, v in chosen.items() if v and not (k == "visibility" and v == "all")}
    query = urlencode({**params, **cursor})
    return "/ui/" + ("?" + query if query else "")


def card(links: Links, image: Image) -> dict[str, Any]:
    """What a gallery cell shows of an image."""
    src, srcset = links.thumb(image)
    width, height = image.width, image.height
    if width and height:
        scale = min(1.0, 240 / width, 240 / height)
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
    return {
        "image": image,
        "src": src,
        "srcset": srcset,
        "width": width,
        "height": height,
        "alt": alt_text(image),
        "name": image.filename or image.alias or str(image.id)[:8],
        "placeholder": placeholder_color(image),
    }


def placeholder_color(image: Image) -> str | None:
    """The image's average colour (computed at upload), shown while its pictures load."""
    color = image.dominant_color
    return color if color is not None and _COLOR.fullmatch(color) else None


def alt_text(image: Image) -> str:
    return image.description or image.filename or image.alias or f"Image {image.id}"


@router.get("/")
async def gallery(request: Request) -> Response:
    visit = await visit_of(request)
    _, project, _ = visit.member()
    core = visit.core
    error = None
    try:
        only, chosen = _filters(request)
        before, after = request.query_params.get("before"), request.query_params.get("after")
        if after:
            start = Keyset(parse_uuid(after, param="after"), "newer")
        else:
            start = Keyset(parse_uuid(before, param="before") if before else None, "older")
        page = await core.library.page(project, only, limit=PAGE_SIZE, start=start)
    except InvalidInput as exc:
        error, chosen = exc.message, {"q": "", "flow": "", "visibility": "all", "deleted": ""}
        only, start = ImageFilter(), Keyset()
        page = await core.library.page(project, only, limit=PAGE_SIZE)
    items = page.items
    older = newer = None
    if start.direction == "newer":
        items = list(reversed(items))
        if page.has_more and items:
            newer = _gallery_url(chosen, after=str(items[0].id))
        if items:
            older = _gallery_url(chosen, before=str(items[-1].id))
    else:
        if page.has_more and items:
            older = _gallery_url(chosen, before=str(items[-1].id))
        if start.position is not None and items:
            newer = _gallery_url(chosen, after=str(items[0].id))
    total = None
    if only.is_whole_project and not only.include_deleted:
        total = (await core.library.list(project, only, limit=1)).total
    deleted = None
    deleted_id = request.query_params.get("deleted_id")
    if deleted_id:
        try:
            deleted = await core.library.get(project, uuid.UUID(deleted_id), include_deleted=True)
        except (ValueError, NotFound):
            deleted = None
        if deleted is not None and deleted.deleted_at is None:
            deleted = None
    links = visit.links()
    policy = core.native_uploads
    return visit.render(
        "gallery.html",
        cards=[card(links, i) for i in items],
        chosen=chosen,
        older=older,
        newer=newer,
        first=_gallery_url(chosen) if start.position is not None else None,
        total=total,
        error=error,
        notice=_done(request),
        deleted=deleted,
        max_upload=policy.max_bytes,
        too_large=FileTooLarge(policy.max_bytes).message,
        accepted=sorted(policy.allowed_types or ()),
    )


# -- one image -----------------------------------------------------------------------------


async def _image(visit: Visit, image_id: str) -> Image:
    _, project, _ = visit.member()
    return await visit.core.library.get(project, parse_id(image_id), include_deleted=True)


def _image_page(
    visit: Visit,
    image: Image,
    *,
    status: int = 200,
    error: str | None = None,
    error_field: str | None = None,
    values: dict[str, Any] | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    links = visit.links()
    project = visit.project
    assert project is not None
    settings = project.settings
    preview, preview_set = links.preview(image)
    views = image.views + visit.core.views.pending(image.id)
    values = values or {
        "alias": image.alias or "",
        "description": image.description or "",
        "tags": ", ".join(image.tags),
        "public": image.is_public,
    }
    return visit.render(
        "image.html",
        status,
        image=image,
        alt=alt_text(image),
        placeholder=placeholder_color(image),
        preview=preview,
        preview_set=preview_set,
        crops=links.crops(image),
        original=links.original(image),
        views=views,
        editable=visit.may_change(image) and image.deleted_at is None,
        deletable=visit.may_change(image),
        error=error,
        error_field=error_field,
        values=values,
        notice=notice,
        fits=FITS,
        formats=FORMATS,
        presets=sorted(settings.presets),
        presets_only=settings.presets_only,
        signed=settings.signature_required,
    )


@router.get("/images/{image_id}")
async def image_page(request: Request, image_id: str) -> Response:
    visit = await visit_of(request)
    image = await _image(visit, image_id)
    return _image_page(visit, image, notice=_done(request))


def parse_tags(text: str) -> list[str]:
    """`Tags` as typed: separated by commas, trimmed, duplicates dropped."""
    tags: list[str] = []
    for part in text.split(","):
        tag = part.strip()
        if tag and tag not in tags:
            tags.append(plain(tag, "Tags"))
    return validate_tags(tags)


def parse_alias(text: str) -> str | None:
    """`Alias` as typed: empty removes it, the leading `@` may be left out."""
    text = text.strip()
    if not text:
        return None
    return validate_alias(text if text.startswith("@") else "@" + text, param="Alias")


def parse_description(text: str) -> str | None:
    text = text.replace("\r\n", "\n").strip()
    if has_control(text.replace("\n", "").replace("\t", "")):
        raise InvalidInput("Description may not contain control characters", param="description")
    if len(text) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"Description is at most {MAX_DESCRIPTION} characters; it has {len(text)}",
            param="description",
        )
    return text or None


@router.post("/images/{image_id}")
async def save_image(request: Request, image_id: str) -> Response:
    visit = await visit_of(request)
    _, project, _ = visit.writer()
    form = await visit.form()
    image = await _image(visit, image_id)
    visit.owner_of(image)
    values = {
        "alias": _field(form, "alias"),
        "description": _field(form, "description"),
        "tags": _field(form, "tags"),
        "public": form.get("public") is not None,
    }
    library = visit.core.library
    try:
        if image.deleted_at is not None:
            raise InvalidInput("This image is deleted: restore it before changing it")
        alias = parse_alias(values["alias"])
        description = parse_description(values["description"])
        tags = parse_tags(values["tags"])
        if alias != image.alias:
            await library.assign_alias(project, image.id, alias)
        await library.update(project, image.id, description=description, is_public=values["public"])
        if tags != image.tags:
            await library.merge(project, image.id, tags=tags)
    except PixvaultError as exc:
        field = (exc.param or "").lower() or None
        fresh = await library.get(project, image.id, include_deleted=True)
        return _image_page(
            visit,
            fresh,
            status=status_of(exc),
            error=message_of(exc),
            error_field=field,
            values=values,
        )
    return redirect(f"/ui/images/{image.id}?done=saved")


@router.post("/images/{image_id}/delete")
async def delete_image(request: Request, image_id: str) -> Response:
    visit = await visit_of(request)
    _, project, _ = visit.writer()
    await visit.form()
    image = await _image(visit, image_id)
    visit.owner_of(image)
    if image.deleted_at is None:
        await visit.core.library.delete(project, image.id, soft=True)
    return redirect(f"/ui/?deleted_id={image.id}")


@router.post("/images/{image_id}/restore")
async def restore_image(request: Request, image_id: str) -> Response:
    visit = await visit_of(request)
    _, project, _ = visit.writer()
    await visit.form()
    image = await _image(visit, image_id)
    visit.owner_of(image)
    if image.deleted_at is not None:
        await visit.core.library.restore(project, image.id)
    return redirect(f"/ui/images/{image.id}?done=restored")


@router.post("/images/{image_id}/purge")
async def purge_image(request: Request, image_id: str) -> Response:
    visit = await visit_of(request)
    _, project, _ = visit.writer()
    form = await visit.form()
    image = await _image(visit, image_id)
    visit.owner_of(image)
    if _field(form, "confirm") != "yes":
        return _image_page(
            visit,
            image,
            status=400,
            error="Confirm that the image should be deleted permanently",
        )
    await visit.core.library.delete(project, image.id, soft=False, include_deleted=True)
    return redirect("/ui/?done=purged")


# -- API keys ------------------------------------------------------------------------------


async def _keys(visit: Visit) -> list[ApiKey]:
    user, project, _ = visit.member()
    found = await visit.core.keys.list(project.id, user_id=None if user.is_admin else user.id)
    return sorted(found, key=lambda k: (k.revoked_at is not None, -k.created_at.timestamp()))


async def _keys_page(visit: Visit, *, status: int = 200, **context: Any) -> HTMLResponse:
    keys = await _keys(visit)
    owners = await visit.core.users.names(k.user_id for k in keys if k.user_id is not None)
    context.setdefault("notice", _done(visit.request))
    return visit.render("keys.html", status, keys=keys, owners=owners, **context)


@router.get("/keys")
async def keys_page(request: Request) -> Response:
    visit = await visit_of(request)
    visit.member()
    return await _keys_page(visit)


@router.post("/keys")
async def create_key(request: Request) -> Response:
    visit = await visit_of(request)
    user, project, _ = visit.writer()
    form = await visit.form()
    kind, label = _field(form, "kind"), _field(form, "label").strip()
    try:
        if kind not in ("secret", "public"):
            raise InvalidInput("Choose a secret key (read and write) or a public key (read only)")
        if len(label) > MAX_LABEL:
            raise InvalidInput(f"A label is at most {MAX_LABEL} characters", param="label")
        plain(label, "Label")
        issued = await visit.core.keys.issue(kind, project.id, label=label or None, user_id=user.id)
    except PixvaultError as exc:
        return await _keys_page(
            visit, status=status_of(exc), error=message_of(exc), label=label, kind=kind
        )
    return await _keys_page(visit, issued=issued, status=201, notice=None)


@router.post("/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str) -> Response:
    visit = await visit_of(request)
    user, project, _ = visit.writer()
    await visit.form()
    keys = visit.core.keys
    ident = parse_id(key_id)
    if user.is_admin:
        key = await keys.get(ident)
        if key.project_id != project.id:
            raise KeyNotFound(ident)
        await keys.revoke(ident)
    else:
        await keys.revoke_own(user.id, ident)
    return redirect("/ui/keys?done=revoked")


# -- project settings (administrators) -----------------------------------------------------


def _settings_values(visit: Visit) -> dict[str, Any]:
    assert visit.project is not None
    settings = visit.project.settings
    auto = settings.auto_format
    return {
        "presets": "\n".join(f"{name}: {query}" for name, query in settings.presets.items()),
        "presets_only": settings.presets_only,
        "signing_keys": "\n".join(settings.signing_keys),
        "avif": settings.avif,
        "auto_format": "default" if auto is None else ("on" if auto else "off"),
    }


def _settings_page(visit: Visit, *, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("values", _settings_values(visit))
    policy = visit.core.native_uploads
    return visit.render(
        "settings.html",
        status,
        max_upload=policy.max_bytes,
        accepted=sorted(policy.allowed_types or ()),
        **context,
    )


@router.get("/settings")
async def settings_page(request: Request) -> Response:
    visit = await visit_of(request)
    user, _, _ = visit.member()
    if not user.is_admin:
        raise AdminsOnly()
    return _settings_page(visit, notice=_done(request))


def parse_presets(text: str) -> dict[str, str]:
    presets: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, query = line.partition(":")
        if not sep or not name.strip() or not query.strip():
            raise InvalidInput(
                f"Presets, line {number}: write one preset per line as NAME: QUERY, "
                "like thumb: w=200&h=200&crop=true",
                param="presets",
            )
        presets[name.strip()] = query.strip().lstrip("?")
    return presets


@router.post("/settings")
async def save_settings(request: Request) -> Response:
    visit = await visit_of(request)
    user, project, _ = visit.writer()
    form = await visit.form()
    if not user.is_admin:
        raise AdminsOnly()
    values = {
        "presets": _field(form, "presets"),
        "presets_only": form.get("presets_only") is not None,
        "signing_keys": _field(form, "signing_keys"),
        "avif": form.get("avif") is not None,
        "auto_format": _field(form, "auto_format") or "default",
    }
    try:
        document = project.settings.as_document()  # keeps what the UI does not show
        document["presets"] = parse_presets(values["presets"])
        document["presetsOnly"] = values["presets_only"]
        keys = [k.strip() for k in values["signing_keys"].splitlines() if k.strip()]
        for key in keys:
            plain(key, "Signing keys")
        document["signingKeys"] = keys
        document["avif"] = values["avif"]
        if values["auto_format"] not in ("default", "on", "off"):
            raise InvalidInput("Auto format is the instance default, on or off")
        document.pop("autoFormat", None)
        if values["auto_format"] != "default":
            document["autoFormat"] = values["auto_format"] == "on"
        await visit.core.projects.update_settings(project.id, document)
    except PixvaultError as exc:
        message = _SIGNING_KEY.sub(
            lambda m: f"Signing key on line {int(m.group(1)) + 1}: ", message_of(exc)
        )
        return _settings_page(visit, status=status_of(exc), error=message, values=values)
    return redirect("/ui/settings?done=settings")


# -- anything else under /ui ---------------------------------------------------------------


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def not_found(request: Request, rest: str) -> Response:
    raise NotFound(f"There is no page at {request.url.path}")
