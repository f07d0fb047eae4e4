"""Revalidations and redirects answer from metadata: they never read a derivative's bytes."""

import pytest

from tests.helpers import jpeg, uploaded
from tests.s3 import MotoServer, s3_settings


@pytest.fixture
def reads(core, monkeypatch):
    """Counts every read the blob store serves (whole objects and ranges)."""
    counted: list[str] = []
    blobs = core.blobs
    get, get_range = blobs.get, blobs.get_range

    async def counting_get(key):
        counted.append(key)
        return await get(key)

    async def counting_range(key, start, end):
        counted.append(key)
        return await get_range(key, start, end)

    monkeypatch.setattr(blobs, "get", counting_get)
    monkeypatch.setattr(blobs, "get_range", counting_range)
    return counted


def cdn(image: dict) -> str:
    return f"/default/default/img/{image['id']}"


@pytest.mark.parametrize("settings_overrides", [{"derivative_memory_mb": 0}])
async def test_a_304_on_a_derivative_reads_nothing_from_the_store(api, client, reads):
    image = await uploaded(api, jpeg(300, 200))
    first = await client.get(cdn(image), params={"w": 90})
    assert first.status_code == 200
    reads.clear()
    again = await client.get(
        cdn(image), params={"w": 90}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.headers["etag"] == first.headers["etag"]
    assert reads == []
    served = await client.get(cdn(image), params={"w": 90})
    assert served.content == first.content
    assert len(reads) == 1  # a plain GET does read it: the counter counts


async def test_a_304_or_head_on_an_original_reads_nothing(api, client, reads):
    image = await uploaded(api, jpeg(120, 80))
    etag = f'"{image["fileHash"]}"'
    reads.clear()
    assert (await client.get(cdn(image), headers={"If-None-Match": etag})).status_code == 304
    head = await client.head(cdn(image))
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == image["fileSize"]
    assert reads == []


@pytest.fixture
def redirect_on_s3(moto_server: MotoServer, s3_bucket: str) -> dict[str, object]:
    return {
        **s3_settings(moto_server.endpoint, s3_bucket),
        "delivery_mode": "redirect",
        "derivative_memory_mb": 0,
    }


@pytest.fixture
def settings_overrides(request) -> dict[str, object]:
    if "redirect_on_s3" in request.fixturenames:
        return request.getfixturevalue("redirect_on_s3")
    return getattr(request, "param", {})


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_redirect_reads_no_bytes_once_the_derivative_exists(
    api, client, reads, redirect_on_s3
):
    image = await uploaded(api, jpeg(300, 200))
    first = await client.get(cdn(image), params={"w": 60})
    assert first.status_code == 302
    assert reads == [image["storageKey"]]  # the render read its source, once
    reads.clear()
    for params in ({"w": 60}, {}):
        again = await client.get(cdn(image), params=params)
        assert again.status_code == 302
        assert "X-Amz-Signature" in again.headers["location"]
    assert reads == []
