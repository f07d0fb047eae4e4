"""`pixvault gc`: expired soft deletes are purged, unreferenced old blobs removed, nothing else."""

import json
import os
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from pixvault.db.rows import now
from pixvault.domain.durations import parse_duration
from pixvault.domain.ids import new_id
from pixvault.services.blobkeys import derivative_key, original_key
from pixvault.services.core import DEFAULT_ORG, DEFAULT_PROJECT, Core
from pixvault.services.gc import GcReport, collect
from tests.helpers import blob_keys, jpeg, row_count, uploaded
from tests.serve_process import PIXVAULT

HOUR = timedelta(hours=1)
MONTH = timedelta(days=30)


async def gc(core: Core, *, later: timedelta, dry_run: bool = False) -> GcReport:
    """Run gc as if `later` had passed, with a one-hour grace and 30-day retention."""
    return await collect(core, grace=HOUR, retention=MONTH, dry_run=dry_run, now=now() + later)


async def project_id(core: Core) -> uuid.UUID:
    return (await core.projects.by_path(f"{DEFAULT_ORG}/{DEFAULT_PROJECT}")).id


async def orphans(core: Core) -> set[str]:
    """An original and a derivative of an image that has no row (a crashed upload)."""
    pid, ghost = await project_id(core), new_id()
    keys = {original_key(pid, ghost), derivative_key(pid, ghost, "d" * 32)}
    for key in keys:
        await core.blobs.put(key, b"orphan")
    return keys


async def rendered(api: httpx.AsyncClient) -> dict:
    image = await uploaded(api, jpeg(100, 80))
    assert (await api.get(f"/default/default/img/{image['id']}?w=32")).status_code == 200
    return image


async def test_old_orphans_are_removed(core: Core, api: httpx.AsyncClient) -> None:
    keys = await orphans(core)
    report = await gc(core, later=2 * HOUR)
    assert (report.orphan_blobs, report.orphan_bytes) == (2, 12)
    assert set(report.orphan_keys) == keys
    assert await blob_keys(core) == []


async def test_fresh_orphans_are_kept(core: Core, api: httpx.AsyncClient) -> None:
    keys = await orphans(core)
    report = await gc(core, later=timedelta(minutes=5))
    assert report.orphan_blobs == 0 and report.kept_recent == 2
    assert set(await blob_keys(core)) == keys


async def test_referenced_blobs_are_kept(core: Core, api: httpx.AsyncClient) -> None:
    image = await rendered(api)
    before = await blob_keys(core)
    assert len(before) == 2 and image["storageKey"] in before
    report = await gc(core, later=2 * HOUR)
    assert report.orphan_blobs == report.purged_images == 0
    assert await blob_keys(core) == before


async def test_unknown_keys_are_left_alone(core: Core, api: httpx.AsyncClient) -> None:
    await core.blobs.put("someone-else/file.txt", b"x")
    report = await gc(core, later=2 * HOUR)
    assert report.kept_unknown == 1
    assert await blob_keys(core) == ["someone-else/file.txt"]


async def test_soft_deleted_past_retention_are_purged(core: Core, api: httpx.AsyncClient) -> None:
    image = await rendered(api)
    kept = await uploaded(api, jpeg(10, 10))
    assert (await api.delete(f"/api/v1/images/{image['id']}?mode=soft")).status_code == 200
    recent = await gc(core, later=timedelta(days=29))
    assert recent.purged_images == 0 and await row_count(core) == 2
    report = await gc(core, later=timedelta(days=31))
    assert report.purged_images == 1 and report.purged_bytes == image["fileSize"]
    assert await row_count(core) == 1
    assert await blob_keys(core) == [kept["storageKey"]]


async def test_dry_run_changes_nothing(core: Core, api: httpx.AsyncClient) -> None:
    image = await rendered(api)
    await api.delete(f"/api/v1/images/{image['id']}?mode=soft")
    await orphans(core)
    before = sorted(await blob_keys(core))
    report = await gc(core, later=timedelta(days=31), dry_run=True)
    assert report.dry_run and report.purged_images == 1 and report.orphan_blobs == 2
    assert sorted(await blob_keys(core)) == before
    assert await row_count(core) == 1
    listed = await api.get("/api/v1/images", params={"includeDeleted": "true"})
    assert [i["id"] for i in listed.json()["data"]] == [image["id"]]


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("15m", 900), ("1h", 3600), ("30d", 2592000), ("0", 0)]
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_cli_gc_reports_and_removes(tmp_path: Path) -> None:
    env = {**os.environ, "PIXVAULT_DATA_DIR": str(tmp_path / "data")}
    env.pop("PIXVAULT_DATABASE_URL", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PIXVAULT, *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )

    assert run("init").returncode == 0
    project = json.loads(run("projects", "create", "acme/site", "--json").stdout)["id"]
    orphan = tmp_path / "data" / "blobs" / project / "originals" / str(new_id())
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"12345")
    dry = run("gc", "--dry-run", "--grace", "0", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["orphanBlobs"] == 1 and orphan.exists()
    kept = json.loads(run("gc", "--json").stdout)
    assert kept["orphanBlobs"] == 0 and kept["keptRecent"] == 1
    done = json.loads(run("gc", "--grace", "0s", "--retention", "30d", "--json").stdout)
    assert (done["orphanBlobs"], done["orphanBytes"], done["dryRun"]) == (1, 5, False)
    assert not orphan.exists()
    bad = run("gc", "--grace", "soon")
    assert bad.returncode != 0 and "duration" in bad.stderr + bad.stdout
