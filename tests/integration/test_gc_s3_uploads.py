"""gc aborts the multipart uploads a crash left pending in an S3 bucket (no listing of objects
shows them, yet their parts are stored): past the grace period, under this store's prefix, of
projects this database knows, and never a fresh one."""

import uuid
from datetime import timedelta
from typing import Any

import pytest

from pixvault.db.rows import now
from pixvault.services.gc import collect
from pixvault.storage import BlobStore, open_store
from tests.helpers import uploaded
from tests.s3 import MotoServer, s3_settings

HOUR = timedelta(hours=1)
RETENTION = timedelta(days=30)


@pytest.fixture
def settings_overrides(moto_server: MotoServer, s3_bucket: str) -> dict[str, object]:
    return s3_settings(moto_server.endpoint, s3_bucket)


def _begin(moto_server: MotoServer, bucket: str, key: str) -> None:
    """What a process killed mid-upload leaves: an upload begun, one part stored."""
    s3 = moto_server.client()
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)
    s3.upload_part(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=b"half a file"
    )


def _listed(moto_server: MotoServer, bucket: str) -> list[dict[str, Any]]:
    return moto_server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def _pending(moto_server: MotoServer, bucket: str) -> set[str]:
    return {upload["Key"] for upload in _listed(moto_server, bucket)}


async def test_abandoned_multipart_uploads_are_aborted_past_the_grace_period(
    api, core, moto_server, s3_bucket
):
    image = await uploaded(api)
    ours = f"pv/{image['projectId']}/originals/{uuid.uuid4()}"
    unknown_project = f"pv/{uuid.uuid4()}/originals/{uuid.uuid4()}"
    other_prefix = f"elsewhere/{image['projectId']}/originals/{uuid.uuid4()}"
    for key in (ours, unknown_project, other_prefix):
        _begin(moto_server, s3_bucket, key)
    every = {ours, unknown_project, other_prefix}
    # The clock is set from when the store says the uploads began (moto reports one fixed
    # date for every upload, real S3 the moment it began).
    (began,) = {upload["Initiated"] for upload in _listed(moto_server, s3_bucket)}

    fresh = await collect(core, grace=HOUR, retention=RETENTION, now=began + HOUR / 2)
    assert fresh.uploads_aborted == 0
    assert _pending(moto_server, s3_bucket) == every

    later = max(began, now()) + 2 * HOUR
    dry = await collect(core, grace=HOUR, retention=RETENTION, dry_run=True, now=later)
    assert dry.uploads_aborted == 1
    assert _pending(moto_server, s3_bucket) == every

    report = await collect(core, grace=HOUR, retention=RETENTION, now=later)
    assert report.as_json()["uploadsAborted"] == 1
    assert _pending(moto_server, s3_bucket) == {unknown_project, other_prefix}
    delivered = await api.get(f"/default/default/img/{image['id']}")
    assert delivered.status_code == 200  # the live original is untouched


async def test_a_local_store_has_no_pending_uploads(tmp_path):
    store = BlobStore(open_store(f"file://{tmp_path}/blobs"))
    assert await store.pending_uploads() == []
