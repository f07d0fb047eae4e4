"""Streaming uploads: the limit is enforced as bytes arrive, big uploads spill to disk, and
the policy decides which types are accepted; refused uploads store nothing."""

import hashlib
import os

import pytest
import pyvips

from pixvault.domain.errors import (
    FileTooLarge,
    InvalidImage,
    InvalidInput,
    UnsupportedType,
)
from pixvault.domain.uploads import IMAGE_TYPES, UploadPolicy
from pixvault.services.library import NewUpload
from pixvault.services.staging import HEAD_BYTES, MEMORY_MAX, StagedFile
from tests.core.support import put
from tests.helpers import blob_keys, jpeg, nothing_stored, png, row_count, webp

MiB = 1 << 20
ANY_TYPE = UploadPolicy(10_000_000, None)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"


def big_png() -> bytes:
    """An uncompressed 1500x1500 greyscale PNG: over 1 MiB, under the native 5 MB."""
    data = pyvips.Image.black(1500, 1500).cast("uchar").pngsave_buffer(compression=0)
    assert MEMORY_MAX < len(data) < 5 * 1024 * 1024
    return data


def gif() -> bytes:
    return pyvips.Image.black(8, 8).cast("uchar").gifsave_buffer()


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.fixture
def spool(tmp_path):
    directory = tmp_path / "spool"
    directory.mkdir()
    return directory


@pytest.fixture
def settings_overrides(spool):
    return {"upload_spool_dir": spool}


# -- StagedFile ----------------------------------------------------------------------------


def test_limit_is_refused_at_the_first_byte_past_it():
    with StagedFile(10) as staged:
        staged.write(b"abcd")
        staged.write(b"efgh")
        staged.write(b"ij")  # exactly the limit
        assert staged.size == 10
        with pytest.raises(FileTooLarge) as raised:
            staged.write(b"k")
        assert raised.value.limit == 10


def test_the_chunk_that_crosses_the_limit_is_refused():
    with StagedFile(1000) as staged:
        for _ in range(3):
            staged.write(b"x" * 300)
        with pytest.raises(FileTooLarge):
            staged.write(b"x" * 101)


def test_an_empty_chunk_at_the_limit_is_fine():
    with StagedFile(4) as staged:
        staged.write(b"abcd")
        staged.write(b"")
        assert staged.data == b"abcd"


def test_file_too_large_says_the_limit():
    assert "5 MB" in FileTooLarge(5 * MiB).message
    assert "100 bytes" in FileTooLarge(100).message


def test_sha256_covers_every_chunk():
    data = os.urandom(300_000)
    with StagedFile(len(data)) as staged:
        for part in chunks(data, 65_537):
            staged.write(memoryview(part))
        assert staged.sha256 == hashlib.sha256(data).hexdigest()
        assert staged.size == len(data)
        assert staged.data == data
        assert staged.path is None
        assert staged.head == data[:HEAD_BYTES]


def test_staging_spills_past_one_mebibyte_and_close_removes_the_file(tmp_path):
    data = os.urandom(MEMORY_MAX + 1)
    staged = StagedFile(10 * MiB, directory=str(tmp_path))
    staged.write(data[:MEMORY_MAX])
    assert staged.path is None  # at most 1 MiB stays in memory
    assert staged.data == data[:MEMORY_MAX]
    staged.write(data[MEMORY_MAX:])
    path = staged.path
    assert path is not None and os.path.dirname(path) == str(tmp_path)
    assert staged.data is None
    staged.write(b"tail")
    staged.finish()
    with open(path, "rb") as file:
        assert file.read() == data + b"tail"
    assert staged.head == data[:HEAD_BYTES]
    assert staged.sha256 == hashlib.sha256(data + b"tail").hexdigest()
    staged.close()
    assert not os.path.exists(path)
    assert staged.path is None
    assert os.listdir(tmp_path) == []
    staged.close()  # twice is harmless


def test_a_spilled_upload_over_the_limit_is_removed_on_close(tmp_path):
    with StagedFile(2 * MiB, directory=str(tmp_path)) as staged:
        staged.write(b"x" * (MiB + MiB // 2))
        assert staged.path is not None
        with pytest.raises(FileTooLarge):
            staged.write(b"x" * MiB)
    assert os.listdir(tmp_path) == []


def test_the_spill_threshold_can_be_set(tmp_path):
    with StagedFile(100, directory=str(tmp_path), memory_max=10) as staged:
        staged.write(b"0123456789")
        assert staged.path is None
        staged.write(b"a")
        assert staged.path is not None


# -- library.upload ------------------------------------------------------------------------


async def test_a_spilled_upload_stores_exactly_its_bytes(core, project, spool):
    data = big_png()
    with core.library.stage(core.native_uploads) as staged:
        for part in chunks(data, 64 * 1024):
            staged.write(part)
        assert staged.path is not None
        assert os.path.dirname(staged.path) == str(spool)
        image = await core.library.upload(
            project, staged, NewUpload(filename="big.png"), core.native_uploads
        )
    assert os.listdir(spool) == []
    assert await core.blobs.get(image.storage_key) == data
    assert (image.mime_type, image.width, image.height) == ("image/png", 1500, 1500)
    assert image.size == len(data)
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert image.filename == "big.png"


async def test_a_small_upload_stays_in_memory_and_is_stored(core, project, spool):
    data = jpeg(64, 48)
    with core.library.stage(core.native_uploads) as staged:
        staged.write(data)
        image = await core.library.upload(project, staged, NewUpload(), core.native_uploads)
        assert staged.path is None
    assert await core.blobs.get(image.storage_key) == data
    assert (image.mime_type, image.width, image.height) == ("image/jpeg", 64, 48)
    assert image.sha256 == hashlib.sha256(data).hexdigest()


async def test_native_policy_accepts_its_image_types(core, project):
    for maker, mime in [(jpeg, "image/jpeg"), (png, "image/png"), (webp, "image/webp")]:
        image = await put(core, project, maker(30, 20))
        assert (image.mime_type, image.width, image.height) == (mime, 30, 20)


async def test_upload_at_exactly_the_limit_is_accepted(core, project):
    data = jpeg()
    image = await core.library.upload_bytes(project, data, NewUpload(), UploadPolicy(len(data)))
    assert image.size == len(data)


async def test_upload_over_the_limit_stores_nothing(core, project):
    data = jpeg()
    with pytest.raises(FileTooLarge):
        await core.library.upload_bytes(project, data, NewUpload(), UploadPolicy(len(data) - 1))
    assert await nothing_stored(core)


async def test_streamed_upload_over_the_native_limit_stores_nothing(core, project, spool):
    with core.library.stage(core.native_uploads) as staged:
        with pytest.raises(FileTooLarge):
            for _ in range(6):
                staged.write(b"\0" * MiB)
        assert staged.size == 5 * MiB + MiB  # refused on the sixth chunk, not before
    assert os.listdir(spool) == []
    assert await nothing_stored(core)
    assert (await core.library.list(project)).total == 0


async def test_native_policy_refuses_other_types(core, project):
    for data in [gif(), PDF, b"plain text", b"\x89PNX" + b"\0" * 64]:
        with pytest.raises(UnsupportedType) as raised:
            await put(core, project, data)
        assert raised.value.param == "file"
    assert await nothing_stored(core)


async def test_a_truncated_image_is_refused(core, project):
    data = jpeg(200, 200)
    with pytest.raises(InvalidImage):
        await put(core, project, data[: len(data) // 2])
    assert await nothing_stored(core)


async def test_an_empty_file_is_refused(core, project):
    for policy in [core.native_uploads, ANY_TYPE]:
        with pytest.raises(InvalidInput):
            await core.library.upload_bytes(project, b"", NewUpload(), policy)
    assert await nothing_stored(core)


async def test_any_type_policy_stores_a_non_image_with_the_type_its_bytes_name(core, project):
    image = await core.library.upload_bytes(
        project, PDF, NewUpload(filename="doc.pdf", alias="@doc"), ANY_TYPE
    )
    assert image.mime_type == "application/pdf"
    assert (image.width, image.height) == (None, None)
    assert image.size == len(PDF)
    assert image.sha256 == hashlib.sha256(PDF).hexdigest()
    assert await core.blobs.get(image.storage_key) == PDF
    assert (await core.library.resolve(project, "@doc")).id == image.id
    assert await row_count(core) == 1


async def test_any_type_policy_still_measures_images(core, project):
    image = await core.library.upload_bytes(project, gif(), NewUpload(), ANY_TYPE)
    assert (image.mime_type, image.width, image.height) == ("image/gif", 8, 8)
    photo = await core.library.upload_bytes(project, jpeg(33, 22), NewUpload(), ANY_TYPE)
    assert (photo.mime_type, photo.width, photo.height) == ("image/jpeg", 33, 22)


async def test_any_type_policy_still_refuses_broken_images(core, project):
    data = png(100, 100)
    with pytest.raises(InvalidImage):
        await core.library.upload_bytes(project, data[:40], NewUpload(), ANY_TYPE)
    assert await nothing_stored(core)


async def test_a_lenient_policy_keeps_a_broken_image_without_dimensions(core, project):
    data = png(100, 100)[:40]
    image = await core.library.upload_bytes(project, data, NewUpload(), core.vault_uploads)
    assert (image.mime_type, image.width, image.height) == ("image/png", None, None)
    assert await core.blobs.get(image.storage_key) == data


async def test_a_large_non_image_spills_and_is_stored(core, project, spool):
    data = PDF + os.urandom(2 * MiB)
    with core.library.stage(ANY_TYPE) as staged:
        for part in chunks(data, 100_000):
            staged.write(part)
        assert staged.path is not None
        image = await core.library.upload(project, staged, NewUpload(), ANY_TYPE)
    assert image.mime_type == "application/pdf"
    assert await core.blobs.get(image.storage_key) == data
    assert os.listdir(spool) == []


async def test_a_refused_upload_leaves_earlier_images_alone(core, project):
    kept = await put(core, project)
    with pytest.raises(UnsupportedType):
        await put(core, project, PDF)
    assert await row_count(core) == 1
    assert await blob_keys(core) == [kept.storage_key]


async def test_native_policy_is_5_mb_of_jpeg_png_and_webp(core):
    assert core.native_uploads == UploadPolicy(5 * 1024 * 1024, IMAGE_TYPES)
    assert frozenset({"image/jpeg", "image/png", "image/webp"}) == IMAGE_TYPES
    assert core.native_uploads.allowed_types is not None
    assert ANY_TYPE.allowed_types is None
