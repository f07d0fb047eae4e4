"""POST /api/v1/images/upload: the contract of seed 001 and every bad input refused cleanly."""

import hashlib
import io
import uuid

import httpx
import pytest

from pixvault.services.blobkeys import original_key
from tests.helpers import jpeg, nothing_stored, png, row_count, upload, uploaded, webp

SEED_FIELDS = {
    "id", "projectId", "flowId", "storageKey", "storageUrl", "mimeType", "fileSize", "width",
    "height", "source", "alias", "focalPoint", "fileHash", "meta", "createdAt",
}  # fmt: skip


async def test_upload_returns_every_seed_field_and_stores_the_bytes(api, core):
    data = jpeg(120, 80)
    response = await upload(api, data, alias="@brand-logo", meta='{"tags": ["logo"]}')
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    image = body["data"]
    assert image.keys() >= SEED_FIELDS
    assert image["mimeType"] == "image/jpeg"
    assert (image["width"], image["height"]) == (120, 80)
    assert image["fileSize"] == len(data)
    assert image["fileHash"] == hashlib.sha256(data).hexdigest()
    assert image["alias"] == "@brand-logo"
    assert image["source"] == "uploaded"
    assert image["meta"] == {"tags": ["logo"]}
    assert image["focalPoint"] is None
    assert image["createdAt"].endswith("Z")
    assert image["storageUrl"] == f"http://cdn.test/default/default/img/{image['id']}"
    key = original_key(uuid.UUID(image["projectId"]), uuid.UUID(image["id"]))
    assert await core.blobs.get(key) == data


@pytest.mark.parametrize(("maker", "mime"), [(png, "image/png"), (webp, "image/webp")])
async def test_png_and_webp_are_accepted(api, maker, mime):
    image = await uploaded(api, maker(30, 20))
    assert (image["mimeType"], image["width"], image["height"]) == (mime, 30, 20)


async def test_type_comes_from_the_bytes_not_the_name_or_client_mime(api):
    response = await upload(api, png(), filename="photo.jpg", content_type="image/jpeg")
    assert response.status_code == 201
    assert response.json()["data"]["mimeType"] == "image/png"


async def test_flow_id_absent_returns_a_pending_flow_created_lazily(api):
    image = await uploaded(api)
    flow_id = image["flowId"]
    assert uuid.UUID(flow_id)
    flows = (await api.get("/api/v1/flows")).json()
    assert flows["data"] == []
    flow = await api.get(f"/api/v1/flows/{flow_id}")
    assert flow.status_code == 200
    assert flow.json()["data"]["imageCount"] == 1


async def test_flow_id_null_means_no_flow(api):
    image = await uploaded(api, flowId="null")
    assert image["flowId"] is None


async def test_flow_id_uuid_associates_and_creates_the_flow(api):
    flow_id = str(uuid.uuid4())
    first = await uploaded(api, flowId=flow_id)
    second = await uploaded(api, flowId=flow_id)
    assert first["flowId"] == second["flowId"] == flow_id
    flows = (await api.get("/api/v1/flows")).json()["data"]
    assert [f["id"] for f in flows] == [flow_id]
    assert flows[0]["imageCount"] == 2


async def test_flow_alias_creates_the_flow_eagerly(api):
    image = await uploaded(api, flowAlias="@reference")
    flows = (await api.get("/api/v1/flows")).json()["data"]
    assert len(flows) == 1
    assert flows[0]["id"] == image["flowId"]
    assert flows[0]["aliases"] == {"@reference": image["id"]}


# -- bad input: a clear 4xx, nothing stored -------------------------------------------------


async def assert_refused(response: httpx.Response, status: int, code: str, core) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert await nothing_stored(core)


@pytest.fixture
def settings_overrides():
    return {"max_upload_bytes": 50_000}


async def test_oversized_file_is_refused(api, core):
    big = jpeg(1500, 1500)
    assert len(big) > 50_000
    await assert_refused(await upload(api, big), 400, "FILE_TOO_LARGE", core)


async def test_oversized_chunked_upload_is_refused_while_streaming(api, core):
    boundary = "pvboundary"
    sent = 0

    async def body():
        nonlocal sent
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        )
        yield head.encode()
        for _ in range(200):
            sent += 16_384
            yield b"\xff" * 16_384

    response = await api.post(
        "/api/v1/images/upload",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    await assert_refused(response, 400, "FILE_TOO_LARGE", core)
    assert sent < 200 * 16_384


async def test_declared_content_length_over_limit_is_refused_before_reading(api, core):
    response = await api.post(
        "/api/v1/images/upload",
        content=b"x" * 10,
        headers={"Content-Type": "multipart/form-data; boundary=b", "Content-Length": "99999999"},
    )
    await assert_refused(response, 400, "FILE_TOO_LARGE", core)


async def test_non_image_is_refused(api, core):
    response = await upload(
        api, b"hello, world\n" * 10, filename="a.txt", content_type="text/plain"
    )
    await assert_refused(response, 400, "UNSUPPORTED_FILE_TYPE", core)


async def test_lying_type_is_refused(api, core):
    fake = b"<svg xmlns='http://www.w3.org/2000/svg'/>"
    response = await upload(api, fake, filename="logo.png", content_type="image/png")
    await assert_refused(response, 400, "UNSUPPORTED_FILE_TYPE", core)


async def test_gif_is_not_accepted_by_the_native_api(api, core):
    gif = b"GIF89a" + b"\x00" * 40
    await assert_refused(await upload(api, gif), 400, "UNSUPPORTED_FILE_TYPE", core)


async def test_truncated_jpeg_is_refused(api, core):
    data = jpeg(400, 300)
    await assert_refused(await upload(api, data[: len(data) // 2]), 400, "INVALID_IMAGE", core)


async def test_corrupt_png_is_refused(api, core):
    data = bytearray(png(200, 100))
    start = data.index(b"IDAT") + 8
    data[start : start + 40] = b"\x55" * 40
    await assert_refused(await upload(api, bytes(data)), 400, "INVALID_IMAGE", core)


async def test_zero_byte_file_is_refused(api, core):
    await assert_refused(await upload(api, b""), 400, "VALIDATION_ERROR", core)


async def test_missing_file_field_is_refused(api, core):
    response = await api.post("/api/v1/images/upload", files={"other": ("a", b"x")})
    await assert_refused(response, 400, "VALIDATION_ERROR", core)


async def test_non_multipart_body_is_refused(api, core):
    response = await api.post("/api/v1/images/upload", json={"file": "x"})
    await assert_refused(response, 400, "VALIDATION_ERROR", core)


async def test_malformed_meta_json_is_refused(api, core):
    await assert_refused(await upload(api, meta="{not json"), 400, "VALIDATION_ERROR", core)


async def test_meta_that_is_not_an_object_is_refused(api, core):
    await assert_refused(await upload(api, meta="[1, 2]"), 400, "VALIDATION_ERROR", core)


@pytest.mark.parametrize("alias", ["brand", "@", "@-lead", "@has space", "@" + "a" * 65, "@ü"])
async def test_invalid_alias_is_refused(api, core, alias):
    await assert_refused(await upload(api, alias=alias), 400, "ALIAS_FORMAT_CHECK", core)


@pytest.mark.parametrize("alias", ["@last", "@first", "@upload"])
async def test_reserved_alias_is_refused(api, core, alias):
    await assert_refused(await upload(api, alias=alias), 400, "ALIAS_FORMAT_CHECK", core)


async def test_invalid_flow_alias_is_refused(api, core):
    await assert_refused(await upload(api, flowAlias="nope"), 400, "ALIAS_FORMAT_CHECK", core)


async def test_invalid_flow_id_is_refused(api, core):
    await assert_refused(await upload(api, flowId="not-a-uuid"), 400, "VALIDATION_ERROR", core)


async def test_another_projects_flow_id_names_a_flow_of_our_own(api, core):
    """Flow ids are per project: naming another project's id is naming an unknown one (201,
    a flow of ours with that id); theirs keeps its image and alias."""
    other = await core.projects.create("acme", "site")
    key = (await core.keys.issue("secret", other.id)).secret
    response = await api.post(
        "/api/v1/images/upload",
        files={"file": ("a.jpg", io.BytesIO(jpeg()), "image/jpeg")},
        data={"flowAlias": "@x"},
        headers={"X-API-Key": key},
    )
    theirs = response.json()["data"]
    flow_id = theirs["flowId"]
    ours = await upload(api, flowId=flow_id)
    assert ours.status_code == 201
    assert ours.json()["data"]["flowId"] == flow_id
    mine = (await api.get(f"/api/v1/flows/{flow_id}")).json()["data"]
    assert (mine["aliases"], mine["imageCount"]) == ({}, 1)
    kept = (await api.get(f"/api/v1/flows/{flow_id}", headers={"X-API-Key": key})).json()
    assert (kept["data"]["aliases"], kept["data"]["imageCount"]) == ({"@x": theirs["id"]}, 1)


async def test_missing_key_is_unauthorized(client, core):
    await assert_refused(await upload(client), 401, "UNAUTHORIZED", core)


async def test_unknown_key_is_unauthorized(client, core):
    client.headers["X-API-Key"] = "sk_not-a-real-key"
    await assert_refused(await upload(client), 401, "UNAUTHORIZED", core)


async def test_bearer_header_is_accepted(client, secret_key):
    client.headers["Authorization"] = f"Bearer {secret_key}"
    assert (await upload(client)).status_code == 201


async def test_revoked_key_is_unauthorized(client, core):
    issued = await core.keys.issue("secret", (await core.projects.by_path("default/default")).id)
    await core.keys.revoke(issued.key.id)
    client.headers["X-API-Key"] = issued.secret
    await assert_refused(await upload(client), 401, "UNAUTHORIZED", core)


async def test_public_key_cannot_write(client, core):
    project = await core.projects.by_path("default/default")
    client.headers["X-API-Key"] = (await core.keys.issue("public", project.id)).secret
    await assert_refused(await upload(client), 403, "FORBIDDEN", core)


async def test_public_key_can_read(client, core):
    project = await core.projects.by_path("default/default")
    client.headers["X-API-Key"] = (await core.keys.issue("public", project.id)).secret
    assert (await client.get("/api/v1/images")).status_code == 200


async def test_failing_store_answers_503_and_leaves_no_row(api, core):
    project = await core.projects.by_path("default/default")
    # A file where the project's blob directory belongs: every write fails, even as root.
    (core.settings.data_dir / "blobs" / str(project.id)).write_bytes(b"")
    response = await upload(api)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "STORAGE_UNAVAILABLE"
    assert await row_count(core) == 0
