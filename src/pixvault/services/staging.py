"""An upload's bytes while they arrive: counted against the policy's limit as they stream,
hashed on the way, kept in memory while small and spilled to a temporary file past that.

The whole upload is never held in memory, so a 100 MB file costs the server about one
network chunk of RAM, and a body that crosses the limit is refused at that byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from types import TracebackType
from typing import IO

from pixvault.domain.errors import FileTooLarge

MEMORY_MAX = 1 << 20
HEAD_BYTES = 512  # enough for filetype's signatures (it reads 261)


SPOOL_PREFIX = "pixvault-upload-"


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
        self._file: IO[bytes] | None = None
        self._hash = hashlib.sha256()

    def write(self, chunk: bytes | memoryview) -> None:
        """Append bytes; raises FileTooLarge the moment the total passes the limit."""
        self.size += len(chunk)
        if self.size > self.limit:
            raise FileTooLarge(self.limit)
        self._hash.update(chunk)
        if self._memory is not None:
            self._memory += chunk
            if len(self._memory) > self._memory_max:
                self._spill()
        else:
            assert self._file is not None
            self._file.write(chunk)

    def _spill(self) -> None:
        self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by close()
            dir=self._directory, prefix=SPOOL_PREFIX, delete=False
        )
        self._file.write(self._memory or b"")
        self._memory = None

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    @property
    def head(self) -> bytes:
        """The first bytes, where file types keep their magic numbers."""
        if self._memory is not None:
            return bytes(self._memory[:HEAD_BYTES])
        assert self._file is not None
        with open(self._file.name, "rb") as file:
            return file.read(HEAD_BYTES)

    def finish(self) -> None:
        """The body is complete: flush what is on disk so readers see every byte."""
        if self._file is not None:
            self._file.flush()

    @property
    def data(self) -> bytes | None:
        """The bytes when they stayed in memory, else None (read `path`)."""
        return None if self._memory is None else bytes(self._memory)

    @property
    def path(self) -> str | None:
        return None if self._file is None else self._file.name

    def close(self) -> None:
        self._memory = bytearray()
        if self._file is not None:
            self._file.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._file.name)
            self._file = None

    def __enter__(self) -> StagedFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
