"""An upload's bytes while they arrive: counted against the policy's limit as they stream,
hashed on the way, kept in memory while small and spilled to a temporary file past that.

The whole upload is never held in memory, so a 100 MB file costs the server a few MB of RAM,
and a body that crosses the limit is refused at that byte. Past the spill, the bytes are
hashed and written in batches by a worker thread while the event loop receives the next
ones (`drain`): SHA-256 and the file write release the GIL, so on two CPUs receiving,
hashing and writing overlap instead of taking turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor, wait
from types import TracebackType

from pixvault.domain.errors import FileTooLarge

MEMORY_MAX = 1 << 20
HEAD_BYTES = 512  # enough for filetype's signatures (it reads 261)
# Bytes handed to the worker at a time, joined into one buffer: one batch in flight and up to
# two waiting bound an upload's RAM to about 5 MB, and the worker takes the GIL back only
# twice a batch (after the hash, after the write), not twice a network chunk.
BATCH_BYTES = 1 << 20
# A writer that never drains has its bytes hashed and written inline past this much.
_UNDRAINED_MAX = 4 * BATCH_BYTES

SPOOL_PREFIX = "pixvault-upload-"

# Shared by every upload; each staged file has at most one batch in flight, so its bytes
# reach the hash and the file in order.
_WORKERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pixvault-staging")


def sweep_spool(directory: str, older_than: float) -> int:
    """Remove spooled uploads a crashed process left behind (older than `older_than`)."""
    removed = 0
    for entry in os.scandir(directory):
        if entry.name.startswith(SPOOL_PREFIX) and entry.stat().st_mtime < older_than:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
    return removed


class StagedFile:
    def __init__(self, limit: int, *, directory: str | None = None, memory_max: int = MEMORY_MAX):
        self.limit = limit
        self.size = 0
        self._directory = directory
        self._memory_max = memory_max
        self._memory: bytearray | None = bytearray()
        self._head = bytearray()
        self._fd: int | None = None
        self._path: str | None = None
        self._hash = hashlib.sha256()
        # Past the spill: chunks not yet hashed and written, and the batch a worker has.
        self._batch: list[bytes | memoryview] = []
        self._batch_bytes = 0
        self._inflight: Future[None] | None = None

    def write(self, chunk: bytes | memoryview) -> None:
        """Append bytes; raises FileTooLarge the moment the total passes the limit."""
        self.size += len(chunk)
        if self.size > self.limit:
            raise FileTooLarge(self.limit)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        if self._memory is not None:
            self._hash.update(chunk)
            self._memory += chunk
            if len(self._memory) > self._memory_max:
                self._spill()
            return
        if isinstance(chunk, memoryview) and not chunk.readonly:
            chunk = bytes(chunk)  # the caller may reuse its buffer; bytes views are kept as is
        self._batch.append(chunk)
        self._batch_bytes += len(chunk)
        if self._batch_bytes >= _UNDRAINED_MAX:
            self._settle()  # nobody drains (a plain sync writer): keep the RAM bounded

    async def drain(self) -> None:
        """Hand a full batch to a worker thread: call it between network chunks, so the next
        ones arrive while these are hashed and written. While the worker is still busy the
        caller goes on receiving, and waits for it only once a second batch is full."""
        if self._batch_bytes < BATCH_BYTES:
            return
        if self._inflight is not None:
            if not self._inflight.done():
                if self._batch_bytes < 2 * BATCH_BYTES:
                    return
                await asyncio.wrap_future(self._inflight)
            self._inflight.result()  # its error, if any, is this upload's
        self._inflight = _WORKERS.submit(self._absorb, self._take())

    async def complete(self) -> None:
        """The body is complete: hash and write what is left, off the event loop."""
        await self._wait()
        if self._batch:
            await asyncio.get_running_loop().run_in_executor(_WORKERS, self._absorb, self._take())

    async def _wait(self) -> None:
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            await asyncio.wrap_future(inflight)

    def _take(self) -> list[bytes | memoryview]:
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        return batch

    def _absorb(self, batch: list[bytes | memoryview]) -> None:
        assert self._fd is not None
        joined = batch[0] if len(batch) == 1 else b"".join(batch)
        self._hash.update(joined)
        _write_all(self._fd, joined)

    def _settle(self) -> None:
        """Every byte so far hashed and on disk (synchronously; waits for the worker)."""
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            inflight.result()
        if self._batch:
            self._absorb(self._take())

    def _spill(self) -> None:
        self._fd, self._path = tempfile.mkstemp(dir=self._directory, prefix=SPOOL_PREFIX)
        memory, self._memory = self._memory, None
        assert memory is not None
        _write_all(self._fd, memory)  # hashed already, as it came in

    @property
    def sha256(self) -> str:
        self._settle()
        return self._hash.hexdigest()

    @property
    def head(self) -> bytes:
        """The first bytes, where file types keep their magic numbers."""
        return bytes(self._head)

    def finish(self) -> None:
        """The body is complete: every byte hashed and on disk for readers of `path`."""
        self._settle()

    @property
    def data(self) -> bytes | None:
        """The bytes when they stayed in memory, else None (read `path`)."""
        return None if self._memory is None else bytes(self._memory)

    @property
    def path(self) -> str | None:
        return self._path

    def close(self) -> None:
        self._memory = bytearray()
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            if not inflight.cancel():
                wait([inflight])  # the worker is writing to the file: let it finish first
        self._batch, self._batch_bytes = [], 0
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)
            self._path = None

    def __enter__(self) -> StagedFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
