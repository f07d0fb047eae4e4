"""AVIF by default: `format=auto` picks AVIF, then WebP, then the original, from Accept; a
project may turn AVIF off."""

import pyvips

from tests.api.test_delivery import cdn, set_settings
from tests.helpers import jpeg, uploaded

ACCEPT_ALL = {"Accept": "image/avif,image/webp,*/*"}


async def test_auto_picks_avif_then_webp_then_the_original(api, client):
    image = await uploaded(api, jpeg(300, 200))
    avif = await client.get(cdn(image), params={"w": 50, "f": "auto"}, headers=ACCEPT_ALL)
    assert avif.headers["content-type"] == "image/avif"
    assert pyvips.Image.new_from_buffer(avif.content, "").width == 50
    webp = await client.get(
        cdn(image), params={"w": 50, "f": "auto"}, headers={"Accept": "image/webp,*/*"}
    )
    assert webp.headers["content-type"] == "image/webp"
    plain = await client.get(cdn(image), params={"w": 50, "f": "auto"}, headers={"Accept": "*/*"})
    assert plain.headers["content-type"] == "image/jpeg"
    assert {r.headers["vary"] for r in (avif, webp, plain)} == {"Accept"}


async def test_a_project_may_turn_avif_off(api, client, core):
    image = await uploaded(api, jpeg(300, 200))
    await set_settings(core, {"avif": False})
    response = await client.get(cdn(image), params={"w": 51, "f": "auto"}, headers=ACCEPT_ALL)
    assert response.headers["content-type"] == "image/webp"
