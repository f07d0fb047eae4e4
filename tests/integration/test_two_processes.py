"""Two stateless `pixvault serve` processes on one PostgreSQL schema and one S3 bucket.

Whatever one process writes, the other must see at once: rows, blobs, aliases, derivatives.
"""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.integration.test_crash import (
    PREFIX,
    Deployment,
    Server,
    api_client,
    deployment,  # noqa: F401 (fixture)
    picture,
    servers,  # noqa: F401 (fixture)
    start_server,
    upload_one,
)

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


@dataclass
class Pair:
    a: httpx.AsyncClient
    b: httpx.AsyncClient
    deployment: Deployment


@pytest.fixture
async def pair(deployment: Deployment, servers: list[Server]) -> AsyncIterator[Pair]:  # noqa: F811
    key = deployment.secret_key()
    servers.extend([start_server(deployment), start_server(deployment)])
    async with api_client(servers[0], key) as a, api_client(servers[1], key) as b:
        yield Pair(a, b, deployment)


async def test_image_lives_across_processes(pair: Pair) -> None:
    made = await upload_one(pair.a, picture(1))
    assert made.status_code == 201, made.text
    image = made.json()["data"]
    listed = (await pair.b.get("/api/v1/images")).json()["data"]
    assert [i["id"] for i in listed] == [image["id"]]
    cdn = f"/default/default/img/{image['id']}"
    original = await pair.b.get(cdn)
    assert hashlib.sha256(original.content).hexdigest() == image["fileHash"]
    small = await pair.b.get(cdn, params={"w": "40"})
    assert small.status_code == 200 and small.headers["content-type"] == "image/jpeg"
    assert (await pair.b.delete(f"/api/v1/images/{image['id']}")).status_code == 200
    assert (await pair.a.get(cdn)).status_code == 404
    assert (await pair.a.get("/api/v1/images")).json()["data"] == []
    assert pair.deployment.blob_keys() == set()


async def test_concurrent_alias_claims_leave_one_holder(pair: Pair) -> None:
    made = await asyncio.gather(*(upload_one(pair.a, picture(n)) for n in range(20)))
    ids = [r.json()["data"]["id"] for r in made]

    async def claim(n: int) -> httpx.Response:
        http = pair.a if n % 2 else pair.b
        return await http.put(f"/api/v1/images/{ids[n % 20]}/alias", json={"alias": "@x"})

    results = await asyncio.gather(*(claim(n) for n in range(100)))
    assert sorted({r.status_code for r in results}) == [200]
    for http in (pair.a, pair.b):
        holders = (await http.get("/api/v1/images", params={"limit": 100})).json()["data"]
        assert sum(i["alias"] == "@x" for i in holders) == 1
        by_alias = await http.get("/api/v1/images", params={"alias": "@x"})
        assert by_alias.json()["pagination"]["total"] == 1


async def test_derivative_rendered_by_one_is_served_by_the_other(pair: Pair) -> None:
    image = (await upload_one(pair.a, picture(2))).json()["data"]
    url = f"/default/default/img/{image['id']}?w=40"
    first = await pair.a.get(url)
    assert first.status_code == 200
    moto, bucket = pair.deployment.moto, pair.deployment.bucket
    assert moto is not None and bucket is not None
    derived = moto.keys(bucket, f"{PREFIX}/{image['projectId']}/derived/{image['id']}/")
    assert len(derived) == 1
    # Mark the stored bytes: if B re-rendered instead of reading the store, it would not
    # send the marker.
    moto.client().put_object(Bucket=bucket, Key=derived[0], Body=first.content + b"stored")
    second = await pair.b.get(url)
    assert second.status_code == 200
    assert second.headers["etag"] == first.headers["etag"]
    assert second.content == first.content + b"stored"
