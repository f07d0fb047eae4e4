"""Public CDN URLs: bytes, transforms, caching headers, presets, signing and back-pressure."""

import asyncio
import hashlib
import uuid

import pytest
import pyvips

from pixvault.domain.errors import InvalidInput
from pixvault.domain.policy import signature
from pixvault.services.blobkeys import derivative_prefix
from tests.helpers import blob_keys, jpeg, uploaded


def decode(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


def dot_image(width: int = 800, height: int = 600, at: tuple[int, int] = (760, 40)) -> bytes:
    """White picture with a red dot near the top-right corner."""
    white = pyvips.Image.black(width, height).new_from_image([255, 255, 255]).cast("uchar")
    dot = pyvips.Image.black(20, 20).new_from_image([255, 0, 0]).cast("uchar")
    return white.insert(dot, at[0] - 10, at[1] - 10).pngsave_buffer()


def has_red(image: pyvips.Image) -> bool:
    r, g, b = image[0], image[1], image[2]
    mask = (r > 200) & (g < 60) & (b < 60)
    return mask.max() > 0


@pytest.fixture
async def image(api):
    return await uploaded(api, jpeg(400, 300), alias="@hero")


def cdn(image: dict, ref: str | None = None) -> str:
    return f"/default/default/img/{ref or image['id']}"


async def test_original_by_id_is_immutable_with_strong_etag(client, image, core):
    response = await client.get(cdn(image))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(response.content).hexdigest() == image["fileHash"]
    assert response.headers["etag"] == f'"{image["fileHash"]}"'
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-image-id"] == image["id"]
    assert response.headers["accept-ranges"] == "bytes"
    assert "last-modified" in response.headers


async def test_alias_url_gets_a_short_max_age(client, image):
    response = await client.get(cdn(image, "@hero"))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["x-image-id"] == image["id"]


async def test_if_none_match_gives_304(client, image):
    first = await client.get(cdn(image))
    again = await client.get(cdn(image), headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


async def test_head_sends_headers_only(client, image):
    response = await client.head(cdn(image))
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) == image["fileSize"]


async def test_single_range_gives_206(client, image):
    full = (await client.get(cdn(image))).content
    part = await client.get(cdn(image), headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == full[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(full)}"
    suffix = await client.get(cdn(image), headers={"Range": "bytes=-5"})
    assert suffix.content == full[-5:]


async def test_multi_range_is_refused(client, image):
    response = await client.get(cdn(image), headers={"Range": "bytes=0-1,5-6,9-10"})
    assert response.status_code == 416
    assert response.headers["content-range"].startswith("bytes */")


async def test_range_past_the_end_is_refused(client, image):
    response = await client.get(cdn(image), headers={"Range": "bytes=999999-"})
    assert response.status_code == 416


async def test_resize_and_convert(client, image):
    response = await client.get(cdn(image), params={"w": 100, "format": "webp"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    assert response.content[8:12] == b"WEBP"
    out = decode(response.content)
    assert (out.width, out.height) == (100, 75)
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({"w": 100, "h": 100, "fit": "cover"}, (100, 100)),
        ({"w": 100, "h": 100, "fit": "contain"}, (100, 100)),
        ({"w": 100, "h": 100, "fit": "fill"}, (100, 100)),
        ({"w": 100, "h": 100, "fit": "inside"}, (100, 75)),
        ({"w": 100, "h": 100, "fit": "outside"}, (133, 100)),
        ({"width": 100, "height": 50, "crop": "true"}, (100, 50)),
    ],
)
async def test_fit_modes_through_http(client, image, params, size):
    response = await client.get(cdn(image), params=params)
    assert response.status_code == 200, response.text
    out = decode(response.content)
    assert (out.width, out.height) == size


async def test_format_auto_follows_accept_and_varies(client, image):
    webp = await client.get(
        cdn(image), params={"w": 50, "f": "auto"}, headers={"Accept": "image/webp,*/*"}
    )
    assert webp.headers["content-type"] == "image/webp"
    assert webp.headers["vary"] == "Accept"
    plain = await client.get(cdn(image), params={"w": 50, "f": "auto"}, headers={"Accept": "*/*"})
    assert plain.headers["content-type"] == "image/jpeg"
    assert plain.headers["vary"] == "Accept"


async def test_equivalent_urls_share_one_derivative(client, image, core):
    a = await client.get(cdn(image), params=[("w", "64"), ("f", "webp"), ("q", "70")])
    b = await client.get(
        cdn(image), params=[("quality", "70"), ("format", "webp"), ("width", "64")]
    )
    assert a.headers["etag"] == b.headers["etag"]
    assert a.content == b.content
    prefix = derivative_prefix(uuid.UUID(image["projectId"]), uuid.UUID(image["id"]))
    assert len(await blob_keys(core, prefix)) == 1
    assert core.delivery.renders == 1


async def test_second_request_is_served_from_the_store(client, image, core):
    await client.get(cdn(image), params={"w": 80})
    hits = core.delivery.hits
    again = await client.get(cdn(image), params={"w": 80})
    assert again.status_code == 200
    assert core.delivery.hits == hits + 1
    assert core.delivery.renders == 1


async def test_hot_derivatives_are_served_from_memory(client, image, core):
    first = await client.get(cdn(image), params={"w": 90})
    prefix = derivative_prefix(uuid.UUID(image["projectId"]), uuid.UUID(image["id"]))
    await core.blobs.delete_prefix(prefix)  # memory alone must answer now
    again = await client.get(cdn(image), params={"w": 90})
    assert again.content == first.content
    assert core.delivery.renders == 1
    assert await blob_keys(core, prefix) == []


@pytest.mark.parametrize("settings_overrides", [{"derivative_memory_mb": 0}])
async def test_without_the_memory_cache_a_lost_derivative_is_rendered_again(client, image, core):
    first = await client.get(cdn(image), params={"w": 90})
    prefix = derivative_prefix(uuid.UUID(image["projectId"]), uuid.UUID(image["id"]))
    await core.blobs.delete_prefix(prefix)
    again = await client.get(cdn(image), params={"w": 90})
    assert again.content == first.content
    assert core.delivery.renders == 2
    assert len(await blob_keys(core, prefix)) == 1


async def test_a_deleted_image_is_not_served_from_memory(api, client, image):
    assert (await client.get(cdn(image), params={"w": 70})).status_code == 200
    await api.delete(f"/api/v1/images/{image['id']}")
    assert (await client.get(cdn(image), params={"w": 70})).status_code == 404


async def test_concurrent_requests_render_once(client, image, core):
    responses = await asyncio.gather(*(client.get(cdn(image), params={"w": 120}) for _ in range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert core.delivery.renders == 1


async def test_focal_point_crop_keeps_the_focal_region(api, client):
    image = await uploaded(api, dot_image())
    url = cdn(image)
    centre = await client.get(url, params={"w": 200, "h": 200, "crop": "true"})
    assert not has_red(decode(centre.content))
    await api.put(f"/api/v1/images/{image['id']}", json={"focalPoint": {"x": 0.95, "y": 0.07}})
    focal = await client.get(url, params={"w": 200, "h": 200, "crop": "true"})
    assert focal.status_code == 200
    assert has_red(decode(focal.content))
    assert focal.headers["etag"] != centre.headers["etag"]
    assert focal.headers["cache-control"] == "public, max-age=60"


async def test_changing_the_focal_point_changes_etag_and_bytes(api, client):
    image = await uploaded(api, dot_image())
    url = cdn(image)
    await api.put(f"/api/v1/images/{image['id']}", json={"focalPoint": {"x": 0.1, "y": 0.9}})
    before = await client.get(url, params={"w": 100, "h": 100, "crop": "focal"})
    await api.put(f"/api/v1/images/{image['id']}", json={"focalPoint": {"x": 0.95, "y": 0.07}})
    after = await client.get(url, params={"w": 100, "h": 100, "crop": "focal"})
    assert before.headers["etag"] != after.headers["etag"]
    assert before.content != after.content


async def test_derivatives_have_no_gps_while_the_original_keeps_it(api, client):
    source = pyvips.Image.black(64, 64).new_from_image([90, 90, 90]).cast("uchar").copy()
    source.set_type(pyvips.GValue.gstr_type, "exif-ifd3-GPSLatitude", "51/1 30/1 0/1")
    data = source.jpegsave_buffer()
    assert "exif-ifd3-GPSLatitude" in decode(data).get_fields()
    image = await uploaded(api, data)
    original = await client.get(cdn(image))
    assert original.content == data
    derived = decode((await client.get(cdn(image), params={"w": 32})).content)
    assert not any(f.startswith("exif") for f in derived.get_fields())


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"w": "0"}, "w"),
        ({"w": "abc"}, "w"),
        ({"w": "9000"}, "w"),
        ({"h": "-1"}, "h"),
        ({"fit": "stretch", "w": "10"}, "fit"),
        ({"q": "101", "w": "10"}, "q"),
        ({"q": "0", "w": "10"}, "q"),
        ({"dpr": "4", "w": "10"}, "dpr"),
        ({"format": "bmp"}, "format"),
        ({"gravity": "up", "w": "10", "h": "10", "crop": "true"}, "gravity"),
        ({"blur": "0"}, "blur"),
        ({"w": "6000", "h": "6000"}, "h"),
    ],
)
async def test_bad_transform_parameters_are_400_and_store_nothing(
    client, image, core, params, param
):
    response = await client.get(cdn(image), params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert param in error["message"]
    assert await blob_keys(core, f"{image['projectId']}/derived/") == []


async def test_unknown_project_and_image_are_404(client, image):
    assert (await client.get("/nobody/nothing/img/" + image["id"])).status_code == 404
    missing = await client.get(cdn(image, "01a1ff91-66ca-7281-abc2-6d27891a7d70"))
    assert missing.json()["error"]["code"] == "IMAGE_NOT_FOUND"
    assert (await client.get(cdn(image, "@nope"))).json()["error"]["code"] == "ALIAS_NOT_FOUND"


async def test_delete_removes_derivatives(api, client, image, core):
    await client.get(cdn(image), params={"w": 50})
    assert await blob_keys(core, f"{image['projectId']}/derived/") != []
    await api.delete(f"/api/v1/images/{image['id']}")
    assert await blob_keys(core) == []
    assert (await client.get(cdn(image))).status_code == 404


async def test_soft_deleted_images_are_not_served(api, client, image):
    await api.delete(f"/api/v1/images/{image['id']}", params={"mode": "soft"})
    assert (await client.get(cdn(image))).status_code == 404


# -- project policy: presets, presets-only, signing ------------------------------------------


async def set_settings(core, settings: dict) -> None:
    project = await core.projects.by_path("default/default")
    await core.projects.update_settings(project.id, settings)


async def test_presets(client, image, core):
    await set_settings(core, {"presets": {"thumb": "w=40&h=40&crop=true"}})
    response = await client.get(cdn(image), params={"preset": "thumb"})
    assert (decode(response.content).width, decode(response.content).height) == (40, 40)
    unknown = await client.get(cdn(image), params={"preset": "huge"})
    assert unknown.status_code == 400
    assert "thumb" in unknown.json()["error"]["message"]


async def test_presets_only_refuses_free_parameters(client, image, core):
    await set_settings(core, {"presets": {"thumb": "w=40"}, "presetsOnly": True})
    assert (await client.get(cdn(image), params={"w": 41})).status_code == 403
    assert (await client.get(cdn(image), params={"preset": "thumb"})).status_code == 200
    assert (await client.get(cdn(image))).status_code == 200


async def test_signed_urls_with_key_rotation(client, image, core):
    old, new = "old-secret-0123456789", "new-secret-0123456789"
    await set_settings(core, {"signingKeys": [new, old]})
    path = cdn(image)
    assert (await client.get(path, params={"w": 30})).status_code == 403
    for key in (new, old):
        sig = signature(key, path, "w=30&fit=inside")
        assert (await client.get(path, params={"width": 30, "s": sig})).status_code == 200
    wrong = signature("another-secret-000000", path, "w=30&fit=inside")
    refused = await client.get(path, params={"w": 30, "s": wrong})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert (await client.get(path)).status_code == 200


async def test_invalid_settings_are_refused(client, core):
    client.headers["X-API-Key"] = (await core.keys.issue("master")).secret
    project = await core.projects.by_path("default/default")
    url = f"/api/v1/admin/projects/{project.id}/settings"
    for settings in (
        {"presets": {"x": "w=abc"}},
        {"signingKeys": ["short"]},
        {"colour": "red"},
        {"avif": "yes"},
    ):
        response = await client.put(url, json={"settings": settings})
        assert response.status_code == 400, settings
    assert (await core.projects.get(project.id)).settings.as_document() == {}


async def test_the_core_refuses_invalid_settings_from_any_caller(core):
    project = await core.projects.by_path("default/default")
    with pytest.raises(InvalidInput, match="preset 'big'"):
        await core.projects.update_settings(project.id, {"presets": {"big": "w=9000"}})
    assert (await core.projects.get(project.id)).settings.as_document() == {}


@pytest.mark.parametrize("settings_overrides", [{"render_workers": 1, "render_queue": 0}])
async def test_full_render_queue_answers_429_with_retry_after(client, image):
    sizes = range(60, 70)
    responses = await asyncio.gather(*(client.get(cdn(image), params={"w": w}) for w in sizes))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429}
    assert 429 in statuses
    busy = next(r for r in responses if r.status_code == 429)
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"]["code"] == "RENDER_QUEUE_FULL"
    retry = await client.get(cdn(image), params={"w": 60 + statuses.index(429)})
    assert retry.status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"avif_by_default": False}])
async def test_avif_is_negotiated_only_where_the_project_enables_it(client, image, core):
    accept = {"Accept": "image/avif,image/webp,*/*"}
    before = await client.get(cdn(image), params={"w": 40, "f": "auto"}, headers=accept)
    assert before.headers["content-type"] == "image/webp"
    await set_settings(core, {"avif": True})
    after = await client.get(cdn(image), params={"w": 40, "f": "auto"}, headers=accept)
    assert after.headers["content-type"] == "image/avif"
    assert decode(after.content).width == 40
    assert after.headers["vary"] == "Accept"


async def test_auto_format_without_a_format_parameter_when_enabled(client, image, core):
    await set_settings(core, {"autoFormat": True})
    response = await client.get(cdn(image), params={"w": 40}, headers={"Accept": "image/webp"})
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["vary"] == "Accept"
