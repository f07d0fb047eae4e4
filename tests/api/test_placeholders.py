"""Every image gets a placeholder at upload: a BlurHash and its average colour, in every
surface's JSON."""

import uuid

import blurhash

from tests.helpers import jpeg, png, uploaded


async def test_a_red_jpeg_gets_a_red_placeholder(api):
    image = await uploaded(api, jpeg(300, 200, (220, 20, 20)))
    assert image["dominantColor"].startswith("#")
    red, green, blue = (int(image["dominantColor"][i : i + 2], 16) for i in (1, 3, 5))
    assert red > 180 and green < 60 and blue < 60
    decoded = blurhash.decode(image["blurhash"], 4, 3)
    assert all(pixel[0] > 150 for row in decoded for pixel in row)


async def test_the_placeholder_is_stored_with_the_image(api, core):
    image = await uploaded(api, png(40, 30))
    project = await core.projects.by_path("default/default")
    stored = await core.library.get(project, uuid.UUID(image["id"]))
    assert stored.blurhash == image["blurhash"] and stored.dominant_color == image["dominantColor"]
    assert len(image["blurhash"]) >= 6
