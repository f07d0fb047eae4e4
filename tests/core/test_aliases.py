"""Project aliases: one holder per alias, moved on assignment, freed on removal."""

import pytest

from pixvault.domain.errors import AliasNotFound, ImageNotFound, InvalidAlias, InvalidInput
from pixvault.services.library import NewUpload, pending_flow
from tests.core.support import put
from tests.helpers import nothing_stored

INVALID = ["hero", "@", "@-hero", "@_hero", "@he ro", "@héro", "@a/b", "@" + "a" * 65, ""]
TECHNICAL = ["@last", "@first", "@upload"]


async def test_assigning_a_held_alias_moves_it(core, project):
    first = await put(core, project, alias="@hero")
    second = await put(core, project)
    moved = await core.library.assign_alias(project, second.id, "@hero")
    assert moved.alias == "@hero"
    assert (await core.library.resolve(project, "@hero")).id == second.id
    old = await core.library.get(project, first.id)
    assert old.alias is None
    assert old.sha256 == first.sha256
    assert (await core.library.list(project)).total == 2


async def test_upload_with_a_held_alias_takes_it(core, project):
    first = await put(core, project, alias="@hero")
    second = await put(core, project, alias="@hero")
    assert second.alias == "@hero"
    assert (await core.library.get(project, first.id)).alias is None
    assert (await core.library.resolve(project, "@hero")).id == second.id


async def test_reassigning_to_the_holder_keeps_it(core, project):
    image = await put(core, project, alias="@hero")
    again = await core.library.assign_alias(project, image.id, "@hero")
    assert again.alias == "@hero"
    assert (await core.library.resolve(project, "@hero")).id == image.id


async def test_an_image_holds_one_alias_at_a_time(core, project):
    image = await put(core, project, alias="@old")
    await core.library.assign_alias(project, image.id, "@new")
    assert (await core.library.resolve(project, "@new")).id == image.id
    with pytest.raises(AliasNotFound):
        await core.library.resolve(project, "@old")


async def test_none_removes_the_alias(core, project):
    image = await put(core, project, alias="@hero")
    cleared = await core.library.assign_alias(project, image.id, None)
    assert cleared.alias is None
    with pytest.raises(AliasNotFound):
        await core.library.resolve(project, "@hero")
    assert (await core.library.get(project, image.id)).id == image.id
    # The freed alias can be given out again.
    other = await put(core, project)
    await core.library.assign_alias(project, other.id, "@hero")
    assert (await core.library.resolve(project, "@hero")).id == other.id


async def test_assign_refuses_invalid_and_technical_aliases(core, project):
    image = await put(core, project, alias="@kept")
    for alias in INVALID + TECHNICAL:
        with pytest.raises(InvalidAlias) as raised:
            await core.library.assign_alias(project, image.id, alias)
        assert isinstance(raised.value, InvalidInput)
        assert raised.value.param == "alias", alias
    assert (await core.library.get(project, image.id)).alias == "@kept"


async def test_upload_refuses_invalid_aliases_and_stores_nothing(core, project):
    for alias in ["hero", "@he ro", *TECHNICAL]:
        with pytest.raises(InvalidAlias):
            await put(core, project, alias=alias)
    assert await nothing_stored(core)


async def test_technical_flow_aliases_are_refused(core, project):
    for alias in TECHNICAL:
        with pytest.raises(InvalidAlias) as raised:
            await put(core, project, flow_id=pending_flow(), flow_alias=alias)
        assert raised.value.param == "flowAlias"
    assert await nothing_stored(core)


async def test_longest_valid_alias_is_accepted(core, project):
    alias = "@" + "a" * 64
    image = await put(core, project, alias=alias)
    assert (await core.library.resolve(project, alias)).id == image.id


async def test_technical_alias_resolves_per_flow(core, project):
    flow = pending_flow()
    first = await put(core, project, flow_id=flow)
    last = await put(core, project, flow_id=flow)
    assert (await core.library.resolve(project, "@first", flow_id=str(flow))).id == first.id
    assert (await core.library.resolve(project, "@last", flow_id=str(flow))).id == last.id
    with pytest.raises(InvalidInput):
        await core.library.resolve(project, "@last")


async def test_aliases_are_per_project(core, project, other_project):
    mine = await put(core, project, alias="@hero")
    theirs = await put(core, other_project, alias="@hero")
    assert (await core.library.resolve(project, "@hero")).id == mine.id
    assert (await core.library.resolve(other_project, "@hero")).id == theirs.id
    with pytest.raises(ImageNotFound):
        await core.library.assign_alias(other_project, mine.id, "@x")
    assert (await core.library.get(project, mine.id)).alias == "@hero"


async def test_alias_cannot_go_to_a_deleted_image(core, project):
    holder = await put(core, project, alias="@hero")
    gone = await put(core, project)
    await core.library.delete(project, gone.id, soft=True)
    with pytest.raises(ImageNotFound):
        await core.library.assign_alias(project, gone.id, "@hero")
    assert (await core.library.resolve(project, "@hero")).id == holder.id


async def test_failed_upload_does_not_take_the_alias(core, project):
    holder = await put(core, project, alias="@hero")
    with pytest.raises(InvalidInput):
        await core.library.upload_bytes(
            project, b"not an image", NewUpload(alias="@hero"), core.native_uploads
        )
    assert (await core.library.resolve(project, "@hero")).id == holder.id
    assert (await core.library.list(project)).total == 1
