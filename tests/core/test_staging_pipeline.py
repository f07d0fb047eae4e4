"""StagedFile past the spill: batches are hashed and written by a worker while the caller
receives the next bytes (`drain`), never more than a few batches behind, and the result
is exactly the bytes sent whichever way they were fed."""

import hashlib
import os

import pytest

from pixvault.domain.errors import FileTooLarge
from pixvault.services.staging import BATCH_BYTES, MEMORY_MAX, StagedFile

MiB = 1 << 20


def _chunks(data: bytes, size: int):
    view = memoryview(data)
    for start in range(0, len(data), size):
        yield view[start : start + size]


async def test_drained_upload_is_on_disk_as_it_streams_and_hashes_every_byte(tmp_path):
    data = os.urandom(12 * MiB + 12345)
    lag = []
    with StagedFile(len(data), directory=str(tmp_path)) as staged:
        for chunk in _chunks(data, 256 * 1024):
            staged.write(chunk)
            await staged.drain()
            if staged.path is not None:
                lag.append(staged.size - os.path.getsize(staged.path))
        await staged.complete()
        staged.finish()
        with open(staged.path, "rb") as file:
            assert file.read() == data
        assert staged.sha256 == hashlib.sha256(data).hexdigest()
        assert staged.head == data[:512]
    # written while streaming: only a batch in flight and the bytes waiting for the next one
    # (each at most two batches and a chunk) are not on disk yet
    assert max(lag) <= 4 * BATCH_BYTES + 2 * 256 * 1024
    assert os.listdir(tmp_path) == []


async def test_a_writer_that_never_drains_still_holds_little_and_gets_every_byte(tmp_path):
    data = os.urandom(MEMORY_MAX + 9 * MiB + 7)
    with StagedFile(len(data), directory=str(tmp_path)) as staged:
        for chunk in _chunks(data, 100_000):
            staged.write(bytearray(chunk))  # a reused-buffer kind of chunk: copied when kept
            behind = staged.size - os.path.getsize(staged.path or "/dev/null")
            assert behind <= max(MEMORY_MAX, 4 * BATCH_BYTES) + 100_000
        staged.finish()
        with open(staged.path, "rb") as file:
            assert file.read() == data
        assert staged.sha256 == hashlib.sha256(data).hexdigest()


async def test_the_limit_is_still_refused_at_the_crossing_byte_while_draining(tmp_path):
    limit = 5 * MiB + 3
    with StagedFile(limit, directory=str(tmp_path)) as staged:
        data = os.urandom(limit)
        for chunk in _chunks(data, 64 * 1024):
            staged.write(chunk)
            await staged.drain()
        assert staged.size == limit
        with pytest.raises(FileTooLarge):
            staged.write(b"x")
    assert os.listdir(tmp_path) == []


async def test_closing_with_a_batch_in_flight_removes_the_file(tmp_path):
    staged = StagedFile(64 * MiB, directory=str(tmp_path))
    for chunk in _chunks(os.urandom(8 * MiB), 512 * 1024):
        staged.write(chunk)
        await staged.drain()
    staged.close()
    assert os.listdir(tmp_path) == []
    staged.close()
