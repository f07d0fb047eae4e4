"""imgbt's operations exist once in the core: every surface's delivery URL can use them."""

import pyvips

from tests.helpers import jpeg, uploaded


def decode(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


async def test_rotate_and_grayscale_through_the_native_cdn_url(api, client):
    image = await uploaded(api, jpeg(120, 60, (200, 30, 30)))
    url = f"/default/default/img/{image['id']}"
    rotated = decode((await client.get(url, params={"rt": "90"})).content)
    assert (rotated.width, rotated.height) == (60, 120)
    grey = decode((await client.get(url, params={"grayscale": "true", "format": "png"})).content)
    r, g, b = (grey[i].avg() for i in range(3))
    assert abs(r - g) < 1 and abs(g - b) < 1


async def test_an_effect_alone_is_never_the_untouched_original(api, client):
    image = await uploaded(api, jpeg(80, 40))
    url = f"/default/default/img/{image['id']}"
    original = (await client.get(url)).content
    blurred = await client.get(url, params={"blur": "10"})
    assert blurred.status_code == 200
    assert blurred.content != original


async def test_slink_urls_take_the_new_operations_too(api, client, core):
    image = await uploaded(api, jpeg(100, 50))
    response = await client.get(
        f"/image/{image['id']}.png", params={"rt": "270", "border": "5,ff0000"}
    )
    assert response.status_code == 200
    out = decode(response.content)
    assert (out.width, out.height) == (60, 110)
