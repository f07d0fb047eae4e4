"""Who calls the Slink surface: a signed-in user (JWT access token), a user's own `sk_` key on
`/api/external/*`, or a guest. The project is always the configured Slink project."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from pixvault.domain.errors import KeyRejected, TokenInvalid, TokenMissing, UserNotFound
from pixvault.domain.models import Project, User
from pixvault.domain.principal import (
    Action,
    KeyPrincipal,
    Principal,
    UserPrincipal,
    authorize,
)
from pixvault.http.common.auth import core_of, presented_key
from pixvault.services.projects import split_path


@dataclass(frozen=True)
class Caller:
    principal: Principal
    project: Project
    user: User | None


async def slink_project(request: Request) -> Project:
    core = core_of(request)
    org, slug = split_path(core.settings.slink_project)
    project = await core.projects.find_for_delivery(org, slug)
    if project is None:
        project = await core.projects.by_path(core.settings.slink_project)
    return project


async def _signed_in(request: Request) -> Caller:
    core = core_of(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenMissing()
    try:
        user = await core.users.find_for_request(await core.tokens.verify(token.strip()))
    except UserNotFound:
        raise TokenInvalid() from None  # signed for a user deleted since
    project = await slink_project(request)
    member = user.is_admin or project.id in user.project_ids
    who = UserPrincipal(user.id, user.is_admin, project if member else None)
    authorize(who, Action.WRITE)
    return Caller(who, project, user)


async def _key_holder(request: Request) -> Caller:
    """A user's own secret key of the Slink project; anything else is an invalid key."""
    core = core_of(request)
    secret = presented_key(request)
    if not secret:
        raise KeyRejected("An API key is required: send 'Authorization: Bearer sk_...'")
    who = await core.keys.authenticate(secret)
    project = await slink_project(request)
    if (
        not isinstance(who, KeyPrincipal)
        or who.kind != "secret"
        or who.owner_id is None
        or who.project is None
        or who.project.id != project.id
    ):
        raise KeyRejected("This key cannot upload here: use one of your own sk_ keys")
    return Caller(who, project, await core.users.get(who.owner_id))


SignedIn = Annotated[Caller, Depends(_signed_in)]
KeyHolder = Annotated[Caller, Depends(_key_holder)]
