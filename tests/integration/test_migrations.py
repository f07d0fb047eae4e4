"""Migrations upgrade data in place; a process refuses a schema it does not understand."""

import hashlib
from types import SimpleNamespace

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import insert, text, update

from pixvault.app import create_app
from pixvault.db import migrate
from pixvault.db.alembic_steps import alembic_config
from pixvault.db.migrate import SchemaMismatch
from pixvault.db.rows import now
from pixvault.db.tables import images
from pixvault.domain.ids import new_id
from pixvault.domain.models import Project
from pixvault.domain.paging import ImageFilter
from pixvault.services.blobkeys import original_key
from pixvault.services.core import build_core, initialise
from tests.helpers import jpeg


def first_revision() -> str:
    """The base of the history: walk_revisions() goes from head down to it."""
    return list(ScriptDirectory.from_config(alembic_config()).walk_revisions())[-1].revision


async def test_upgrade_from_the_first_schema_keeps_data(settings):
    core = build_core(settings)
    try:
        async with core.db.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), first_revision()))
        project: Project = await core.projects.create("legacy", "site")
        data = jpeg(50, 40)
        image = await _upload_at_first_schema(core, project, data, alias="@kept")
        gone = await _upload_at_first_schema(core, project, jpeg(20, 20))
        async with core.db.write() as conn:
            await conn.execute(
                update(images).where(images.c.id == gone.id).values(deleted_at=gone.created_at)
            )
        await initialise(core)
        assert (
            await migrate.current_revision(core.db)
            == ScriptDirectory.from_config(alembic_config()).get_current_head()
        )
        again = await core.library.resolve(project, "@kept")
        assert again.id == image.id
        assert again.sha256 == hashlib.sha256(data).hexdigest()
        assert await core.blobs.get(again.storage_key) == data
        assert (await core.library.list(project)).total == 1
        assert (await core.library.list(project, ImageFilter(include_deleted=True))).total == 2
    finally:
        await core.close()


async def _upload_at_first_schema(
    core, project, data: bytes, alias: str | None = None
) -> SimpleNamespace:
    """What an upload wrote under schema 0001: the blob, then one images row."""
    image_id = new_id()
    key = original_key(project.id, image_id)
    await core.blobs.put(key, data)
    moment = now()
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
                created_at=moment,
                updated_at=moment,
            )
        )
    # The current Image row has columns the first schema lacks: hand back what tests use.
    return SimpleNamespace(id=image_id, created_at=moment)


async def test_refuses_a_database_newer_than_it_understands(settings):
    core = build_core(settings)
    try:
        await initialise(core)
        async with core.db.write() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
        with pytest.raises(SchemaMismatch, match="newer"):
            await migrate.check(core.db)
        with pytest.raises(SchemaMismatch, match="newer"):
            await migrate.upgrade(core.db)
    finally:
        await core.close()


async def test_served_app_refuses_to_start_on_an_unmigrated_database(settings):
    app = create_app(settings, migrate=False)
    with pytest.raises(SchemaMismatch, match="pixvault migrate"):
        async with app.router.lifespan_context(app):
            pass


def test_the_head_read_from_the_file_names_is_alembics_head():
    """Starts compare the recorded revision with `head_revision()` without loading Alembic."""
    scripts = ScriptDirectory.from_config(alembic_config())
    assert migrate.head_revision() == scripts.get_current_head()
    chain = [s.revision for s in scripts.walk_revisions()]
    assert chain == sorted(chain, reverse=True)  # numbered one after another, as the files
