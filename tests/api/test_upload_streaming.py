"""Uploads stream through a staging file: big files land intact, and nothing stays behind."""

import hashlib
import io

import pytest
import pyvips

from tests.helpers import nothing_stored, upload


def big_png(side: int = 1100) -> bytes:
    """An uncompressed PNG of a few MB: large enough to be spooled to disk."""
    noise = pyvips.Image.gaussnoise(side, side).cast("uchar")
    return noise.bandjoin([noise, noise]).pngsave_buffer(compression=0)


@pytest.fixture
def spool(tmp_path):
    return tmp_path / "spool"


@pytest.fixture
def settings_overrides(spool):
    spool.mkdir()
    return {"upload_spool_dir": spool, "max_upload_bytes": 8 * 1024 * 1024}


async def test_a_spooled_upload_is_stored_byte_for_byte(api, core, spool):
    data = big_png()
    assert len(data) > 2 * 1024 * 1024
    response = await upload(api, data, filename="noise.png", content_type="image/png")
    assert response.status_code == 201, response.text
    image = response.json()["data"]
    assert image["fileHash"] == hashlib.sha256(data).hexdigest()
    assert (image["width"], image["height"], image["fileSize"]) == (1100, 1100, len(data))
    assert await core.blobs.get(image["storageKey"]) == data
    assert list(spool.iterdir()) == []


async def test_a_refused_spooled_upload_leaves_no_temporary_file(api, core, spool):
    data = big_png(1800)  # ~9.7 MB, sent chunked: crosses the 8 MB limit mid-stream
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="n.png"\r\n\r\n'

    async def chunks():
        yield head
        for start in range(0, len(data), 256 * 1024):
            yield data[start : start + 256 * 1024]
        yield b"\r\n--b--\r\n"

    response = await api.post(
        "/api/v1/images/upload",
        content=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "FILE_TOO_LARGE"
    assert list(spool.iterdir()) == []
    assert await nothing_stored(core)


async def test_parts_may_come_in_any_order(api, core):
    """The file before the fields, as imgbt's SDK sends it."""
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
        + big_png(40)
        + b'\r\n--b\r\nContent-Disposition: form-data; name="alias"\r\n\r\n@late\r\n--b--\r\n'
    )
    response = await api.post(
        "/api/v1/images/upload",
        content=io.BytesIO(body).read(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["alias"] == "@late"
