"""The blob store contract on local disk, memory and S3 (moto), and the API on S3."""

import hashlib
from pathlib import Path

import httpx
import pytest
import pyvips

from pixvault.app import create_app
from pixvault.config import Settings
from pixvault.domain.errors import StorageUnavailable
from pixvault.http.native.errors import TABLE
from pixvault.services.core import Core, build_core, initialise
from pixvault.storage import BlobMissing, BlobStore, open_store
from tests.conftest import make_settings
from tests.helpers import blob_keys, jpeg, row_count, upload, uploaded
from tests.s3 import MotoServer, free_port, s3_settings, start_moto


def s3_store(endpoint: str, bucket: str) -> BlobStore:
    settings = Settings(_env_file=None, **s3_settings(endpoint, bucket))
    return BlobStore(open_store(settings.resolved_storage_url(), **settings.storage_options()))


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return BlobStore(open_store(f"file://{tmp_path / 'blobs'}"))
    if request.param == "memory":
        return BlobStore(open_store("memory://"))
    moto: MotoServer = request.getfixturevalue("moto_server")
    return s3_store(moto.endpoint, moto.new_bucket())


# -- contract ------------------------------------------------------------------------------


async def test_put_get_and_range(store: BlobStore) -> None:
    await store.put("p/originals/a", b"0123456789")
    assert await store.get("p/originals/a") == b"0123456789"
    assert await store.get_range("p/originals/a", 2, 5) == b"234"
    await store.put("p/originals/a", b"new")
    assert await store.get("p/originals/a") == b"new"


async def test_exists_and_idempotent_delete(store: BlobStore) -> None:
    await store.put("k", b"x")
    assert await store.exists("k")
    await store.delete("k")
    assert not await store.exists("k")
    await store.delete("k")
    await store.delete("never-there")


async def test_list_by_prefix_and_delete_prefix(store: BlobStore) -> None:
    for key in ("p/derived/i/1", "p/derived/i/2", "p/derived/j/1", "p/originals/i"):
        await store.put(key, b"abc")
    listed = sorted([info.key async for info in store.list("p/derived/i/")])
    assert listed == ["p/derived/i/1", "p/derived/i/2"]
    infos = [info async for info in store.list("")]
    assert len(infos) == 4
    assert all(i.size == 3 and i.last_modified.tzinfo is not None for i in infos)
    assert await store.delete_prefix("p/derived/i/") == 2
    assert sorted([i.key async for i in store.list("")]) == ["p/derived/j/1", "p/originals/i"]
    assert await store.delete_prefix("nothing/") == 0


async def test_missing_object_is_blob_missing(store: BlobStore) -> None:
    with pytest.raises(BlobMissing):
        await store.get("absent")
    with pytest.raises(BlobMissing):
        await store.get_range("absent", 0, 1)


async def test_unreadable_local_object_is_storage_unavailable(tmp_path: Path) -> None:
    store = BlobStore(open_store(f"file://{tmp_path / 'blobs'}"))
    (tmp_path / "blobs" / "p" / "dir-not-file").mkdir(parents=True)
    with pytest.raises(StorageUnavailable):
        await store.get("p/dir-not-file")


async def test_big_object_round_trips(store: BlobStore) -> None:
    """Past the inline limit a local write moves to a thread; the bytes must be identical."""
    data = bytes(range(256)) * (5 * 4096 + 7)
    await store.put("p/originals/big", data)
    assert await store.get("p/originals/big") == data


async def test_local_writes_leave_only_the_objects(tmp_path: Path) -> None:
    store = BlobStore(open_store(f"file://{tmp_path / 'blobs'}"))
    await store.put("p/derived/i/small", b"x" * 100)
    await store.put("p/derived/i/big", b"y" * (3 << 20))
    await store.put("p/derived/i/small", b"z")
    on_disk = sorted(p.name for p in (tmp_path / "blobs" / "p" / "derived" / "i").iterdir())
    assert on_disk == ["big", "small"]
    assert await store.get("p/derived/i/small") == b"z"


async def test_unwritable_local_key_is_storage_unavailable(tmp_path: Path) -> None:
    store = BlobStore(open_store(f"file://{tmp_path / 'blobs'}"))
    await store.put("p/file", b"x")
    await store.put("p/dir/child", b"y")
    with pytest.raises(StorageUnavailable):
        await store.put("p/file/child", b"y")
    with pytest.raises(StorageUnavailable):
        await store.put("p/dir", b"z")  # written, then the rename over a directory fails
    assert await store.get("p/file") == b"x"
    assert sorted(p.name for p in (tmp_path / "blobs" / "p").iterdir()) == ["dir", "file"]


async def test_presign_only_on_s3(store: BlobStore, request: pytest.FixtureRequest) -> None:
    await store.put("signed", b"payload")
    url = await store.presign_get("signed", 60)
    if "s3" not in request.node.callspec.id:
        assert url is None
        return
    assert url is not None and "X-Amz-Signature" in url
    assert httpx.get(url, timeout=5).content == b"payload"


async def test_closed_port_is_storage_unavailable() -> None:
    store = s3_store(f"http://127.0.0.1:{free_port()}", "nowhere")
    for call in (
        lambda: store.put("k", b"x"),
        lambda: store.get("k"),
        lambda: store.get_range("k", 0, 1),
        lambda: store.exists("k"),
        lambda: store.delete("k"),
        lambda: store.delete_prefix("p/"),
    ):
        with pytest.raises(StorageUnavailable) as caught:
            await call()
        assert TABLE.lookup(caught.value)[0] == 503


async def test_store_that_goes_away_is_storage_unavailable() -> None:
    doomed = start_moto()
    try:
        store = s3_store(doomed.endpoint, doomed.new_bucket())
        await store.put("k", b"x")
        assert await store.get("k") == b"x"
    finally:
        doomed.stop()
    with pytest.raises(StorageUnavailable):
        await store.get("k")
    with pytest.raises(StorageUnavailable):
        await store.put("k2", b"y")


# -- the API on S3 -------------------------------------------------------------------------


@pytest.fixture
def settings_overrides(moto_server: MotoServer, s3_bucket: str) -> dict[str, object]:
    return s3_settings(moto_server.endpoint, s3_bucket)


async def test_api_round_trip_on_s3(
    api: httpx.AsyncClient, moto_server: MotoServer, s3_bucket: str, settings: Settings
) -> None:
    data = jpeg(120, 90)
    image = await uploaded(api, data)
    assert moto_server.blobs(s3_bucket) == [f"pv/{image['storageKey']}"]
    listed = (await api.get("/api/v1/images")).json()["data"]
    assert [i["id"] for i in listed] == [image["id"]]
    cdn = f"/default/default/img/{image['id']}"
    original = await api.get(cdn)
    assert original.status_code == 200
    assert hashlib.sha256(original.content).hexdigest() == image["fileHash"] == _sha(data)
    small = await api.get(cdn, params={"w": "32"})
    assert small.status_code == 200 and small.headers["content-type"] == "image/jpeg"
    assert len(moto_server.keys(s3_bucket, f"pv/{image['projectId']}/derived/")) == 1
    assert (await api.delete(f"/api/v1/images/{image['id']}")).status_code == 200
    assert moto_server.blobs(s3_bucket) == []
    assert (await api.get(cdn)).status_code == 404
    assert not (settings.data_dir / "blobs").exists()


async def test_upload_against_unreachable_s3_is_503_and_leaves_no_row(
    tmp_path: Path, backend: str, pg_schema: str | None
) -> None:
    dead = s3_settings(f"http://127.0.0.1:{free_port()}", "nowhere")
    core = build_core(make_settings(tmp_path, backend, pg_schema, **dead))
    issued = (await initialise(core)).first_key
    assert issued is not None
    transport = httpx.ASGITransport(app=create_app(core.settings, core=core))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            http.headers["X-API-Key"] = issued.secret
            response = await upload(http, jpeg())
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "STORAGE_UNAVAILABLE"
        assert await row_count(core) == 0
    finally:
        await core.close()


async def test_core_blob_listing_is_relative_to_the_bucket_prefix(
    api: httpx.AsyncClient, core: Core
) -> None:
    image = await uploaded(api)
    assert await blob_keys(core) == [image["storageKey"]]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_standard_aws_variables_are_the_fallback(
    moto_server: MotoServer, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "AWS_ENDPOINT_URL": moto_server.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None, storage_url=f"s3://{s3_bucket}/env")
    store = BlobStore(open_store(settings.resolved_storage_url(), **settings.storage_options()))
    await store.put("k", b"v")
    assert moto_server.keys(s3_bucket) == ["env/k"]


@pytest.fixture
def redirect_mode(settings_overrides: dict[str, object]) -> None:
    settings_overrides["delivery_mode"] = "redirect"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.usefixtures("redirect_mode")
async def test_redirect_mode_answers_302_to_a_presigned_url(
    api: httpx.AsyncClient, core, moto_server: MotoServer, s3_bucket: str
) -> None:
    data = jpeg(120, 90)
    image = await uploaded(api, data)
    cdn = f"/default/default/img/{image['id']}"
    for params in ({}, {"w": "40"}):
        response = await api.get(cdn, params=params)
        assert response.status_code == 302
        location = response.headers["location"]
        assert location.startswith(moto_server.endpoint) and "X-Amz-Signature" in location
        fetched = httpx.get(location, timeout=10)
        assert fetched.status_code == 200
        if not params:
            assert fetched.content == data
        else:
            assert pyvips.Image.new_from_buffer(fetched.content, "").width == 40
