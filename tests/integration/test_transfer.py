"""`pixvault export` / `pixvault import`: an instance on SQLite + a local directory moves to
PostgreSQL + (moto) S3 and answers every image, alias, flow, asset and key with the same
bytes; importing twice changes nothing; a corrupted dump is refused naming the file."""

import json
import os
import sqlite3
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select

from pixvault.app import create_app
from pixvault.db.queries.transfer import NOT_DUMPED, TABLES
from pixvault.db.tables import metadata
from pixvault.domain.errors import (
    DumpInvalid,
    ImportConflict,
    InvalidInput,
    ProjectNotFound,
    StorageUnavailable,
)
from pixvault.services import transfer
from pixvault.services.claim import StoreClaimed
from pixvault.services.core import Core, InitResult, build_core, initialise
from pixvault.services.transfer import export_dump, import_dump
from tests.conftest import PG_URL, REQUIRE_PG, make_settings
from tests.helpers import jpeg, png, uploaded
from tests.s3 import MotoServer, s3_settings
from tests.serve_process import PIXVAULT
from tests.vaults.support import sdk_uploaded

ASSET = b"%PDF-1.4 quarterly report\n" * 40


def client_of(core: Core, key: str | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(core.settings, core=core))
    headers = {} if key is None else {"X-API-Key": key}
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)


async def counts(core: Core) -> dict[str, int]:
    async with core.db.read() as conn:
        return {t.name: await conn.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES}


async def populate(core: Core, init: InitResult) -> dict[str, Any]:
    """Images (one with an alias, two in a flow with a flow alias, one soft-deleted), a vault
    asset at a folder path, a second project with its own key, a public and a revoked key."""
    assert init.first_key is not None
    secret = init.first_key.secret
    seen: dict[str, Any] = {"secret": secret, "images": {}}
    async with client_of(core, secret) as api:
        hero = await uploaded(api, jpeg(80, 60), alias="@hero")
        first = await uploaded(api, png(40, 30), flowAlias="@step")
        second = await uploaded(api, jpeg(30, 20, (0, 90, 0)), flowId=first["flowId"])
        gone = await uploaded(api, jpeg(20, 20, (9, 9, 9)))
        assert (await api.delete(f"/api/v1/images/{gone['id']}?mode=soft")).status_code == 200
        asset = await sdk_uploaded(
            api, secret, ASSET, filename="report.pdf", partition="docs", collection="2026",
            channel="q4", content_type="application/pdf",
        )  # fmt: skip
    for image, data in (
        (hero, jpeg(80, 60)),
        (first, png(40, 30)),
        (second, jpeg(30, 20, (0, 90, 0))),
    ):
        seen["images"][image["id"]] = data
    seen |= {"hero": hero, "flow": first["flowId"], "second": second, "gone": gone}
    seen["asset"] = asset
    seen["vault"] = init.project.vault_id
    seen["public"] = (await core.keys.issue("public", init.project.id)).secret
    revoked = await core.keys.issue("secret", init.project.id, label="old")
    await core.keys.revoke(revoked.key.id)
    seen["revoked"] = revoked.secret
    site = await core.projects.create("acme", "site")
    seen["site"] = site
    seen["site_key"] = (await core.keys.issue("secret", site.id)).secret
    ann = await core.users.create("ann@example.com", "s3cret-pw", init.project, username="ann")
    seen["ann"], seen["session"] = ann, await core.tokens.issue(ann)
    async with client_of(core, seen["site_key"]) as api:
        seen["site_image"] = await uploaded(api, jpeg(50, 50, (1, 2, 250)), alias="@logo")
    return seen


@pytest.fixture
async def source(tmp_path: Path) -> AsyncIterator[tuple[Core, dict[str, Any]]]:
    """SQLite + a local directory, the default deployment."""
    core = build_core(make_settings(tmp_path / "source", "sqlite", None))
    init = await initialise(core)
    try:
        yield core, await populate(core, init)
    finally:
        await core.close()


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("PIXVAULT_REQUIRE_POSTGRES=1 but PIXVAULT_TEST_DATABASE_URL is unset")
        pytest.skip("needs PostgreSQL: set PIXVAULT_TEST_DATABASE_URL")
    schema = "t_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(PG_URL)
    try:
        yield schema  # created by the import's migration, like a first start would
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


@pytest.fixture
async def target(
    tmp_path: Path, pg_schema: str, moto_server: MotoServer, s3_bucket: str
) -> AsyncIterator[Core]:
    """PostgreSQL + S3, never started: the import is the first thing it sees."""
    settings = make_settings(
        tmp_path / "target", "postgres", pg_schema, **s3_settings(moto_server.endpoint, s3_bucket)
    )
    core = build_core(settings)
    try:
        yield core
    finally:
        await core.close()


async def test_sqlite_and_local_move_to_postgres_and_s3(
    source: tuple[Core, dict[str, Any]],
    target: Core,
    tmp_path: Path,
    moto_server: MotoServer,
    s3_bucket: str,
) -> None:
    old, seen = source
    dump = tmp_path / "dump"
    exported = await export_dump(old, dump)
    assert exported.blobs == 6  # 4 images (one soft-deleted), the asset, acme/site's image
    imported = await import_dump(target, dump)
    assert imported.blobs_written == 6 and imported.blobs_present == 0
    assert imported.added == exported.rows
    before = await counts(old)
    moved = {t: n for t, n in before.items() if t not in ("change_epochs", "instance_secrets")}
    assert {t: n for t, n in (await counts(target)).items() if t in moved} == moved
    await initialise(target)  # what `pixvault serve` does first: no new project, no new key
    assert (await counts(target))["api_keys"] == before["api_keys"]

    async with client_of(target, seen["secret"]) as api:
        for image_id, data in seen["images"].items():
            record = (await api.get(f"/api/v1/images/{image_id}")).json()["data"]
            assert record["id"] == image_id and record["fileSize"] == len(data)
            served = await api.get(f"/default/default/img/{image_id}")
            assert served.status_code == 200 and served.content == data
        by_alias = await api.get("/default/default/img/@hero")
        assert by_alias.content == seen["images"][seen["hero"]["id"]]
        assert (await api.get("/api/v1/images/@hero")).json()["data"]["id"] == seen["hero"]["id"]
        flows = (await api.get("/api/v1/flows")).json()["data"]
        assert [f["id"] for f in flows] == [seen["flow"]]
        flow = (await api.get(f"/api/v1/flows/{seen['flow']}")).json()["data"]
        assert list(flow["aliases"]) == ["@step"]
        listed = (await api.get(f"/api/v1/flows/{seen['flow']}/images")).json()["data"]
        assert {i["id"] for i in listed} == {seen["second"]["id"], flow["aliases"]["@step"]}
        deleted = await api.get(f"/api/v1/images/{seen['gone']['id']}")
        assert deleted.status_code == 404  # still soft-deleted, not resurrected
        asset = await api.get(f"/{seen['vault']}/docs/2026/q4/report.pdf")
        assert asset.status_code == 200 and asset.content == ASSET
        transformed = await api.get(f"/default/default/img/{seen['hero']['id']}?w=20")
        assert transformed.status_code == 200  # derivatives re-render from the moved original
    for key, status in ((seen["public"], 200), (seen["revoked"], 401)):
        async with client_of(target, key) as api:
            assert (await api.get("/api/v1/images")).status_code == status
    async with client_of(target, seen["site_key"]) as api:
        logo = await api.get("/acme/site/img/@logo")
        assert logo.content == jpeg(50, 50, (1, 2, 250))
    # The signed-in user keeps their session and their password.
    assert await target.tokens.verify(seen["session"].access_token) == seen["ann"].id
    assert (await target.tokens.refresh(seen["session"].refresh_token)).access_token
    signed_in = await target.users.sign_in("ann", "s3cret-pw", client="127.0.0.1")
    assert signed_in.id == seen["ann"].id

    objects = moto_server.client().head_object(
        Bucket=s3_bucket, Key=f"pv/{seen['hero']['storageKey']}"
    )
    assert objects["ContentType"] == "image/jpeg"  # typed objects, as uploads write them

    rows = await counts(target)
    again = await import_dump(target, dump)
    assert sum(again.added.values()) == 0 and again.blobs_written == 0
    assert sum(again.present.values()) == sum(exported.rows.values())
    assert await counts(target) == rows


async def test_and_back_from_postgres_and_s3_in_chunks(
    source: tuple[Core, dict[str, Any]],
    target: Core,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reverse move reads PostgreSQL in one snapshot and S3 objects in ranged chunks."""
    old, seen = source
    await export_dump(old, tmp_path / "there")
    await import_dump(target, tmp_path / "there")
    monkeypatch.setattr(transfer, "_CHUNK", 256)  # every original spans several ranges
    report = await export_dump(target, tmp_path / "back")
    assert report.blobs == 6
    site = await export_dump(target, tmp_path / "site", "acme/site")  # PostgreSQL's scoping
    assert (site.blobs, site.rows["projects"], site.rows["api_keys"]) == (1, 1, 1)
    assert (site.rows["organizations"], site.rows["users"]) == (1, 0)
    home = build_core(make_settings(tmp_path / "home", "sqlite", None))
    try:
        await import_dump(home, tmp_path / "back")
        async with client_of(home, seen["secret"]) as api:
            for image_id, data in seen["images"].items():
                assert (await api.get(f"/default/default/img/{image_id}")).content == data
            asset = await api.get(f"/{seen['vault']}/docs/2026/q4/report.pdf")
            assert asset.content == ASSET
    finally:
        await home.close()


async def test_import_refuses_a_target_whose_projects_differ(
    source: tuple[Core, dict[str, Any]], tmp_path: Path
) -> None:
    old, _ = source
    await export_dump(old, tmp_path / "dump")
    started = build_core(make_settings(tmp_path / "started", "sqlite", None))
    await initialise(started)  # its own default/default project under another id
    try:
        before = await counts(started)
        with pytest.raises(ImportConflict) as refused:
            await import_dump(started, tmp_path / "dump")
        assert "tables/projects.jsonl" in refused.value.message
        assert "first `pixvault serve`" in refused.value.message
        assert await counts(started) == before
        assert [i async for i in started.blobs.list("") if "/originals/" in i.key] == []
    finally:
        await started.close()


async def test_one_project_moves_into_a_running_instance(
    source: tuple[Core, dict[str, Any]], tmp_path: Path
) -> None:
    old, seen = source
    dump = tmp_path / "dump"
    report = await export_dump(old, dump, "acme/site")
    manifest = json.loads((dump / "manifest.json").read_text())
    assert manifest["scope"] == {
        "kind": "project", "project": "acme/site", "projectId": str(seen["site"].id)
    }  # fmt: skip
    assert "tables/instance_secrets.jsonl" not in manifest["files"]
    assert report.rows["images"] == 1 and report.rows["api_keys"] == 1 and report.blobs == 1
    for line in (dump / "tables" / "images.jsonl").read_text().splitlines():
        assert json.loads(line)["project_id"] == str(seen["site"].id)

    other = build_core(make_settings(tmp_path / "other", "sqlite", None))
    init = await initialise(other)
    try:
        await import_dump(other, dump)
        assert init.first_key is not None
        async with client_of(other, seen["site_key"]) as api:
            assert (await api.get("/acme/site/img/@logo")).content == jpeg(50, 50, (1, 2, 250))
            assert (await api.get("/api/v1/images")).json()["pagination"]["total"] == 1
        async with client_of(other, seen["secret"]) as api:  # the source's default key
            assert (await api.get("/api/v1/images")).status_code == 401
        async with client_of(other, init.first_key.secret) as api:
            assert (await api.get("/api/v1/images")).json()["data"] == []
    finally:
        await other.close()


async def test_a_newer_export_adds_what_is_new_and_counts_it(
    source: tuple[Core, dict[str, Any]], tmp_path: Path
) -> None:
    old, seen = source
    await export_dump(old, tmp_path / "monday")
    other = build_core(make_settings(tmp_path / "other", "sqlite", None))
    try:
        await import_dump(other, tmp_path / "monday")
        async with client_of(old, seen["secret"]) as api:
            late = await uploaded(api, jpeg(12, 12, (3, 3, 3)))
            total = (await api.get("/api/v1/images")).json()["pagination"]["total"]
            assert total == 5  # three images and the vault asset were there, one soft-deleted
        await export_dump(old, tmp_path / "tuesday")
        report = await import_dump(other, tmp_path / "tuesday")
        assert report.added["images"] == 1 and report.blobs_written == 1
        assert sum(n for t, n in report.added.items() if t != "images") == 0
        async with client_of(other, seen["secret"]) as api:
            listed = (await api.get("/api/v1/images")).json()
            assert listed["pagination"]["total"] == total  # the counter follows the rows
            late_bytes = (await api.get(f"/default/default/img/{late['id']}")).content
            assert late_bytes == jpeg(12, 12, (3, 3, 3))
    finally:
        await other.close()


async def test_a_row_changed_in_the_target_is_a_conflict(
    source: tuple[Core, dict[str, Any]], tmp_path: Path
) -> None:
    old, seen = source
    await export_dump(old, tmp_path / "dump")
    other = build_core(make_settings(tmp_path / "other", "sqlite", None))
    try:
        await import_dump(other, tmp_path / "dump")
        async with client_of(other, seen["secret"]) as api:
            moved = await api.put(
                f"/api/v1/images/{seen['second']['id']}/alias", json={"alias": "@x"}
            )
            assert moved.status_code == 200, moved.text
        before = await counts(other)
        with pytest.raises(ImportConflict) as refused:
            await import_dump(other, tmp_path / "dump")
        message = refused.value.message
        assert message.startswith("tables/images.jsonl line ") and seen["second"]["id"] in message
        assert "other alias" in message and "nothing was imported" in message
        assert await counts(other) == before
    finally:
        await other.close()


async def test_a_store_failing_mid_import_leaves_no_rows(
    source: tuple[Core, dict[str, Any]], tmp_path: Path, moto_server: MotoServer
) -> None:
    old, _ = source
    await export_dump(old, tmp_path / "dump")
    settings = s3_settings(moto_server.endpoint, "no-such-bucket")
    broken = build_core(make_settings(tmp_path / "broken", "sqlite", None, **settings))
    try:
        with pytest.raises(StorageUnavailable) as failed:
            await import_dump(broken, tmp_path / "dump")
        assert "NoSuchBucket" in failed.value.message
        rows = await counts(broken)  # instance_secrets holds its own id, from the store claim
        assert all(n == 0 for t, n in rows.items() if t != "instance_secrets")
    finally:
        await broken.close()


async def test_a_store_another_database_claimed_is_refused(
    source: tuple[Core, dict[str, Any]], tmp_path: Path
) -> None:
    old, _ = source
    await export_dump(old, tmp_path / "dump")
    shared = {"storage_url": f"file://{tmp_path / 'shared'}"}
    owner = build_core(make_settings(tmp_path / "owner", "sqlite", None, **shared))
    await initialise(owner)  # claims the directory
    stranger = build_core(make_settings(tmp_path / "stranger", "sqlite", None, **shared))
    try:
        with pytest.raises(StoreClaimed) as refused:
            await import_dump(stranger, tmp_path / "dump")
        assert "belongs to" in str(refused.value)
        assert (await counts(stranger))["images"] == 0
        assert [i async for i in stranger.blobs.list("")] == []
    finally:
        await stranger.close()
        await owner.close()


async def test_export_of_an_unknown_project_is_refused(
    source: tuple[Core, dict[str, Any]], tmp_path: Path
) -> None:
    old, _ = source
    with pytest.raises(ProjectNotFound):
        await export_dump(old, tmp_path / "dump", "acme/nothing")
    assert not (tmp_path / "dump").exists()


@pytest.mark.parametrize("where", ["blob", "images.jsonl", "manifest", "manifest-edit"])
async def test_a_corrupted_dump_is_refused_naming_the_file(
    source: tuple[Core, dict[str, Any]], tmp_path: Path, where: str
) -> None:
    old, seen = source
    dump = tmp_path / "dump"
    await export_dump(old, dump)
    if where == "blob":
        name = f"blobs/{seen['hero']['storageKey']}"
    elif where == "images.jsonl":
        name = "tables/images.jsonl"
    else:
        name = "manifest.json"
    if where == "manifest":
        (dump / name).unlink()  # what an interrupted export leaves
    elif where == "manifest-edit":
        text = (dump / name).read_text()
        edited = text.replace('"lines": 1\n', '"lines": 2\n', 1)
        assert edited != text
        (dump / name).write_text(edited)
    else:
        data = bytearray((dump / name).read_bytes())
        data[len(data) // 2] ^= 0x01
        (dump / name).write_bytes(bytes(data))
    fresh = build_core(make_settings(tmp_path / "fresh", "sqlite", None))
    try:
        with pytest.raises(DumpInvalid) as refused:
            await import_dump(fresh, dump)
        assert refused.value.file == name
        assert refused.value.message.startswith(
            f"The dump is refused, nothing was imported: {name} "
        )
        assert [i async for i in fresh.blobs.list("")] == []
        database = tmp_path / "fresh" / "data" / "pixvault.db"
        assert not database.exists() or _sqlite_tables(database) == []
    finally:
        await fresh.close()


async def test_export_refuses_a_directory_that_is_not_empty(
    source: tuple[Core, dict[str, Any]], tmp_path: Path
) -> None:
    old, _ = source
    (tmp_path / "dump").mkdir()
    (tmp_path / "dump" / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInput) as refused:
        await export_dump(old, tmp_path / "dump")
    assert "not an empty directory" in refused.value.message
    assert sorted(p.name for p in (tmp_path / "dump").iterdir()) == ["notes.txt"]


def test_every_table_is_dumped_or_left_out_on_purpose() -> None:
    dumped = {t.name for t in TABLES}
    assert set(metadata.tables) == dumped | (NOT_DUMPED & set(metadata.tables))
    assert not dumped & NOT_DUMPED


def _sqlite_tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]


# -- the commands, as real processes -------------------------------------------------------


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIXVAULT_DATA_DIR": str(data_dir)}
    env.pop("PIXVAULT_DATABASE_URL", None)
    env.pop("PIXVAULT_STORAGE_URL", None)
    return subprocess.run(
        [PIXVAULT, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_commands_export_check_and_import_twice(tmp_path: Path) -> None:
    source = tmp_path / "source"
    assert run(source, "projects", "create", "acme/site").returncode == 0
    exported = run(source, "export", str(tmp_path / "dump"), "--json")
    assert exported.returncode == 0, exported.stderr
    report = json.loads(exported.stdout)
    assert report["scope"] == "whole instance" and report["rows"]["projects"] == 2
    checked = run(tmp_path / "unused", "import", "--check", str(tmp_path / "dump"))
    assert checked.returncode == 0 and "every file matches" in checked.stdout
    assert not (tmp_path / "unused").exists()  # --check touches no database
    first = json.loads(run(tmp_path / "target", "import", str(tmp_path / "dump"), "--json").stdout)
    assert first["rowsAdded"]["projects"] == 2 and first["rowsAdded"]["api_keys"] == 1
    second = run(tmp_path / "target", "import", str(tmp_path / "dump"), "--json")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert sum(again["rowsAdded"].values()) == 0
    assert again["rowsPresent"] == first["rowsAdded"]


async def test_command_refuses_a_corrupted_table_on_stderr(
    source: tuple[Core, dict[str, Any]], tmp_path: Path
) -> None:
    await export_dump(source[0], tmp_path / "dump")
    keys = tmp_path / "dump" / "tables" / "api_keys.jsonl"
    keys.write_text(keys.read_text().replace('"secret"', '"master"'))
    refused = run(tmp_path / "target", "import", str(tmp_path / "dump"))
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "tables/api_keys.jsonl" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "target" / "pixvault.db").exists()
