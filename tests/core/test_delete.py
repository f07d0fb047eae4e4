"""Soft delete hides an image and keeps its bytes; hard delete removes row and bytes."""

import pytest

from pixvault.domain.errors import AliasNotFound, ImageNotFound
from pixvault.domain.paging import ImageFilter, Keyset
from pixvault.services.blobkeys import derivative_key, derivative_prefix
from pixvault.services.library import pending_flow
from pixvault.storage import BlobMissing
from tests.core.support import put, stored_counters
from tests.helpers import blob_keys, jpeg, row_count


async def with_derivatives(core, project, image) -> None:
    for digest in ("aaaa", "bbbb"):
        await core.blobs.put(derivative_key(project.id, image.id, digest), b"rendered")
    assert len(await blob_keys(core, derivative_prefix(project.id, image.id))) == 2


async def test_soft_delete_hides_the_image_and_keeps_its_bytes(core, project):
    data = jpeg(40, 30)
    image = await put(core, project, data, alias="@hero")
    neighbour = await put(core, project)
    await with_derivatives(core, project, image)
    await with_derivatives(core, project, neighbour)

    returned = await core.library.delete(project, image.id, soft=True)
    assert returned.id == image.id

    with pytest.raises(ImageNotFound):
        await core.library.get(project, image.id)
    with pytest.raises(ImageNotFound):
        await core.library.resolve(project, str(image.id))
    with pytest.raises(AliasNotFound):
        await core.library.resolve(project, "@hero")
    assert [i.id for i in (await core.library.list(project)).items] == [neighbour.id]
    assert [i.id for i in (await core.library.page(project)).items] == [neighbour.id]
    with pytest.raises(ImageNotFound):
        await core.library.update(project, image.id, meta={"x": 1})

    hidden = await core.library.get(project, image.id, include_deleted=True)
    assert hidden.deleted_at is not None
    assert hidden.alias is None
    assert await core.blobs.get(image.storage_key) == data
    assert await blob_keys(core, derivative_prefix(project.id, image.id)) == []
    # Only this image's derivatives went.
    assert len(await blob_keys(core, derivative_prefix(project.id, neighbour.id))) == 2


async def test_soft_delete_frees_the_alias_for_another_image(core, project):
    image = await put(core, project, alias="@hero")
    await core.library.delete(project, image.id, soft=True)
    successor = await put(core, project, alias="@hero")
    assert (await core.library.resolve(project, "@hero")).id == successor.id


async def test_soft_delete_drops_flow_aliases_and_technical_aliases_skip_it(core, project):
    flow = pending_flow()
    first = await put(core, project, flow_id=flow)
    cover = await put(core, project, flow_id=flow, flow_alias="@cover")
    found = await core.library.resolve(project, "@cover", flow_id=str(flow))
    assert found.id == cover.id
    await core.library.delete(project, cover.id, soft=True)
    with pytest.raises(AliasNotFound):
        await core.library.resolve(project, "@cover", flow_id=str(flow))
    assert (await core.flows.get(project, flow)).aliases == {}
    assert (await core.library.resolve(project, "@last", flow_id=str(flow))).id == first.id


async def test_soft_deleted_images_are_listed_only_when_asked(core, project):
    image = await put(core, project)
    await core.library.delete(project, image.id, soft=True)
    everything = ImageFilter(include_deleted=True)
    assert [i.id for i in (await core.library.list(project, everything)).items] == [image.id]
    assert [i.id for i in (await core.library.page(project, everything)).items] == [image.id]
    assert (await core.library.page(project, everything, start=Keyset())).items[0].deleted_at


async def test_hard_delete_removes_row_original_and_derivatives(core, project):
    image = await put(core, project, alias="@hero")
    kept = await put(core, project)
    await with_derivatives(core, project, image)
    await core.library.delete(project, image.id)
    with pytest.raises(ImageNotFound):
        await core.library.get(project, image.id, include_deleted=True)
    with pytest.raises(BlobMissing):
        await core.blobs.get(image.storage_key)
    assert await blob_keys(core, derivative_prefix(project.id, image.id)) == []
    assert await row_count(core) == 1
    assert await core.blobs.get(kept.storage_key)


async def test_hard_delete_of_a_soft_deleted_image_removes_its_bytes(core, project):
    data = jpeg(30, 30)
    image = await put(core, project, data)
    await core.library.delete(project, image.id, soft=True)
    assert await core.blobs.get(image.storage_key) == data
    with pytest.raises(ImageNotFound):
        await core.library.delete(project, image.id)  # hidden unless asked for
    await core.library.delete(project, image.id, include_deleted=True)
    with pytest.raises(BlobMissing):
        await core.blobs.get(image.storage_key)
    assert await row_count(core) == 0
    assert await blob_keys(core) == []


async def test_another_project_cannot_delete_an_image(core, project, other_project):
    image = await put(core, project)
    for soft in (True, False):
        with pytest.raises(ImageNotFound):
            await core.library.delete(other_project, image.id, soft=soft, include_deleted=True)
    assert (await core.library.get(project, image.id)).deleted_at is None
    assert await core.blobs.get(image.storage_key)


async def test_restore_undoes_a_soft_delete_and_keeps_counters_exact(core, project):
    image = await put(core, project, alias="@kept")
    await core.library.delete(project, image.id, soft=True)
    taker = await put(core, project, alias="@kept")
    restored = await core.library.restore(project, image.id)
    assert restored.deleted_at is None
    assert restored.alias is None  # the alias went to another image meanwhile
    assert (await core.library.resolve(project, "@kept")).id == taker.id
    assert await stored_counters(core, project) == (2, 0)
    with pytest.raises(ImageNotFound):
        await core.library.restore(project, image.id)  # not soft-deleted any more
