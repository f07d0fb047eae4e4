"""Who is calling, and what they may do: the one place authorisation is decided.

A principal is an API key (of a project, or the instance's master key), a signed-in user, or
a guest. Every surface extracts its credential its own way and then asks `authorize` for the
project it may act on, and `may_change` whether an image is theirs to change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import Enum

from pixvault.domain.errors import Forbidden, Unauthenticated
from pixvault.domain.models import Image, Project


class Action(Enum):
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class KeyPrincipal:
    """An API key: `secret` reads and writes its project, `public` reads it, `master`
    administers the instance and acts on no project."""

    key_id: uuid.UUID
    kind: str
    project: Project | None = None
    owner_id: uuid.UUID | None = None  # the user a user-owned key belongs to


@dataclass(frozen=True)
class UserPrincipal:
    """A signed-in user acting on one project they are a member of."""

    user_id: uuid.UUID
    is_admin: bool
    project: Project | None = None


@dataclass(frozen=True)
class Guest:
    """No credential: only what a surface opens to guests (e.g. guest uploads)."""

    project: Project | None = None


Principal = KeyPrincipal | UserPrincipal | Guest


def authorize(who: Principal, action: Action) -> Project:
    """The project `who` may perform `action` on, or the error that says why not."""
    _identified(who)
    if who.project is None:
        raise Forbidden(
            "This endpoint acts on one project: use a project key (sk_ or pk_), not a master key"
        )
    if action is Action.WRITE and isinstance(who, KeyPrincipal) and who.kind == "public":
        raise Forbidden("Public keys (pk_) are read-only; use a secret key (sk_) to change data")
    return who.project


def require_master(who: Principal) -> None:
    _identified(who)
    if not (isinstance(who, KeyPrincipal) and who.kind == "master"):
        raise Forbidden("Instance administration needs a master key")


def _identified(who: Principal) -> None:
    if isinstance(who, Guest):
        raise Unauthenticated(
            "Missing API key: send it as 'X-API-Key: KEY' or 'Authorization: Bearer KEY'"
        )


def acting_user(who: Principal) -> uuid.UUID | None:
    """The user behind a request: a signed-in user, or the owner of a user's API key."""
    if isinstance(who, UserPrincipal):
        return who.user_id
    if isinstance(who, KeyPrincipal):
        return who.owner_id
    return None


def may_change(who: Principal, image: Image) -> bool:
    """Project keys change any image of their project; users (admins too: Slink's rule) and
    their own keys change their own images only; nobody changes another project's images."""
    if who.project is None or image.project_id != who.project.id:
        return False
    if isinstance(who, Guest):
        return False
    if isinstance(who, UserPrincipal):
        return image.owner_id == who.user_id
    if who.kind != "secret":
        return False
    return who.owner_id is None or image.owner_id == who.owner_id
