"""Credentials and the caller's project, shared by every surface.

An API key arrives as `X-API-Key: KEY` or `Authorization: Bearer KEY`; the core turns it into
a principal and decides what it may do. Routes declare what they need as a typed parameter:
`project: Reader` (any key of a project), `project: Writer` (a key that may change it) or
`_: Master` (instance administration).
"""

from typing import Annotated

from fastapi import Depends, Request

from pixvault.domain.models import Project
from pixvault.domain.principal import Action, Principal, authorize, require_master
from pixvault.services.core import Core


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def core_of(request: Request) -> Core:
    return request.app.state.core


async def principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is None:
        cached = await core_of(request).keys.authenticate(presented_key(request))
        request.state.principal = cached
    return cached


async def _reader(request: Request) -> Project:
    return authorize(await principal(request), Action.READ)


async def _writer(request: Request) -> Project:
    return authorize(await principal(request), Action.WRITE)


async def _master(request: Request) -> Principal:
    who = await principal(request)
    require_master(who)
    return who


Reader = Annotated[Project, Depends(_reader)]
Writer = Annotated[Project, Depends(_writer)]
Master = Annotated[Principal, Depends(_master)]
