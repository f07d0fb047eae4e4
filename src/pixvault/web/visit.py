"""Who is visiting the UI, and how its answers are rendered: pages (HTML) or script calls
(JSON), with the session cookie, the CSRF check and the security headers in one place."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from pixvault.domain.errors import (
    Conflict,
    FileTooLarge,
    Forbidden,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    NotOwner,
    Overloaded,
    PixvaultError,
    RenderQueueFull,
    RenderTimedOut,
    RequestTimeout,
    StorageUnavailable,
    TooManyAttempts,
    Unauthenticated,
    UserNotFound,
)
from pixvault.domain.models import Image, Project, User
from pixvault.domain.principal import Action, UserPrincipal, authorize, may_change
from pixvault.http.common.auth import core_of
from pixvault.http.common.errors import error_headers
from pixvault.services.core import Core
from pixvault.web import session as sessions
from pixvault.web.links import Links

STATIC_PREFIX = "/ui/static/"
MAX_FORM_BYTES = 256 * 1024


class SignInRequired(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("Your session has ended; sign in again")


class NotYours(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "Only the image's owner (or an administrator) can change it; you can view it"
        )


class NoProject(Forbidden):
    def __init__(self, path: str) -> None:
        super().__init__(f"Your account is not a member of {path}; ask an administrator to add you")


class AdminsOnly(Forbidden):
    def __init__(self) -> None:
        super().__init__("Only administrators can change project settings")


_STATUS: dict[type[PixvaultError], int] = {
    SignInRequired: 401,
    Unauthenticated: 401,
    TooManyAttempts: 429,
    Overloaded: 429,
    RequestTimeout: 408,
    MethodNotAllowed: 405,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    FileTooLarge: 413,
    RenderQueueFull: 503,
    RenderTimedOut: 503,
    StorageUnavailable: 503,
    PixvaultError: 400,
}


def status_of(exc: PixvaultError) -> int:
    return next(_STATUS[k] for k in type(exc).__mro__ if k in _STATUS)


def message_of(exc: PixvaultError) -> str:
    if isinstance(exc, NotOwner):
        return NotYours().message
    if isinstance(exc, StorageUnavailable) and not exc.message:
        return "The image store is not answering; try again in a moment"
    return exc.message


# -- templates -----------------------------------------------------------------------------


@cache
def static_version(name: str) -> str:
    data = resources.files("pixvault.web").joinpath("static", name).read_bytes()
    return hashlib.sha256(data).hexdigest()[:12]


def static_url(name: str) -> str:
    return f"{STATIC_PREFIX}{name}?v={static_version(name)}"


def _when(value: datetime | None) -> str:
    return "never" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _size(value: int | None) -> str:
    if value is None:
        return ""
    size = float(value)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            if unit == "bytes":
                return f"{int(size)} bytes"
            return f"{size:.1f}".removesuffix(".0") + f" {unit}"
        size /= 1024
    return str(value)


TEMPLATES = Environment(
    loader=PackageLoader("pixvault.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.globals["static"] = static_url
TEMPLATES.filters["when"] = _when
TEMPLATES.filters["size"] = _size
TEMPLATES.filters["iso"] = lambda v: "" if v is None else v.isoformat()


# -- the visit -----------------------------------------------------------------------------


@dataclass
class Visit:
    request: Request
    core: Core
    session: sessions.Session
    user: User | None = None
    project: Project | None = None
    principal: UserPrincipal | None = None

    @property
    def csrf(self) -> str:
        return self.session.csrf

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    def member(self) -> tuple[User, Project, UserPrincipal]:
        if self.user is None or self.project is None or self.principal is None:
            raise SignInRequired()
        if self.principal.project is None:
            raise NoProject(self.project.path)
        authorize(self.principal, Action.READ)
        return self.user, self.project, self.principal

    def writer(self) -> tuple[User, Project, UserPrincipal]:
        user, project, principal = self.member()
        authorize(principal, Action.WRITE)
        return user, project, principal

    def owner_of(self, image: Image) -> None:
        _, _, principal = self.member()
        if not may_change(principal, image):
            raise NotYours()

    def may_change(self, image: Image) -> bool:
        return self.principal is not None and may_change(self.principal, image)

    def links(self) -> Links:
        _, project, _ = self.member()
        base = self.core.urls.base(str(self.request.base_url))
        return Links(project, base, self.core.projects.limits)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        page = TEMPLATES.get_template(template).render(visit=self, **context)
        return HTMLResponse(page, status_code=status)

    async def form(self) -> FormData:
        """The urlencoded form of a POST, after its CSRF token was checked."""
        declared = self.request.headers.get("content-length", "")
        if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
            raise InvalidInput("This form is too large to send")
        form = await self.request.form()
        given = form.get(sessions.CSRF_FIELD)
        sessions.check_csrf(self.session, given if isinstance(given, str) else None)
        return form

    def check_header(self) -> None:
        sessions.check_csrf(self.session, self.request.headers.get(sessions.CSRF_HEADER))


async def visit_of(request: Request) -> Visit:
    cached = getattr(request.state, "ui_visit", None)
    if cached is not None:
        return cached
    core = core_of(request)
    session = await sessions.load(request, core)
    visit = Visit(request, core, session)
    if session.user_id is not None:
        try:
            user = await core.users.get(session.user_id)
        except UserNotFound:
            user = None  # deleted since: back to anonymous
        if user is None or _signed_out_since(session, user):
            sessions.sign_out(request)
            visit.session = request.state.ui_session
        else:
            await _enter(visit, user)
    request.state.ui_visit = visit
    return visit


def _signed_out_since(session: sessions.Session, user: User) -> bool:
    """The user signed out (anywhere) after this cookie was issued."""
    return (
        session.issued is not None
        and user.signed_out_at is not None
        and session.issued < user.signed_out_at
    )


async def _enter(visit: Visit, user: User) -> None:
    """The user's project: their first membership, else (admins) the Slink project."""
    core = visit.core
    if user.project_ids:
        project = await core.projects.get(user.project_ids[0])
    else:
        project = await core.projects.by_path(core.settings.slink_project)
    member = user.is_admin or project.id in user.project_ids
    visit.user, visit.project = user, project
    visit.principal = UserPrincipal(user.id, user.is_admin, project if member else None)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a UI path of this site only (no open redirect)."""
    if not target:
        return "/ui/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui/") or "\\" in target:
        return "/ui/"
    return target


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def parse_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(f"There is no image or key {text!r} here") from None


# -- route classes -------------------------------------------------------------------------


def _csp(core: Core) -> str:
    origins = ["'self'"]
    public = core.settings.public_url
    if public:
        parts = urlsplit(public)
        if parts.scheme and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    media = " ".join(origins)
    return (
        f"default-src 'self'; img-src {media} blob: data:; connect-src {media}; "
        "script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def _secured(core: Core, response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Cache-Control", "no-store")
    headers["Content-Security-Policy"] = _csp(core)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    return response


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _ui_route(json: bool) -> type[APIRoute]:
    class UiRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                core = core_of(request)
                try:
                    response = await handler(request)
                except PixvaultError as exc:
                    response = await _failure(request, exc, json=json)
                except RequestValidationError:
                    response = await _failure(
                        request, PixvaultError("The request is malformed"), json=json
                    )
                except HTTPException as exc:
                    response = await _failure(request, _http_error(exc), json=json)
                await sessions.save(request, core, response)
                return _secured(core, response)

            return handle

    return UiRoute


def _http_error(exc: HTTPException) -> PixvaultError:
    if exc.status_code == 404:
        return NotFound("There is no such page")
    return PixvaultError(str(exc.detail))


PageRoute = _ui_route(json=False)
ApiRoute = _ui_route(json=True)


async def _failure(request: Request, exc: PixvaultError, *, json: bool) -> Response:
    if json:
        return api_error(exc)
    if isinstance(exc, SignInRequired) and request.method == "GET":
        return redirect("/ui/login?next=" + quote(request.url.path + _query(request), safe="/"))
    return _error_page(await visit_of(request), exc)


@dataclass(frozen=True)
class _Passerby:
    """Who an error page is shown to when there is no time to look up their session (the
    process is overloaded, or no route matched): nobody signed in."""

    csrf: str = ""
    signed_in: bool = False
    user: None = None


def page_error(exc: PixvaultError) -> Response:
    """A UI page's error outside any route (admission's 429, a body timeout, an unknown
    page) as the UI's own error page; `/ui/api/` calls get the UI's JSON error instead."""
    return _error_page(_Passerby(), exc)


def _error_page(visit: Visit | _Passerby, exc: PixvaultError) -> HTMLResponse:
    status = status_of(exc)
    page = TEMPLATES.get_template("error.html").render(
        visit=visit, message=message_of(exc), code=status
    )
    return HTMLResponse(page, status_code=status, headers=error_headers(exc))


def api_error(exc: PixvaultError) -> Response:
    return JSONResponse(
        {"error": message_of(exc)}, status_code=status_of(exc), headers=error_headers(exc)
    )


def _query(request: Request) -> str:
    query = request.url.query
    return "?" + query if query else ""
