"""A streamed upload past the spill (hashed and written by the staging worker while the body
arrives) lands in the bucket byte for byte, with its hash, and leaves no spooled file."""

import hashlib
import os

import httpx
import pytest
from sqlalchemy import select

from pixvault.db.tables import images
from pixvault.domain.ids import from_prefixed_ulid
from pixvault.domain.models import ASSET_PREFIX
from pixvault.services.blobkeys import original_key
from tests.s3 import MotoServer, s3_settings


@pytest.fixture
def settings_overrides(moto_server: MotoServer, s3_bucket: str) -> dict[str, object]:
    return s3_settings(moto_server.endpoint, s3_bucket)


async def test_a_spilled_vault_upload_is_stored_in_the_bucket_byte_for_byte(
    client: httpx.AsyncClient, core, secret_key: str
) -> None:
    data = os.urandom(13 * (1 << 20) + 4321)  # several staging batches and S3 parts
    response = await client.post(
        "/v1/assets",
        files={"file": ("big.bin", data, "application/octet-stream")},
        data={"partition": "p", "collection": "c", "channel": "ch"},
        headers={"Authorization": f"Bearer {secret_key}"},
    )
    assert response.status_code == 201, response.text
    asset = response.json()
    assert asset["size"] == len(data)
    image_id = from_prefixed_ulid(asset["id"], ASSET_PREFIX)
    assert image_id is not None
    async with core.db.read() as conn:
        image = (await conn.execute(select(images).where(images.c.id == image_id))).one()
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert await core.blobs.get(original_key(image.project_id, image.id)) == data
    assert os.listdir(core.library.spool_dir) == []
