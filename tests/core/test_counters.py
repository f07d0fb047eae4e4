"""The project's image counters, which serve list totals, stay exact through every change."""

import contextlib

import anyio
import pytest

from pixvault.domain.errors import ImageNotFound, UnsupportedType
from pixvault.domain.paging import ImageFilter
from pixvault.services.library import pending_flow
from tests.core.support import counted, list_totals, put, stored_counters


async def expect(core, project, live: int, deleted: int) -> None:
    """Counters, real row counts and list totals all agree on (live, deleted)."""
    assert await stored_counters(core, project) == (live, deleted)
    assert await counted(core, project) == (live, deleted)
    assert await list_totals(core, project) == (live, live + deleted)


async def test_a_new_project_counts_nothing(core, project):
    await expect(core, project, 0, 0)


async def test_counters_follow_upload_and_every_kind_of_delete(core, project):
    a, b, c, d = [await put(core, project) for _ in range(4)]
    await expect(core, project, 4, 0)

    await core.library.delete(project, a.id, soft=True)
    await expect(core, project, 3, 1)

    await core.library.delete(project, b.id, soft=True)
    await expect(core, project, 2, 2)

    # Hard delete of a live image.
    await core.library.delete(project, c.id)
    await expect(core, project, 1, 2)

    # Hard delete of a soft-deleted image.
    await core.library.delete(project, a.id, include_deleted=True)
    await expect(core, project, 1, 1)

    await core.library.delete(project, d.id, soft=True)
    await expect(core, project, 0, 2)

    await core.library.delete(project, b.id, include_deleted=True)
    await core.library.delete(project, d.id, include_deleted=True)
    await expect(core, project, 0, 0)


async def test_repeated_deletes_change_nothing(core, project):
    image = await put(core, project)
    await put(core, project)
    await core.library.delete(project, image.id, soft=True)
    with pytest.raises(ImageNotFound):
        await core.library.delete(project, image.id, soft=True)
    # A soft delete of an already soft-deleted row that gets past the lookup still counts once.
    await core.library.delete(project, image.id, soft=True, include_deleted=True)
    await expect(core, project, 1, 1)
    await core.library.delete(project, image.id, include_deleted=True)
    with pytest.raises(ImageNotFound):
        await core.library.delete(project, image.id, include_deleted=True)
    await expect(core, project, 1, 0)


async def test_failed_uploads_count_nothing(core, project):
    await put(core, project)
    with pytest.raises(UnsupportedType):
        await put(core, project, b"GIF89a" + b"\0" * 64)
    await expect(core, project, 1, 0)


async def test_counters_are_per_project(core, project, other_project):
    await put(core, project)
    gone = await put(core, other_project)
    await put(core, other_project)
    await core.library.delete(other_project, gone.id, soft=True)
    await expect(core, project, 1, 0)
    await expect(core, other_project, 1, 1)


async def test_concurrent_uploads_and_deletes_keep_counters_exact(core, project):
    doomed = [await put(core, project) for _ in range(6)]

    async with anyio.create_task_group() as tasks:
        for _ in range(8):
            tasks.start_soon(put, core, project)
        for image in doomed[:3]:
            tasks.start_soon(lambda i=image: core.library.delete(project, i.id, soft=True))
        for image in doomed[3:]:
            tasks.start_soon(lambda i=image: core.library.delete(project, i.id))
    await expect(core, project, 8, 3)


async def test_filtered_totals_are_counted(core, project):
    flow = pending_flow()
    await put(core, project, flow_id=flow)
    gone = await put(core, project, flow_id=flow)
    await put(core, project)
    await core.library.delete(project, gone.id, soft=True)
    assert (await core.library.list(project, ImageFilter(flow_id=flow))).total == 1
    assert (
        await core.library.list(project, ImageFilter(flow_id=flow, include_deleted=True))
    ).total == 2


async def test_deleting_a_flow_counts_its_images_out(core, project):
    flow = pending_flow()
    await put(core, project, flow_id=flow)
    soft = await put(core, project, flow_id=flow)
    kept = await put(core, project, flow_id=flow, alias="@kept")
    await put(core, project)
    await core.library.delete(project, soft.id, soft=True)
    await expect(core, project, 3, 1)
    await core.flows.delete(project, flow)
    # Unaliased images (live and soft-deleted) went with the flow; the aliased one stayed.
    await expect(core, project, 2, 0)
    assert (await core.library.get(project, kept.id)).flow_id is None


async def test_racing_deletes_of_the_same_image_count_it_once(core, project):
    await put(core, project)
    doubly_soft = [await put(core, project) for _ in range(3)]
    soft_and_hard = [await put(core, project) for _ in range(3)]

    async def quietly(work) -> None:
        with contextlib.suppress(ImageNotFound):  # the other delete got there first
            await work()

    async with anyio.create_task_group() as tasks:
        for image in doubly_soft:
            for _ in range(2):
                tasks.start_soon(
                    quietly, lambda i=image: core.library.delete(project, i.id, soft=True)
                )
        for image in soft_and_hard:
            tasks.start_soon(quietly, lambda i=image: core.library.delete(project, i.id, soft=True))
            tasks.start_soon(
                quietly,
                lambda i=image: core.library.delete(project, i.id, include_deleted=True),
            )
    await expect(core, project, 1, 3)
