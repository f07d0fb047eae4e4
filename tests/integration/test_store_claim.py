"""A blob store belongs to one database: the first start claims it with a marker, a second
database pointed at it refuses to start (unless sharing is allowed), `pixvault check` reports
the claim. On a local directory and on an S3 bucket."""

import asyncio
import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from pixvault.config import Settings
from pixvault.db import migrate
from pixvault.db.queries import projects as project_rows
from pixvault.services.claim import (
    MARKER_KEY,
    StoreClaimed,
    claim_store,
    database_label,
    inspect_claim,
)
from pixvault.services.core import Core, build_core, initialise
from pixvault.services.gc import collect
from tests.conftest import PG_URL, make_settings
from tests.helpers import blob_keys
from tests.integration.test_startup_errors import refused
from tests.s3 import MotoServer, s3_env, s3_settings
from tests.serve_process import PIXVAULT


@pytest.fixture(params=["local", "s3"])
def store_overrides(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    """One store both databases point at: a directory, or a bucket and prefix."""
    if request.param == "local":
        return {"storage_url": f"file://{tmp_path / 'shared-blobs'}"}
    moto: MotoServer = request.getfixturevalue("moto_server")
    return s3_settings(moto.endpoint, moto.new_bucket())


@pytest.fixture
def settings_overrides(store_overrides: dict[str, object]) -> dict[str, object]:
    return store_overrides


def other_database(tmp_path: Path, store: dict[str, object], **more: object) -> Settings:
    """A second, SQLite database on the same store."""
    other = f"sqlite:///{tmp_path / 'other.db'}"
    return make_settings(tmp_path, "sqlite", None, database_url=other, **store, **more)


@pytest.fixture
async def second() -> AsyncIterator[list[Core]]:
    """Cores a test builds itself, closed at the end."""
    cores: list[Core] = []
    yield cores
    for core in cores:
        await core.close()


async def marker(core: Core) -> dict[str, object]:
    return json.loads(await core.blobs.get(MARKER_KEY))


async def instance_id(core: Core) -> str:
    claim = await inspect_claim(core.db, core.blobs, core.settings)
    assert claim.instance_id is not None
    return claim.instance_id


async def test_first_start_claims_the_store(core: Core) -> None:
    written = await marker(core)
    assert set(written) == {"instanceId", "database", "claimedAt"}
    assert written["instanceId"] == await instance_id(core)
    assert len(str(written["instanceId"])) == 32
    assert (await inspect_claim(core.db, core.blobs, core.settings)).state == "ours"
    # Bookkeeping, not a blob: listings (gc, the tests' `nothing_stored`) never see it.
    assert await blob_keys(core) == []


async def test_the_marker_names_the_database(core: Core, settings: Settings) -> None:
    named = (await marker(core))["database"]
    if settings.database_url is None:
        assert named == f"sqlite:///{(settings.data_dir / 'pixvault.db').resolve()}"
    else:
        assert named == f"{database_label(settings)}"
        assert str(named).endswith(f" (schema {settings.database_schema})")


def test_the_database_is_named_without_its_password(tmp_path: Path) -> None:
    url = "postgresql://pixvault:hunter2@db.invalid/pixvault"
    settings = make_settings(tmp_path, "sqlite", None, database_url=url)
    assert database_label(settings) == "postgresql://pixvault:***@db.invalid/pixvault"


async def test_restarting_the_same_database_keeps_the_claim(
    core: Core, settings: Settings, second: list[Core]
) -> None:
    before = await marker(core)
    again = build_core(settings)
    second.append(again)
    await initialise(again)
    assert await marker(again) == before


async def test_processes_of_one_deployment_starting_at_once_share_the_claim(
    settings: Settings, second: list[Core]
) -> None:
    cores = [build_core(settings) for _ in range(3)]
    second.extend(cores)
    await migrate.upgrade(cores[0].db)  # `pixvault serve` migrates once, then workers start
    await asyncio.gather(*(claim_store(c.db, c.blobs, c.settings) for c in cores))
    ids = {await instance_id(core) for core in cores}
    assert len(ids) == 1 and (await marker(cores[0]))["instanceId"] in ids


async def test_a_second_database_on_the_store_refuses_to_start(
    core: Core, tmp_path: Path, store_overrides: dict[str, object], second: list[Core]
) -> None:
    owner = await marker(core)
    other = build_core(other_database(tmp_path, store_overrides))
    second.append(other)
    with pytest.raises(StoreClaimed) as refused_start:
        await initialise(other)
    message = str(refused_start.value)
    assert message.startswith(
        f"The blob store {core.settings.resolved_storage_url()} belongs to another pixvault "
        f"database ({owner['database']}, instance {owner['instanceId']}, since "
    )
    assert "PIXVAULT_SHARED_STORE=true" in message and "PIXVAULT_STORAGE_URL" in message
    # It stopped before creating anything, and left the owner's marker alone.
    async with other.db.read() as conn:
        assert await project_rows.count(conn) == 0
    assert await marker(core) == owner


async def test_sharing_is_allowed_when_told(
    core: Core, tmp_path: Path, store_overrides: dict[str, object], second: list[Core]
) -> None:
    owner = await marker(core)
    other = build_core(other_database(tmp_path, store_overrides, shared_store=True))
    second.append(other)
    await initialise(other)
    claim = await inspect_claim(other.db, other.blobs, other.settings)
    assert claim.state == "shared" and claim.owner == owner
    assert claim.instance_id != owner["instanceId"]
    assert await marker(core) == owner  # the first owner keeps the claim


async def test_gc_refuses_a_store_another_database_claimed(
    core: Core, tmp_path: Path, store_overrides: dict[str, object], second: list[Core]
) -> None:
    other = build_core(other_database(tmp_path, store_overrides, shared_store=True))
    second.append(other)
    await initialise(other)  # starts once as a shared instance...
    strict = build_core(other_database(tmp_path, store_overrides))  # ...then without the setting
    second.append(strict)
    with pytest.raises(StoreClaimed):
        await collect(strict, grace=timedelta(0), retention=timedelta(0))


async def test_an_unreadable_marker_is_not_taken_for_ours(core: Core, second: list[Core]) -> None:
    await core.blobs.put(MARKER_KEY, b"not json")
    again = build_core(core.settings)
    second.append(again)
    with pytest.raises(StoreClaimed, match=r"\.pixvault-instance\.json is not a pixvault claim"):
        await initialise(again)


async def test_a_second_prefix_in_one_bucket_is_a_store_of_its_own(
    tmp_path: Path, moto_server: MotoServer, second: list[Core]
) -> None:
    bucket = moto_server.new_bucket()
    first = build_core(
        make_settings(tmp_path, "sqlite", None, **s3_settings(moto_server.endpoint, bucket, "a"))
    )
    other = build_core(other_database(tmp_path, s3_settings(moto_server.endpoint, bucket, "b")))
    second.extend([first, other])
    await initialise(first)
    await initialise(other)
    assert sorted(moto_server.keys(bucket)) == [f"a/{MARKER_KEY}", f"b/{MARKER_KEY}"]


# -- the command line ----------------------------------------------------------------------


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PIXVAULT_")}
    environment |= {"PIXVAULT_DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run(
        [PIXVAULT, *args], env=environment, capture_output=True, text=True, timeout=90, check=False
    )


def test_the_readme_sequence_sqlite_then_another_database_is_refused(tmp_path: Path) -> None:
    """SQLite first, then another database with the default data directory: both default to
    DATA_DIR/blobs, so the second start must refuse in one line naming the fix."""
    assert run(tmp_path, "init").returncode == 0
    other = {"PIXVAULT_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"}
    if PG_URL:  # the README's own sequence: SQLite, then PostgreSQL
        schema = "claim_" + uuid.uuid4().hex[:8]
        other = {"PIXVAULT_DATABASE_URL": PG_URL, "PIXVAULT_DATABASE_SCHEMA": schema}
    refused(
        run(tmp_path, "init", **other),
        "belongs to another pixvault database",
        "PIXVAULT_SHARED_STORE=true",
    )
    refused(run(tmp_path, "serve", "--port", "1", **other), "PIXVAULT_SHARED_STORE=true")
    shared = run(tmp_path, "init", PIXVAULT_SHARED_STORE="true", **other)
    assert shared.returncode == 0, shared.stderr


def test_check_reports_the_claim(tmp_path: Path) -> None:
    blobs = tmp_path / "data" / "blobs"
    assert run(tmp_path, "init").returncode == 0
    owner = json.loads((blobs / MARKER_KEY).read_text())
    ok = run(tmp_path, "check")
    assert ok.returncode == 0, ok.stderr
    assert f"claim: file://{blobs} belongs to this database (instance {owner['instanceId']})" in (
        ok.stdout.replace("\n", "")
    )
    other = {"PIXVAULT_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"}
    assert run(tmp_path, "migrate", **other).returncode == 0
    refused(run(tmp_path, "gc", **other), "belongs to another pixvault", "PIXVAULT_SHARED_STORE")
    foreign = run(tmp_path, "check", **other)
    assert foreign.returncode == 1
    assert "fail  claim: The blob store" in foreign.stderr and "PIXVAULT_SHARED_STORE" in (
        foreign.stderr
    )
    shared = run(tmp_path, "check", PIXVAULT_SHARED_STORE="true", **other)
    assert shared.returncode == 0, shared.stderr
    assert "is shared by this database" in shared.stdout.replace("\n", "")


def test_check_before_the_first_start_says_the_store_is_unclaimed(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate").returncode == 0
    found = run(tmp_path, "check")
    assert found.returncode == 0, found.stderr
    assert "is unclaimed; the next `pixvault init` or `serve` claims it" in (
        found.stdout.replace("\n", "")
    )


def test_s3_second_database_is_refused_by_the_command(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    env = s3_env(moto_server.endpoint, moto_server.new_bucket())
    assert run(tmp_path, "init", **env).returncode == 0
    refused(
        run(tmp_path, "init", PIXVAULT_DATABASE_URL=f"sqlite:///{tmp_path / 'b.db'}", **env),
        "belongs to another pixvault database",
        "PIXVAULT_SHARED_STORE=true",
    )
