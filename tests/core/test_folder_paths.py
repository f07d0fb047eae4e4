"""Folder paths: one image per (project, partition, collection, channel, filename), found by
`find_by_path`; migration 0003 adds the unique index over existing data."""

import hashlib

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from pixvault.db import migrate
from pixvault.db.alembic_steps import alembic_config
from pixvault.db.rows import now
from pixvault.db.tables import images
from pixvault.domain.errors import ImageNotFound
from pixvault.domain.ids import new_id
from pixvault.domain.paging import ImageFilter
from pixvault.services.blobkeys import original_key
from pixvault.services.core import build_core, initialise
from tests.core.support import put, set_path
from tests.helpers import jpeg

PATH = ("p1", "c1", "ch1", "a.jpg")


async def path_of(core, image) -> tuple:
    async with core.db.read() as conn:
        found = await conn.execute(
            select(
                images.c.partition, images.c.collection, images.c.channel, images.c.filename
            ).where(images.c.id == image.id)
        )
        return tuple(found.one())


async def paths(core, project) -> set[tuple]:
    async with core.db.read() as conn:
        found = await conn.execute(
            select(
                images.c.partition, images.c.collection, images.c.channel, images.c.filename
            ).where(images.c.project_id == project.id)
        )
        return {tuple(row) for row in found}


async def test_a_path_names_one_image(core, project):
    first, second = await put(core, project), await put(core, project)
    await set_path(core, first, *PATH)
    with pytest.raises(IntegrityError):
        await set_path(core, second, *PATH)
    # The failed write rolled back: the second image has no path.
    assert (await core.library.get(project, second.id)).partition is None
    assert (await core.library.find_by_path(project, PATH[:3], PATH[3])).id == first.id


async def test_a_duplicate_path_is_refused_on_insert_too(core, project):
    image = await put(core, project)
    await set_path(core, image, *PATH)
    moment = now()
    with pytest.raises(IntegrityError):
        async with core.db.write() as conn:
            await conn.execute(
                insert(images).values(
                    id=new_id(),
                    project_id=project.id,
                    source="uploaded",
                    storage_key="elsewhere",
                    mime_type="image/jpeg",
                    size=1,
                    sha256="0" * 64,
                    meta={},
                    tags=[],
                    partition=PATH[0],
                    collection=PATH[1],
                    channel=PATH[2],
                    filename=PATH[3],
                    created_at=moment,
                    updated_at=moment,
                )
            )
    assert len(await paths(core, project)) == 1


async def test_the_same_path_in_another_project_is_fine(core, project, other_project):
    mine, theirs = await put(core, project), await put(core, other_project)
    await set_path(core, mine, *PATH)
    await set_path(core, theirs, *PATH)
    assert (await core.library.find_by_path(project, PATH[:3], PATH[3])).id == mine.id
    assert (await core.library.find_by_path(other_project, PATH[:3], PATH[3])).id == theirs.id


async def test_null_parts_never_collide(core, project):
    for differs in [
        (None, "c1", "ch1", "a.jpg"),
        ("p1", None, "ch1", "a.jpg"),
        ("p1", "c1", None, "a.jpg"),
        ("p1", "c1", "ch1", None),
        (None, None, None, None),
    ]:
        one, two = await put(core, project), await put(core, project)
        await set_path(core, one, *differs)
        await set_path(core, two, *differs)
        assert await path_of(core, one) == await path_of(core, two) == differs


async def test_paths_differing_in_one_part_are_distinct(core, project):
    one = await put(core, project)
    await set_path(core, one, *PATH)
    for index in range(4):
        other = list(PATH)
        other[index] = "changed"
        two = await put(core, project)
        await set_path(core, two, *other)
        found = await core.library.find_by_path(project, tuple(other[:3]), other[3])
        assert found.id == two.id
    assert (await core.library.find_by_path(project, PATH[:3], PATH[3])).id == one.id


async def test_find_by_path_returns_the_live_image(core, project):
    image = await put(core, project, alias="@hero")
    await set_path(core, image, *PATH)
    found = await core.library.find_by_path(project, PATH[:3], PATH[3])
    assert found.id == image.id
    assert (found.partition, found.collection, found.channel, found.filename) == PATH
    assert found.alias == "@hero"


async def test_find_by_path_misses_other_paths(core, project):
    await set_path(core, await put(core, project), *PATH)
    for folders, filename in [
        (("p1", "c1", "ch1"), "b.jpg"),
        (("p1", "c1", "ch2"), "a.jpg"),
        (("p1", "c2", "ch1"), "a.jpg"),
        (("p2", "c1", "ch1"), "a.jpg"),
        (("P1", "c1", "ch1"), "a.jpg"),
        (("p1", "c1", "ch1"), "A.JPG"),
        (("c1", "ch1", "a.jpg"), "p1"),
    ]:
        with pytest.raises(ImageNotFound):
            await core.library.find_by_path(project, folders, filename)


async def test_find_by_path_is_per_project(core, project, other_project):
    await set_path(core, await put(core, project), *PATH)
    with pytest.raises(ImageNotFound):
        await core.library.find_by_path(other_project, PATH[:3], PATH[3])


async def test_find_by_path_skips_soft_deleted_images(core, project):
    image = await put(core, project)
    await set_path(core, image, *PATH)
    await core.library.delete(project, image.id, soft=True)
    with pytest.raises(ImageNotFound):
        await core.library.find_by_path(project, PATH[:3], PATH[3])


async def test_find_by_path_misses_hard_deleted_images_and_the_path_is_free(core, project):
    image = await put(core, project)
    await set_path(core, image, *PATH)
    await core.library.delete(project, image.id)
    with pytest.raises(ImageNotFound):
        await core.library.find_by_path(project, PATH[:3], PATH[3])
    successor = await put(core, project)
    await set_path(core, successor, *PATH)
    assert (await core.library.find_by_path(project, PATH[:3], PATH[3])).id == successor.id


async def test_images_without_folders_are_not_found_by_filename(core, project):
    image = await put(core, project, filename="a.jpg")
    assert image.partition is None
    with pytest.raises(ImageNotFound):
        await core.library.find_by_path(project, ("", "", ""), "a.jpg")


# -- migration 0003 ------------------------------------------------------------------------


async def test_upgrade_to_0003_keeps_data_and_adds_the_unique_index(settings):
    core = build_core(settings)
    try:
        async with core.db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0002"))
        assert await migrate.current_revision(core.db) == "0002"
        project = await core.projects.create("legacy", "site")

        data = jpeg(50, 40)
        at_path = await _row_at_0002(core, project, data, path=PATH, alias="@kept")
        no_partition = [
            await _row_at_0002(core, project, jpeg(), path=(None, "c1", "ch1", "a.jpg"))
            for _ in range(2)
        ]
        deleted = await _row_at_0002(core, project, jpeg(), path=("p1", "c1", "ch1", "old.jpg"))
        async with core.db.write() as conn:
            await conn.execute(
                update(images).where(images.c.id == deleted).values(deleted_at=now())
            )
        # Before 0003 nothing refuses a duplicate path.
        duplicate = await _row_at_0002(core, project, jpeg(), path=PATH)
        async with core.db.write() as conn:
            await conn.execute(delete(images).where(images.c.id == duplicate))

        await initialise(core)
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert await migrate.current_revision(core.db) == head

        found = await core.library.find_by_path(project, PATH[:3], PATH[3])
        assert found.id == at_path
        assert found.alias == "@kept"
        assert found.sha256 == hashlib.sha256(data).hexdigest()
        assert await core.blobs.get(found.storage_key) == data
        assert (await core.library.resolve(project, "@kept")).id == at_path
        for image_id in no_partition:
            assert (await core.library.get(project, image_id)).collection == "c1"
        assert (await core.library.get(project, deleted, include_deleted=True)).deleted_at
        uploaded = ImageFilter(source="uploaded")
        assert (await core.library.list(project, uploaded)).total == 3
        everything = ImageFilter(source="uploaded", include_deleted=True)
        assert (await core.library.list(project, everything)).total == 4

        with pytest.raises(IntegrityError):
            await _row_at_0002(core, project, jpeg(), path=PATH)
        # NULL partitions still never collide after the upgrade.
        await _row_at_0002(core, project, jpeg(), path=(None, "c1", "ch1", "a.jpg"))
        # Nor do ordinary uploads, which carry no folders.
        await put(core, project, filename="a.jpg")
        await put(core, project, filename="a.jpg")
    finally:
        await core.close()


async def _row_at_0002(core, project, data: bytes, *, path, alias=None):
    """A row with a folder path written straight to the table, blob first (the project's
    counters are not kept: the test counts rows through a filtered list)."""
    image_id = new_id()
    key = original_key(project.id, image_id)
    await core.blobs.put(key, data)
    moment = now()
    partition, collection, channel, filename = path
    async with core.db.write() as conn:
        await conn.execute(
            insert(images).values(
                id=image_id,
                project_id=project.id,
                source="uploaded",
                alias=alias,
                storage_key=key,
                mime_type="image/jpeg",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                meta={},
                tags=[],
                partition=partition,
                collection=collection,
                channel=channel,
                filename=filename,
                created_at=moment,
                updated_at=moment,
            )
        )
    return image_id
