"""Slink uploads: signed in, guest and with a user's key (contract: "Uploads")."""

import os
import re
import uuid

import pytest

from tests.helpers import blob_keys, jpeg, nothing_stored, png, row_count, webp
from tests.slink.support import (
    bmp,
    decode,
    denied,
    detail,
    error,
    gif,
    invalid_api_key,
    is_uuid,
    missing_api_key,
    send_upload,
    violations,
)


async def get_image(core, project, image_id):
    return await core.library.get(project, uuid.UUID(image_id))


def key_auth(secret):
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
async def alice_key(core, alice, project):
    return (await core.keys.issue("secret", project.id, user_id=uuid.UUID(alice.id))).secret


# -- /api/upload ---------------------------------------------------------------------------


async def test_upload_is_private_by_default_and_owned(client, core, project, alice):
    """The same bytes twice: two images (no deduplication)."""
    made = set()
    for method in ("POST", "PUT"):
        picture = jpeg(80, 60)
        response = await send_upload(client, alice.auth, picture, method=method)
        assert response.status_code == 201, response.text
        assert list(response.json()) == ["id"]
        image_id = response.json()["id"]
        assert is_uuid(image_id)
        assert response.headers["location"] == f"image/{image_id}/detail"
        image = await get_image(core, project, image_id)
        assert (str(image.owner_id), image.is_public, image.description) == (alice.id, False, None)
        assert (image.width, image.height, image.mime_type) == (80, 60, "image/jpeg")
        assert await core.blobs.get(image.storage_key) == picture
        made.add(image_id)
    assert len(made) == 2 and await row_count(core) == 2


async def test_upload_fields(client, core, project, alice):
    for value, public in (("true", True), ("1", True), ("false", False), ("0", False)):
        image_id = (await send_upload(client, alice.auth, isPublic=value)).json()["id"]
        assert (await get_image(core, project, image_id)).is_public is public, value
    response = await send_upload(
        client,
        alice.auth,
        description="d" * 255,
        isPublic="true",
        **{"tagIds[]": str(uuid.uuid4()), "collectionIds[]": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text
    image = await get_image(core, project, response.json()["id"])
    assert image.description == "d" * 255 and image.is_public


async def test_bad_fields_or_no_token_store_nothing(client, core, alice):
    violations(await send_upload(client, alice.auth, isPublic="maybe"), "isPublic")
    violations(await send_upload(client, alice.auth, description="d" * 256), "description")
    response = await send_upload(client, {})
    assert response.status_code == 401
    assert response.json()["message"] == "JWT Token not found"
    assert await nothing_stored(core)


# -- what is accepted ----------------------------------------------------------------------


async def test_jpeg_png_webp_and_gif_keep_their_type(client, core, project, alice):
    for data, mime, ext in (
        (jpeg(), "image/jpeg", "jpg"),
        (png(), "image/png", "png"),
        (webp(), "image/webp", "webp"),
        (gif(), "image/gif", "gif"),
    ):
        # The type comes from the bytes, whatever the client says.
        response = await send_upload(
            client, alice.auth, data, filename="upload.bin", content_type="application/octet-stream"
        )
        assert response.status_code == 201, (mime, response.text)
        found = await detail(client, alice, response.json()["id"])
        assert found["mimeType"] == mime
        assert found["fileName"] == f"{found['id']}.{ext}"
        served = await client.get(f"/image/{found['id']}.{ext}")
        assert served.status_code == 200 and served.content == data


async def test_animated_gif_is_accepted_with_its_frames(client, core, project, alice):
    animated = gif(40, 30, frames=3)
    image_id = (await send_upload(client, alice.auth, animated, filename="a.gif")).json()["id"]
    found = await detail(client, alice, image_id)
    assert (found["mimeType"], found["width"], found["height"]) == ("image/gif", 40, 30)
    served = await client.get(f"/image/{image_id}.gif")
    assert served.content == animated
    assert decode(served.content).get("n-pages") == 3


async def test_bmp_is_accepted_and_stored_as_png(client, core, project, alice):
    response = await send_upload(
        client, alice.auth, bmp(40, 30), filename="p.bmp", content_type="image/bmp"
    )
    assert response.status_code == 201, response.text
    image_id = response.json()["id"]
    found = await detail(client, alice, image_id)
    assert (found["mimeType"], found["width"], found["height"]) == ("image/png", 40, 30)
    assert found["fileName"] == f"{image_id}.png"
    stored = await core.blobs.get((await get_image(core, project, image_id)).storage_key)
    assert stored.startswith(b"\x89PNG")
    served = await client.get(f"/image/{image_id}.png")
    assert served.headers["content-type"] == "image/png" and served.content == stored


@pytest.mark.parametrize("settings_overrides", [{"slink_max_upload_bytes": 2000}])
async def test_a_file_over_the_slink_limit_is_a_violation_of_image(client, core, alice):
    big = jpeg(400, 300)
    assert len(big) > 2000
    violations(await send_upload(client, alice.auth, big), "image")
    assert await nothing_stored(core)
    # Far over the limit: refused from the declared length, the same way.
    huge = b"\xff\xd8\xff\xe0" + os.urandom(400_000)
    violations(await send_upload(client, alice.auth, huge), "image")
    assert await nothing_stored(core)
    small = png(8, 8)
    assert len(small) < 2000
    assert (await send_upload(client, alice.auth, small)).status_code == 201


@pytest.mark.parametrize("settings_overrides", [{"max_upload_bytes": 1000}])
async def test_the_slink_limit_is_its_own(client, core, api, alice):
    """The native limit does not apply to Slink uploads (default 15 MB)."""
    picture = jpeg(200, 150)
    assert len(picture) > 1000
    assert (await send_upload(client, alice.auth, picture)).status_code == 201
    native = await api.post(
        "/api/v1/images/upload", files={"file": ("a.jpg", picture, "image/jpeg")}
    )
    assert native.status_code in (400, 413), native.text  # refused under its own limit
    assert core.settings.slink_max_upload_bytes == 15 * 1024 * 1024


@pytest.mark.parametrize("settings_overrides", [{"slink_max_upload_bytes": 2000}])
async def test_the_too_large_message_is_slinks(client, alice):
    message = violations(await send_upload(client, alice.auth, jpeg(400, 300)), "image")["image"]
    assert re.fullmatch(r"The file is too large \(.+\)\. Allowed maximum size is .+", message)


async def test_wrong_empty_broken_or_missing_files_are_violations_of_image(client, core, alice):
    cases = {
        "text": (b"hello, this is not an image at all", "text/plain", None),
        "pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "application/pdf", None),
        "empty": (b"", "image/jpeg", None),
        "truncated": (jpeg(200, 150)[:300], "image/jpeg", None),
        "other field": (jpeg(), "image/jpeg", "file"),
    }
    for name, (data, content_type, field) in cases.items():
        response = await send_upload(
            client, alice.auth, data, content_type=content_type, field=field or "image"
        )
        try:
            violations(response, "image")
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None
    for body in ({"data": {"description": "no file"}}, {"json": {"image": "x"}}, {}):
        violations(await client.post("/api/upload", headers=alice.auth, **body), "image")
    assert await nothing_stored(core)


async def test_a_refused_type_is_named_by_its_mime_type(client, alice):
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    response = await send_upload(
        client, alice.auth, pdf, filename="a.pdf", content_type="application/pdf"
    )
    assert "application/pdf" in violations(response, "image")["image"]


# -- /api/guest/upload ---------------------------------------------------------------------


async def test_guest_upload_when_disabled_is_403_and_stores_nothing(client, core):
    for method in ("POST", "PUT"):
        error(await send_upload(client, {}, path="/api/guest/upload", method=method), 403)
    assert await nothing_stored(core)


@pytest.mark.parametrize("settings_overrides", [{"guest_uploads": True}])
async def test_guest_upload_is_public_and_has_no_owner(client, core, project, alice):
    for method in ("POST", "PUT"):
        response = await send_upload(
            client, {}, path="/api/guest/upload", method=method, isPublic="false"
        )
        assert response.status_code == 201, response.text
        assert list(response.json()) == ["id"]
        assert "location" not in response.headers
        image = await get_image(core, project, response.json()["id"])
        assert image.is_public is True and image.owner_id is None
        denied(await client.get(f"/api/image/{image.id}/detail", headers=alice.auth))
    violations(await send_upload(client, {}, b"", path="/api/guest/upload"), "image")
    assert await row_count(core) == 2


# -- /api/external/upload ------------------------------------------------------------------


async def test_external_upload_answers_relative_urls(client, core, project, alice, alice_key):
    for method in ("POST", "PUT"):
        picture = jpeg(640, 480)
        response = await send_upload(
            client, key_auth(alice_key), picture, path="/api/external/upload", method=method
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert list(body) == ["url", "thumbnailUrl", "id"]
        image_id = body["id"]
        assert is_uuid(image_id)
        assert body["url"] == f"image/{image_id}.jpg"
        assert body["thumbnailUrl"] == f"image/{image_id}.jpg?width=300&height=300&crop=true"
        image = await get_image(core, project, image_id)
        assert str(image.owner_id) == alice.id and image.is_public is False
        assert (await client.get("/" + body["url"])).content == picture
        thumb = await client.get("/" + body["thumbnailUrl"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert (decode(thumb.content).width, decode(thumb.content).height) == (300, 300)
    public = await send_upload(
        client, key_auth(alice_key), path="/api/external/upload", isPublic="true"
    )
    assert (await get_image(core, project, public.json()["id"])).is_public is True


async def test_external_upload_url_extension_follows_the_type(client, alice_key):
    for data, ext in ((png(), "png"), (webp(), "webp"), (gif(), "gif"), (bmp(), "png")):
        body = (
            await send_upload(client, key_auth(alice_key), data, path="/api/external/upload")
        ).json()
        assert body["url"] == f"image/{body['id']}.{ext}"
        assert body["thumbnailUrl"].startswith(f"image/{body['id']}.{ext}?")


async def test_external_upload_refuses_anything_but_a_users_own_sk_key(
    client, core, project, alice, secret_key
):
    other = await core.projects.create("other", "site")
    user_id = uuid.UUID(alice.id)
    revoked = await core.keys.issue("secret", project.id, user_id=user_id)
    await core.keys.revoke(revoked.key.id)
    refused = {
        "unknown": "sk_" + "0" * 64,
        "garbage": "not-a-key",
        "revoked": revoked.secret,
        "project key (no user)": secret_key,
        "master": (await core.keys.issue("master")).secret,
        "public": (await core.keys.issue("public", project.id, user_id=user_id)).secret,
        "public (no user)": (await core.keys.issue("public", project.id)).secret,
        "other project": (await core.keys.issue("secret", other.id, user_id=user_id)).secret,
        "jwt": alice.access,
    }
    for name, secret in refused.items():
        for method in ("POST", "PUT"):
            response = await send_upload(
                client, key_auth(secret), path="/api/external/upload", method=method
            )
            try:
                invalid_api_key(response)
            except AssertionError as exc:
                raise AssertionError(f"{name}: {exc}") from None
    missing_api_key(await send_upload(client, {}, path="/api/external/upload"))
    assert await nothing_stored(core)


async def test_external_upload_violations(client, core, alice_key):
    auth = key_auth(alice_key)
    violations(await send_upload(client, auth, b"", path="/api/external/upload"), "image")
    violations(await send_upload(client, auth, b"nope", path="/api/external/upload"), "image")
    violations(
        await send_upload(client, auth, path="/api/external/upload", isPublic="perhaps"), "isPublic"
    )
    assert await nothing_stored(core)
    assert await blob_keys(core) == []
