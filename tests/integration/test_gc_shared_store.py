"""Two instances (two databases) on one blob directory or one bucket prefix: each one's gc
removes only its own orphans and keeps, and reports, every blob of the other's projects."""

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from pixvault.app import create_app
from pixvault.db.rows import now
from pixvault.domain.ids import new_id
from pixvault.services.blobkeys import derivative_key, original_key
from pixvault.services.core import Core, build_core, initialise
from pixvault.services.gc import GcReport, collect
from tests.conftest import make_settings
from tests.helpers import blob_keys, jpeg, uploaded
from tests.s3 import MotoServer, s3_settings

HOUR = timedelta(hours=1)


@pytest.fixture(params=["local", "s3"])
def settings_overrides(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    if request.param == "local":
        return {"storage_url": f"file://{tmp_path / 'shared-blobs'}"}
    moto: MotoServer = request.getfixturevalue("moto_server")
    return s3_settings(moto.endpoint, moto.new_bucket())


@pytest.fixture
async def other(
    tmp_path: Path, settings_overrides: dict[str, object]
) -> AsyncIterator[tuple[Core, httpx.AsyncClient]]:
    """The second instance: its own SQLite database, the same store, sharing allowed."""
    url = f"sqlite:///{tmp_path / 'other.db'}"
    settings = make_settings(
        tmp_path, "sqlite", None, database_url=url, shared_store=True, **settings_overrides
    )
    core = build_core(settings)
    issued = (await initialise(core)).first_key
    assert issued is not None
    transport = httpx.ASGITransport(app=create_app(settings, core=core))
    async with httpx.AsyncClient(transport=transport, base_url="http://other") as http:
        http.headers["X-API-Key"] = issued.secret
        yield core, http
    await core.close()


async def gc(core: Core, *, dry_run: bool = False) -> GcReport:
    """gc as if two hours had passed: every blob is past the one-hour grace."""
    return await collect(
        core, grace=HOUR, retention=timedelta(days=30), dry_run=dry_run, now=now() + 2 * HOUR
    )


async def images_with_derivatives(api: httpx.AsyncClient, seed: int) -> list[dict]:
    found = []
    for n in range(2):
        image = await uploaded(api, jpeg(60 + n, 40, (seed, n * 90, 10)))
        cdn = f"/default/default/img/{image['id']}"
        assert (await api.get(cdn, params={"w": "16"})).status_code == 200
        found.append(image)
    return found


async def project_id(api: httpx.AsyncClient) -> str:
    return (await uploaded(api, jpeg(8, 8)))["projectId"]


async def orphan(core: Core, project: str) -> set[str]:
    """An original and a derivative no row references, in `project`."""
    pid, ghost = uuid.UUID(project), new_id()
    keys = {original_key(pid, ghost), derivative_key(pid, ghost, "e" * 32)}
    for key in keys:
        await core.blobs.put(key, b"ghost")
    return keys


async def serves_the_same_bytes(api: httpx.AsyncClient, image: dict) -> bool:
    response = await api.get(f"/default/default/img/{image['id']}")
    return (
        response.status_code == 200
        and hashlib.sha256(response.content).hexdigest() == image["fileHash"]
    )


async def test_each_gc_keeps_the_other_instances_blobs(
    core: Core, api: httpx.AsyncClient, other: tuple[Core, httpx.AsyncClient]
) -> None:
    other_core, other_api = other
    ours = await images_with_derivatives(api, 200)
    theirs = await images_with_derivatives(other_api, 40)
    their_project = theirs[0]["projectId"]
    everything = set(await blob_keys(core))
    assert len(everything) == 8 and everything == set(await blob_keys(other_core))

    report = await gc(core)
    assert (report.orphan_blobs, report.orphan_keys) == (0, [])
    assert (report.kept_foreign, report.foreign_projects) == (4, [their_project])
    assert report.kept_foreign_bytes == sum(
        [i.size async for i in core.blobs.list(f"{their_project}/")]
    )
    shown = report.as_json()
    assert (shown["keptForeign"], shown["foreignProjects"]) == (4, [their_project])
    assert shown["keptForeignBytes"] == report.kept_foreign_bytes > 0
    report = await gc(other_core)
    assert (report.orphan_blobs, report.kept_foreign) == (0, 4)
    assert report.foreign_projects == [ours[0]["projectId"]]

    assert set(await blob_keys(core)) == everything
    for image in ours:
        assert await serves_the_same_bytes(api, image)
    for image in theirs:
        assert await serves_the_same_bytes(other_api, image)


async def test_each_gc_removes_only_its_own_orphans(
    core: Core, api: httpx.AsyncClient, other: tuple[Core, httpx.AsyncClient]
) -> None:
    other_core, other_api = other
    our_orphans = await orphan(core, await project_id(api))
    their_orphans = await orphan(other_core, await project_id(other_api))

    dry = await gc(core, dry_run=True)
    assert set(dry.orphan_keys) == our_orphans and dry.kept_foreign == 3
    report = await gc(core)
    assert set(report.orphan_keys) == our_orphans and report.orphan_bytes == 10
    assert report.kept_foreign == 3  # their image and their two orphans
    left = set(await blob_keys(core))
    assert not left & our_orphans and their_orphans <= left

    report = await gc(other_core)
    assert set(report.orphan_keys) == their_orphans and report.kept_foreign == 1
    assert not set(await blob_keys(core)) & their_orphans


async def test_a_project_unknown_to_both_is_kept_by_both(
    core: Core, api: httpx.AsyncClient, other: tuple[Core, httpx.AsyncClient]
) -> None:
    """A third instance's (or a removed database's) blobs are nobody's to delete here."""
    stray = await orphan(core, str(new_id()))
    for instance in (core, other[0]):
        report = await gc(instance)
        assert report.orphan_blobs == 0 and report.kept_foreign == 2
    assert stray <= set(await blob_keys(core))
