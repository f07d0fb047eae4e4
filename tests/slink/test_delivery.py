"""Slink delivery: `/image/{id}.{ext}` and `/api/image/{id}.{ext}` (contract: "Delivery")."""

import uuid

import pytest

from tests.helpers import jpeg, png
from tests.slink.support import (
    decode,
    detail,
    error,
    gif,
    names_param,
    not_found,
    size_of,
    upload_id,
)

PREFIXES = ("/image", "/api/image")
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
async def photo(client, alice):
    """A private 400x300 JPEG of alice's: (id, bytes)."""
    data = jpeg(400, 300)
    return await upload_id(client, alice, data), data


async def test_same_extension_serves_the_original_bytes(client, alice, photo):
    image_id, data = photo
    for prefix in PREFIXES:
        for ext in ("jpg", "jpeg", "JPG"):
            response = await client.get(f"{prefix}/{image_id}.{ext}")
            assert response.status_code == 200, (prefix, ext, response.text)
            assert response.headers["content-type"] == "image/jpeg"
            assert response.content == data
            assert response.headers["cache-control"] == IMMUTABLE
    # No credential of any kind is needed, and the image is private.
    assert (await detail(client, alice, image_id))["isPublic"] is False


async def test_the_extension_is_the_output_format(client, photo):
    image_id, _ = photo
    for prefix in PREFIXES:
        for ext, mime in (
            ("png", "image/png"),
            ("webp", "image/webp"),
            ("gif", "image/gif"),
            ("avif", "image/avif"),
        ):
            response = await client.get(f"{prefix}/{image_id}.{ext}")
            assert response.status_code == 200, (ext, response.text)
            assert response.headers["content-type"] == mime
            assert size_of(response.content) == (400, 300)


async def test_width_and_height_under_either_name(client, photo):
    image_id, _ = photo
    cases = {
        "w=200": (200, 150),
        "width=200": (200, 150),
        "h=75": (100, 75),
        "height=75": (100, 75),
        "w=200&h=200": (200, 150),
        "width=100&height=30": (40, 30),
        "w=100&h=100&crop=false": (100, 75),
        # never upscale: a box larger than the image serves its size
        "width=1000": (400, 300),
        "height=900": (400, 300),
        "w=800&h=8192": (400, 300),
    }
    for prefix in PREFIXES:
        for query, expected in cases.items():
            response = await client.get(f"{prefix}/{image_id}.jpg?{query}")
            assert response.status_code == 200, (query, response.text)
            assert response.headers["content-type"] == "image/jpeg"
            assert size_of(response.content) == expected, query


async def test_crop(client, photo):
    image_id, _ = photo
    cases = {
        "width=100&height=100&crop=true": (100, 100),
        "w=120&h=40&crop=1": (120, 40),
        "width=100&crop=true": (100, 100),
        "height=50&crop=1": (50, 50),
        "w=300&h=300&crop=true": (300, 300),
    }
    for prefix in PREFIXES:
        for query, expected in cases.items():
            response = await client.get(f"{prefix}/{image_id}.png?{query}")
            assert response.status_code == 200, (query, response.text)
            assert size_of(response.content) == expected, query
    # Slink's signature is ignored.
    response = await client.get(f"/image/{image_id}.jpg?width=300&height=300&crop=true&s=abc123")
    assert response.status_code == 200, response.text
    assert size_of(response.content) == (300, 300)


async def test_crop_box_larger_than_the_image_does_not_crop(client, photo):
    image_id, _ = photo
    for query in ("width=1000&height=1000&crop=true", "width=1000&crop=true"):
        response = await client.get(f"/image/{image_id}.jpg?{query}")
        assert size_of(response.content) == (400, 300), query


async def test_a_large_box_within_the_side_limit_serves_the_image(client, photo):
    image_id, _ = photo
    response = await client.get(f"/image/{image_id}.jpg?width=6000&height=6000")
    assert response.status_code == 200, response.text
    assert size_of(response.content) == (400, 300)


async def test_quality_under_either_name_re_encodes(client, photo):
    image_id, data = photo
    low = await client.get(f"/image/{image_id}.jpg?q=10")
    assert low.status_code == 200 and low.headers["content-type"] == "image/jpeg"
    assert low.content != data and size_of(low.content) == (400, 300)
    assert (await client.get(f"/image/{image_id}.jpg?quality=10")).content == low.content
    high = await client.get(f"/api/image/{image_id}.jpg?quality=100")
    assert len(high.content) > len(low.content)


BAD = [
    ("width=abc", "w"),
    ("w=abc", "w"),
    ("w=0", "w"),
    ("w=-5", "w"),
    ("w=8193", "w"),
    ("width=1.5", "w"),
    ("h=abc", "h"),
    ("height=0", "h"),
    ("h=9000", "h"),
    ("q=0", "q"),
    ("quality=101", "q"),
    ("q=abc", "q"),
    ("w=100&h=100&crop=maybe", "crop"),
]


async def test_bad_values_are_400_naming_the_parameter(client, core, project, photo):
    image_id, _ = photo
    for prefix in PREFIXES:
        for query, param in BAD:
            response = await client.get(f"{prefix}/{image_id}.jpg?{query}")
            try:
                names_param(response, param)
            except AssertionError as exc:
                raise AssertionError(f"{query}: {exc}") from None
    for prefix in PREFIXES:
        for ext in ("txt", "exe", "jpgx"):
            error(await client.get(f"{prefix}/{image_id}.{ext}"), 400)
    # Refused requests count no view.
    await core.views.flush()
    assert (await core.library.get(project, uuid.UUID(image_id))).views == 0


async def test_bad_values_name_the_parameter_as_sent(client, photo):
    image_id, _ = photo
    for query, param in (("width=abc", "width"), ("height=0", "height"), ("quality=0", "quality")):
        names_param(await client.get(f"/image/{image_id}.jpg?{query}"), param)


async def test_unknown_and_deleted_images_are_not_found(client, alice, photo):
    image_id, _ = photo
    gone = await upload_id(client, alice)
    assert (await client.delete(f"/api/image/{gone}", headers=alice.auth)).status_code == 204
    soft = await upload_id(client, alice)
    response = await client.request(
        "DELETE", f"/api/image/{soft}", json={"preserveOnDisk": True}, headers=alice.auth
    )
    assert response.status_code == 204
    for prefix in PREFIXES:
        for name in (
            f"{uuid.uuid4()}.jpg",
            f"{uuid.uuid1()}.png",
            f"{gone}.jpg",
            f"{soft}.jpg",
            f"{soft}.png?width=10",
            image_id,
        ):
            not_found(await client.get(f"{prefix}/{name}"))


async def test_a_non_uuid_id_is_not_found(client):
    for prefix in PREFIXES:
        not_found(await client.get(f"{prefix}/not-a-uuid.jpg"))


async def test_every_delivery_counts_a_view(client, core, project, alice, photo):
    image_id, _ = photo
    urls = [
        f"/image/{image_id}.jpg",
        f"/api/image/{image_id}.jpg",
        f"/image/{image_id}.png?width=50",
        f"/api/image/{image_id}.webp?w=20&h=20&crop=true",
        f"/image/{image_id}.jpg",
    ]
    for url in urls:
        assert (await client.get(url)).status_code == 200
    # Pending views show at once in the detail; flushed ones are stored, not doubled.
    assert (await detail(client, alice, image_id))["views"] == 5
    await core.views.flush()
    assert (await core.library.get(project, uuid.UUID(image_id))).views == 5
    assert (await detail(client, alice, image_id))["views"] == 5
    assert (await client.get(f"/image/{image_id}.jpg")).status_code == 200
    assert (await detail(client, alice, image_id))["views"] == 6


async def test_png_and_gif_sources(client, alice):
    """Other stored types convert too; an animated GIF keeps its frames as GIF or WebP."""
    png_id = await upload_id(client, alice, png(64, 48))
    response = await client.get(f"/image/{png_id}.jpg?width=32")
    assert response.headers["content-type"] == "image/jpeg"
    assert size_of(response.content) == (32, 24)
    gif_id = await upload_id(client, alice, gif(40, 30))
    response = await client.get(f"/image/{gif_id}.webp")
    assert response.headers["content-type"] == "image/webp"
    assert size_of(response.content) == (40, 30)
    gif_id = await upload_id(client, alice, gif(40, 30, frames=3))
    for ext in ("gif", "webp"):
        response = await client.get(f"/image/{gif_id}.{ext}?width=20")
        assert response.status_code == 200, response.text
        image = decode(response.content)
        assert image.width == 20 and image.get("n-pages") == 3


async def test_an_animated_gif_as_jpg_or_png_is_a_still(client, alice):
    gif_id = await upload_id(client, alice, gif(40, 30, frames=3))
    for ext, mime in (("jpg", "image/jpeg"), ("png", "image/png")):
        response = await client.get(f"/image/{gif_id}.{ext}")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == mime
        assert size_of(response.content) == (40, 30)
