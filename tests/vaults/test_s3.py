"""A vault upload on S3 (moto): ~6 MB, spilled to the spool directory and sent to the bucket
as a multipart upload of 5 MB parts. The 100 MB streaming case is the bench's."""

import os

import pytest

from tests.s3 import s3_settings
from tests.vaults.support import bearer, image_uuid, sdk_upload

SIZE = 6 * 1024 * 1024 + 12_345


@pytest.fixture
def settings_overrides(moto_server, s3_bucket):
    return s3_settings(moto_server.endpoint, s3_bucket)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_6mb_upload_lands_in_the_bucket_byte_for_byte(
    client, core, project, sk, moto_server, s3_bucket
):
    data = os.urandom(SIZE)
    response = await sdk_upload(client, sk, data, filename="big.bin")
    assert response.status_code == 201, response.text
    asset = response.json()
    assert asset["size"] == SIZE and asset["mime_type"] == "application/octet-stream"
    image = await core.library.get(project, image_uuid(asset))
    key = f"pv/{image.storage_key}"
    assert moto_server.blobs(s3_bucket) == [key]
    s3 = moto_server.client()
    stored = s3.get_object(Bucket=s3_bucket, Key=key)
    assert stored["Body"].read() == data
    assert stored["ETag"].strip('"').endswith("-2")  # a multipart upload of two parts
    assert os.listdir(core.settings.resolved_spool_dir()) == []
    delivery = asset["url"].removeprefix("http://cdn.test")
    ranged = await client.get(delivery, headers={"Range": "bytes=6291450-6291460"})
    assert ranged.status_code == 206 and ranged.content == data[6291450:6291461]
    deleted = await client.delete(f"/v1/assets/{asset['id']}", headers=bearer(sk))
    assert deleted.status_code == 204
    assert moto_server.blobs(s3_bucket) == []
