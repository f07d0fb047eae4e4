"""Authorisation: which project a principal acts on, and whose images it may change."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from pixvault.domain.errors import Forbidden, InvalidInput, Unauthenticated
from pixvault.domain.ids import new_id
from pixvault.domain.models import Image, Project
from pixvault.domain.policy import ProjectSettings
from pixvault.domain.principal import (
    Action,
    Guest,
    KeyPrincipal,
    UserPrincipal,
    acting_user,
    authorize,
    may_change,
    require_master,
)
from tests.core.support import put

MOMENT = datetime(2024, 1, 1, tzinfo=UTC)


def a_project(slug: str = "site") -> Project:
    return Project(
        id=new_id(),
        org_id=new_id(),
        org_slug="acme",
        slug=slug,
        name=slug,
        settings=ProjectSettings(),
        created_at=MOMENT,
    )


def an_image(project: Project, owner_id: uuid.UUID | None = None) -> Image:
    return Image(
        id=new_id(),
        project_id=project.id,
        flow_id=None,
        source="uploaded",
        alias=None,
        storage_key="k",
        mime_type="image/jpeg",
        size=1,
        width=1,
        height=1,
        sha256="0" * 64,
        focal_point=None,
        meta={},
        tags=[],
        description=None,
        is_public=True,
        views=0,
        filename=None,
        partition=None,
        collection=None,
        channel=None,
        owner_id=owner_id,
        blurhash=None,
        dominant_color=None,
        created_at=MOMENT,
        updated_at=MOMENT,
        deleted_at=None,
    )


PROJECT = a_project()
OTHER = a_project("other")
ALICE, BOB = uuid.uuid4(), uuid.uuid4()


def key(kind: str, project: Project | None = PROJECT, owner: uuid.UUID | None = None):
    return KeyPrincipal(key_id=new_id(), kind=kind, project=project, owner_id=owner)


# -- authorize -----------------------------------------------------------------------------


@pytest.mark.parametrize("action", list(Action))
def test_secret_key_reads_and_writes_its_project(action):
    assert authorize(key("secret"), action) is PROJECT


def test_public_key_reads_only():
    assert authorize(key("public"), Action.READ) is PROJECT
    with pytest.raises(Forbidden, match="read-only"):
        authorize(key("public"), Action.WRITE)


@pytest.mark.parametrize("action", list(Action))
def test_master_key_acts_on_no_project(action):
    with pytest.raises(Forbidden, match="master key"):
        authorize(key("master", project=None), action)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("project", [None, PROJECT])
def test_guest_is_unauthenticated(action, project):
    with pytest.raises(Unauthenticated):
        authorize(Guest(project=project), action)


@pytest.mark.parametrize("is_admin", [False, True])
@pytest.mark.parametrize("action", list(Action))
def test_user_acts_on_their_project(is_admin, action):
    assert authorize(UserPrincipal(ALICE, is_admin, PROJECT), action) is PROJECT


def test_user_without_a_project_is_forbidden():
    with pytest.raises(Forbidden):
        authorize(UserPrincipal(ALICE, True), Action.READ)


def test_errors_are_distinct_types():
    assert not issubclass(Forbidden, Unauthenticated)
    assert not issubclass(Unauthenticated, Forbidden)


# -- require_master ------------------------------------------------------------------------


def test_require_master_accepts_a_master_key():
    require_master(key("master", project=None))


@pytest.mark.parametrize(
    "who",
    [
        key("secret"),
        key("public"),
        UserPrincipal(ALICE, True, PROJECT),
        UserPrincipal(ALICE, True),
    ],
    ids=["secret", "public", "admin-user", "admin-user-no-project"],
)
def test_require_master_forbids_everyone_else(who):
    with pytest.raises(Forbidden):
        require_master(who)


def test_require_master_refuses_a_guest_as_unauthenticated():
    with pytest.raises(Unauthenticated):
        require_master(Guest())


# -- may_change ----------------------------------------------------------------------------


@pytest.mark.parametrize("owner", [None, ALICE])
def test_secret_key_changes_any_image_of_its_project(owner):
    assert may_change(key("secret"), an_image(PROJECT, owner)) is True


def test_public_key_changes_nothing():
    assert may_change(key("public"), an_image(PROJECT)) is False


def test_master_key_changes_no_project_image():
    assert may_change(key("master", project=None), an_image(PROJECT)) is False


@pytest.mark.parametrize(
    "who",
    [
        key("secret", OTHER),
        UserPrincipal(ALICE, True, OTHER),
        UserPrincipal(ALICE, False, OTHER),
        key("secret", OTHER, owner=ALICE),
    ],
    ids=["secret", "admin", "user", "user-key"],
)
def test_nobody_changes_another_projects_images(who):
    assert may_change(who, an_image(PROJECT, ALICE)) is False


def test_a_project_with_the_same_slugs_is_still_another_project():
    twin = replace(PROJECT, id=new_id())
    assert may_change(key("secret", twin), an_image(PROJECT)) is False


def test_users_change_their_own_images_only():
    alice = UserPrincipal(ALICE, False, PROJECT)
    assert may_change(alice, an_image(PROJECT, ALICE)) is True
    assert may_change(alice, an_image(PROJECT, BOB)) is False
    assert may_change(alice, an_image(PROJECT, None)) is False


def test_admins_change_their_own_images_only_as_slink_does():
    """Administration goes through project keys; as a user an admin is an owner like others."""
    admin = UserPrincipal(BOB, True, PROJECT)
    assert may_change(admin, an_image(PROJECT, BOB)) is True
    for owner in (ALICE, None):
        assert may_change(admin, an_image(PROJECT, owner)) is False


def test_a_users_secret_key_changes_that_users_images_only():
    alices_key = key("secret", owner=ALICE)
    assert may_change(alices_key, an_image(PROJECT, ALICE)) is True
    assert may_change(alices_key, an_image(PROJECT, BOB)) is False
    assert may_change(alices_key, an_image(PROJECT, None)) is False


@pytest.mark.parametrize("project", [None, PROJECT])
def test_guests_change_nothing(project):
    assert may_change(Guest(project), an_image(PROJECT)) is False


def test_user_without_a_project_changes_nothing():
    assert may_change(UserPrincipal(ALICE, True), an_image(PROJECT, ALICE)) is False


# -- acting_user ---------------------------------------------------------------------------


def test_acting_user():
    assert acting_user(UserPrincipal(ALICE, False, PROJECT)) == ALICE
    assert acting_user(key("secret", owner=BOB)) == BOB
    assert acting_user(key("secret")) is None
    assert acting_user(Guest()) is None


# -- keys.authenticate (on both databases) -------------------------------------------------


async def test_no_secret_is_a_guest(core):
    for secret in [None, ""]:
        who = await core.keys.authenticate(secret)
        assert isinstance(who, Guest)
        with pytest.raises(Unauthenticated):
            authorize(who, Action.READ)


async def test_issued_keys_authenticate_to_their_principals(core, project):
    secret = await core.keys.issue("secret", project.id)
    public = await core.keys.issue("public", project.id)
    master = await core.keys.issue("master")
    assert secret.secret.startswith("sk_")
    assert public.secret.startswith("pk_")
    assert master.secret.startswith("mk_")

    who = await core.keys.authenticate(secret.secret)
    assert isinstance(who, KeyPrincipal)
    assert (who.kind, who.key_id) == ("secret", secret.key.id)
    assert authorize(who, Action.WRITE).id == project.id

    reader = await core.keys.authenticate(public.secret)
    assert authorize(reader, Action.READ).id == project.id
    with pytest.raises(Forbidden):
        authorize(reader, Action.WRITE)

    admin = await core.keys.authenticate(master.secret)
    assert admin.project is None
    require_master(admin)
    with pytest.raises(Forbidden):
        authorize(admin, Action.READ)
    with pytest.raises(Forbidden):
        require_master(who)


async def test_authenticated_keys_change_images_of_their_project_only(core, project, other_project):
    mine = await put(core, project)
    theirs = await put(core, other_project)
    secret = await core.keys.authenticate((await core.keys.issue("secret", project.id)).secret)
    public = await core.keys.authenticate((await core.keys.issue("public", project.id)).secret)
    assert may_change(secret, mine) is True
    assert may_change(secret, theirs) is False
    assert may_change(public, mine) is False


async def test_unknown_and_revoked_keys_are_unauthenticated(core, project):
    issued = await core.keys.issue("secret", project.id)
    with pytest.raises(Unauthenticated):
        await core.keys.authenticate(issued.secret + "x")
    await core.keys.authenticate(issued.secret)
    await core.keys.revoke(issued.key.id)
    with pytest.raises(Unauthenticated, match="revoked"):
        await core.keys.authenticate(issued.secret)


async def test_keys_are_issued_only_in_the_right_shape(core, project):
    for kind, project_id in [
        ("master", project.id),
        ("secret", None),
        ("public", None),
        ("x", project.id),
    ]:
        with pytest.raises(InvalidInput):
            await core.keys.issue(kind, project_id)
