"""Placeholders delivered: `format=blurhash` (the stored BlurHash as text, the original never
read) and `format=lqip` (a 32-pixel WebP of a few hundred bytes) on every surface."""

import pytest
import pyvips
from sqlalchemy import update

from pixvault.db.tables import images
from tests.api.test_delivery import set_settings
from tests.helpers import blob_keys, jpeg, uploaded
from tests.vaults.support import sdk_uploaded

IMMUTABLE = "public, max-age=31536000, immutable"


def photo() -> bytes:
    """A 400x250 photo-like JPEG (a gradient, so the placeholder has something to show)."""
    xy = pyvips.Image.xyz(400, 250)
    image = (xy[0] * 255 / 400).bandjoin([xy[1] * 255 / 250, xy[0] * 0 + 90]).cast("uchar")
    return image.jpegsave_buffer(Q=90)


@pytest.fixture
async def image(api):
    return await uploaded(api, photo())


async def test_native_blurhash_is_the_stored_text_without_the_original(client, core, image):
    url = f"/default/default/img/{image['id']}"
    # The original's bytes are gone: a placeholder that needed them would fail.
    for key in await blob_keys(core):
        if "/originals/" in key:
            await core.blobs.delete(key)
    response = await client.get(url, params={"format": "blurhash"})
    assert response.status_code == 200, response.text
    assert response.text == image["blurhash"]
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == IMMUTABLE
    etag = response.headers["etag"]
    again = await client.get(url, params={"f": "BLURHASH"}, headers={"If-None-Match": etag})
    assert (again.status_code, again.content) == (304, b"")
    head = await client.head(url, params={"format": "blurhash"})
    assert head.headers["content-length"] == str(len(image["blurhash"]))
    assert [k for k in await blob_keys(core) if "/derived/" in k] == []


async def test_native_lqip_is_a_tiny_webp_shared_with_its_spelled_out_form(client, core, image):
    url = f"/default/default/img/{image['id']}"
    response = await client.get(url, params={"format": "lqip"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/webp"
    assert len(response.content) <= 1024
    small = pyvips.Image.new_from_buffer(response.content, "")
    assert (small.width, small.height) == (32, 20)
    spelled = await client.get(url, params="w=32&h=32&fit=inside&format=webp&q=40")
    assert spelled.headers["etag"] == response.headers["etag"]
    assert spelled.content == response.content
    assert len([k for k in await blob_keys(core) if "/derived/" in k]) == 1


@pytest.mark.parametrize("query", ["format=blurhash&w=10", "format=lqip&q=90", "f=lqip&blur=3"])
async def test_a_placeholder_with_other_parameters_is_a_400(client, core, image, query):
    response = await client.get(f"/default/default/img/{image['id']}?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "takes no other parameters" in error["message"]
    assert [k for k in await blob_keys(core) if "/derived/" in k] == []


async def test_slink_placeholders_whatever_the_extension(client, image):
    for ext in ("jpg", "png", "webp"):
        text = await client.get(f"/image/{image['id']}.{ext}", params={"format": "blurhash"})
        assert (text.status_code, text.text) == (200, image["blurhash"])
        lqip = await client.get(f"/image/{image['id']}.{ext}", params={"format": "lqip"})
        assert lqip.status_code == 200, lqip.text
        assert lqip.headers["content-type"] == "image/webp"
        assert len(lqip.content) <= 1024


async def test_slink_placeholder_with_a_size_is_a_400_in_slink_envelope(client, image):
    response = await client.get(f"/image/{image['id']}.jpg", params="format=lqip&width=10")
    assert response.status_code == 400
    assert "takes no other parameters" in response.text


async def test_vault_placeholders(client, secret_key):
    asset = await sdk_uploaded(client, secret_key, photo(), filename="photo.jpg")
    path = asset["url"].removeprefix("http://cdn.test")
    text = await client.get(path, params={"format": "blurhash"})
    assert text.status_code == 200, text.text
    assert text.text == asset["blurhash"]
    assert text.headers["cache-control"] == "public, max-age=60"  # a path can change
    lqip = await client.get(path, params={"format": "lqip"})
    assert (lqip.status_code, lqip.headers["content-type"]) == (200, "image/webp")
    assert len(lqip.content) <= 1024
    bad = await client.get(path, params="format=blurhash&w=5")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "INVALID_PARAMS"


@pytest.mark.parametrize("settings_overrides", [{"lookup_cache_seconds": 0}])
async def test_an_image_without_a_stored_blurhash_is_a_400_naming_lqip(client, core, api):
    image = await uploaded(api, jpeg(40, 30))
    async with core.db.write() as conn:  # as if uploaded before placeholders were made
        await conn.execute(update(images).values(blurhash=None))
    response = await client.get(f"/default/default/img/{image['id']}?format=blurhash")
    assert response.status_code == 400
    assert "format=lqip" in response.json()["error"]["message"]


async def test_placeholders_need_no_signature_and_pass_presets_only(client, core, image):
    url = f"/default/default/img/{image['id']}"
    await set_settings(core, {"signingKeys": ["a-signing-key-of-16+"]})
    assert (await client.get(url, params={"w": 10})).status_code == 403
    assert (await client.get(url, params={"format": "blurhash"})).status_code == 200
    assert (await client.get(url, params={"format": "lqip"})).status_code == 200
    await set_settings(core, {"presets": {"thumb": "w=40"}, "presetsOnly": True})
    assert (await client.get(url, params={"w": 10})).status_code == 403
    assert (await client.get(url, params={"f": "lqip"})).status_code == 200
    # With a preset it is two transforms at once: refused, neither silently dropped.
    mixed = await client.get(url, params={"preset": "thumb", "format": "lqip"})
    assert mixed.json()["error"]["code"] == "PRESETS_ONLY"
    await set_settings(core, {"presets": {"thumb": "w=40"}})
    mixed = await client.get(url, params={"preset": "thumb", "format": "lqip"})
    assert mixed.status_code == 400
    assert "takes no other parameters" in mixed.json()["error"]["message"]
