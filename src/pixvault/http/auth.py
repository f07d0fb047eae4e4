"""API key extraction, shared by every surface: `X-API-Key: KEY` or `Authorization: Bearer KEY`."""

from fastapi import Request

from pixvault.domain.errors import Forbidden
from pixvault.domain.models import Principal, Project
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


def require_project(who: Principal, *, write: bool) -> Project:
    """The caller's project, refusing master keys here and public keys for writes."""
    if who.project is None:
        raise Forbidden(
            "This endpoint acts on one project: use a project key (sk_ or pk_), not a master key"
        )
    if write and not who.can_write:
        raise Forbidden("Public keys (pk_) are read-only; use a secret key (sk_) to change data")
    return who.project


def require_master(who: Principal) -> None:
    if who.kind != "master":
        raise Forbidden("Instance administration needs a master key")
