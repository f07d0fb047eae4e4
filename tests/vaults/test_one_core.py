"""One core: an asset of the vault surface is the same image on the native API."""

import hashlib
import json

from tests.helpers import png
from tests.vaults.support import bearer, error, image_uuid


async def test_an_asset_is_the_same_image_through_the_native_api(client, sk, put):
    data = png(30, 20)
    asset = await put(data, filename="shared.png", metadata='{"alt": "a cat"}')
    image_id = image_uuid(asset)
    native = await client.get(f"/api/v1/images/{image_id}", headers={"X-API-Key": sk})
    assert native.status_code == 200, native.text
    image = native.json()["data"]
    assert image["id"] == str(image_id)
    assert (image["mimeType"], image["width"], image["height"], image["fileSize"]) == (
        "image/png",
        30,
        20,
        len(data),
    )
    assert image["fileHash"] == hashlib.sha256(data).hexdigest()
    assert image["meta"] == {"alt": "a cat"}
    cdn = await client.get(f"/default/default/img/{image_id}")
    assert cdn.status_code == 200 and cdn.content == data

    # a change on one surface is seen on the other
    patched = await client.patch(
        f"/v1/assets/{asset['id']}", json={"metadata": {"alt": None, "k": 1}}, headers=bearer(sk)
    )
    assert json.loads(patched.json()["metadata"]) == {"k": 1}
    native = await client.get(f"/api/v1/images/{image_id}", headers={"X-API-Key": sk})
    assert native.json()["data"]["meta"] == {"k": 1}
    deleted = await client.delete(f"/api/v1/images/{image_id}", headers={"X-API-Key": sk})
    assert deleted.status_code == 200, deleted.text
    error(await client.get(f"/v1/assets/{asset['id']}", headers=bearer(sk)), 404, "ASSET_NOT_FOUND")
    assert (await client.get(asset["url"].removeprefix("http://cdn.test"))).status_code == 404
