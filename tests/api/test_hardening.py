"""No input may cause a 5xx: each of these once answered 500; each is a 4xx in the envelope
and leaves nothing behind."""

import pytest
import pyvips

from tests.helpers import jpeg, nothing_stored, upload, uploaded


def refused(response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    return body["error"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/images?offset=9223372036854775808",
        "/api/v1/flows?offset=1e20",
        "/api/v1/flows?offset=9223372036854775808",
        "/api/v1/images?limit=9223372036854775808",
    ],
)
async def test_integers_past_int64_or_in_exponent_form(api, url):
    error = refused(await api.get(url))
    assert error["code"] == "VALIDATION_ERROR"


async def test_a_key_expiry_past_any_date_is_refused(client, core):
    client.headers["X-API-Key"] = (await core.keys.issue("master")).secret
    project = await core.projects.by_path("default/default")
    response = await client.post(
        "/api/v1/admin/keys", json={"projectId": str(project.id), "expiresInDays": 100000000000}
    )
    assert "expiresInDays" in refused(response)["message"]


async def test_deeply_nested_meta_on_upload_stores_nothing(api, core):
    before = await core.library.list(await core.projects.by_path("default/default"))
    response = await upload(api, jpeg(), meta="[" * 30000)
    assert "meta" in refused(response)["message"]
    after = await core.library.list(await core.projects.by_path("default/default"))
    assert after.total == before.total


async def test_deeply_nested_meta_on_put_is_refused_in_the_envelope(api):
    image = await uploaded(api)
    nested = {"a": 1}
    for _ in range(40):
        nested = {"n": nested}
    response = await api.put(f"/api/v1/images/{image['id']}", json={"meta": nested})
    assert "meta" in refused(response)["message"]


@pytest.mark.parametrize(
    "url",
    [
        "/default/default/img/@a%00b",
        "/api/v1/images/@a%00b",
        "/api/v1/images?alias=%00",
        "/def%00ault/default/img/@a",
    ],
)
async def test_nul_bytes_anywhere_are_a_4xx(api, url):
    response = await api.get(url)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["success"] is False


@pytest.mark.parametrize("name", [b"a" * 300 + b".jpg", b"bad\x00name.jpg"])
async def test_unstorable_file_names_are_refused(api, core, name):
    """Sent as raw bytes: clients would escape a NUL, an attacker does not."""
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + jpeg() + b"\r\n--b--\r\n"
    )
    response = await api.post(
        "/api/v1/images/upload",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert refused(response)["code"] == "VALIDATION_ERROR"
    assert await nothing_stored(core)


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/images?tag=home", "tag"),
        ("/api/v1/flows?page=2", "page"),
    ],
)
async def test_unknown_query_parameters_on_lists_are_named(api, url, param):
    error = refused(await api.get(url))
    assert param in error["message"]


def animated_webp(side: int, frames: int) -> bytes:
    """A real animation: `frames` different frames of side x side (identical ones would merge)."""
    noise = pyvips.Image.gaussnoise(side, side * frames).cast("uchar")
    strip = noise.bandjoin([noise, noise]).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", side)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [50] * frames)
    return strip.webpsave_buffer(Q=50, effort=0)


@pytest.mark.parametrize("settings_overrides", [{"max_source_pixels": 200 * 200 * 20}])
async def test_an_animation_counts_every_frame_against_the_pixel_limit(api, core):
    response = await upload(
        api, animated_webp(200, 30), filename="a.webp", content_type="image/webp"
    )
    assert refused(response)["code"] == "IMAGE_TOO_LARGE"
    assert await nothing_stored(core)
    fits = await upload(api, animated_webp(200, 10), filename="b.webp", content_type="image/webp")
    assert fits.status_code == 201, fits.text


@pytest.mark.parametrize("settings_overrides", [{"max_frames": 25}])
async def test_an_animation_over_the_frame_cap_is_refused(api, core):
    response = await upload(
        api, animated_webp(16, 40), filename="a.webp", content_type="image/webp"
    )
    error = refused(response)
    assert error["code"] == "IMAGE_TOO_LARGE" and "40 frames" in error["message"]
    assert await nothing_stored(core)
