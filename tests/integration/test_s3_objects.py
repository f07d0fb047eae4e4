"""On S3, objects carry their type and a long Cache-Control, and readiness proves the bucket
can be written: a missing bucket is not ready, and says why."""

import uuid

import httpx
import pytest

from pixvault.app import create_app
from pixvault.services.core import build_core, initialise
from tests.conftest import make_settings
from tests.helpers import jpeg, uploaded
from tests.s3 import MotoServer, s3_settings


@pytest.fixture
def settings_overrides(moto_server: MotoServer, s3_bucket: str) -> dict[str, object]:
    return s3_settings(moto_server.endpoint, s3_bucket)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_originals_and_derivatives_are_stored_with_type_and_cache_control(
    api, client, moto_server: MotoServer, s3_bucket: str
):
    image = await uploaded(api, jpeg(200, 100))
    assert (await client.get(f"/default/default/img/{image['id']}?w=50&f=webp")).status_code == 200
    s3 = moto_server.client()
    original = s3.head_object(Bucket=s3_bucket, Key=f"pv/{image['storageKey']}")
    assert original["ContentType"] == "image/jpeg"
    assert original["CacheControl"] == "public, max-age=31536000, immutable"
    derived = [k for k in moto_server.keys(s3_bucket) if "/derived/" in k]
    assert s3.head_object(Bucket=s3_bucket, Key=derived[0])["ContentType"] == "image/webp"


async def test_a_missing_bucket_is_not_ready_and_names_the_cause(tmp_path, moto_server: MotoServer):
    settings = make_settings(
        tmp_path,
        "sqlite",
        None,
        **s3_settings(moto_server.endpoint, f"gone-{uuid.uuid4().hex[:8]}"),
    )
    core = build_core(settings)
    try:
        await initialise(core)
        transport = httpx.ASGITransport(app=create_app(settings, core=core))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/ready")
    finally:
        await core.close()
    assert response.status_code == 503
    assert "NoSuchBucket" in response.json()["storage"]
