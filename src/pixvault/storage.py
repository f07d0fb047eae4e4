"""Blob store over obstore: a local directory by default, any S3-compatible store for scale.

Every backend error other than "not found" becomes `StorageUnavailable` (503), so a client
learns the store is down rather than seeing a generic 500.
"""

import contextlib
import logging
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse

import anyio
import obstore
from obstore.exceptions import NotFoundError
from obstore.store import LocalStore, MemoryStore, ObjectStore, S3Store, from_url

from pixvault.domain.errors import StorageUnavailable

# Local writes up to this size run inline: a derivative lands in the page cache in ~50 µs,
# less than handing it to another thread. Bigger objects (originals) go to a thread so the
# event loop never stalls on them.
log = logging.getLogger(__name__)
_IMMUTABLE = "public, max-age=31536000, immutable"
# Keys under this prefix are pixvault's own bookkeeping (readiness probes, the claim marker of
# `services/claim.py`), not blobs: listings leave them out.
_OWN_PREFIX = ".pixvault-"
_PROBE_PREFIX = f"{_OWN_PREFIX}ready/"
_INLINE_WRITE_MAX = 1 << 20
_PART_BYTES = 5 * 1024 * 1024  # S3's smallest multipart part
_TEMPORARY = re.compile(r"#[0-9]+$")  # obstore's and `_write_file`'s temporary names


class BlobMissing(LookupError):
    """The key holds no object."""


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class PendingUpload:
    """An S3 multipart upload begun and never completed or aborted."""

    key: str  # the blob key it was writing
    upload_id: str
    initiated: datetime


def open_store(url: str, **options: Any) -> ObjectStore:
    """Build a store from `file://DIR`, `memory://` or `s3://BUCKET/PREFIX`.

    For S3, `options` are S3Store's `config`, `client_options` and `retry_config`
    (see `Settings.storage_options`); anything not given comes from AWS_* variables.
    Nothing touches local disk in S3 mode.
    """
    parsed = urlparse(url)
    if parsed.scheme == "file":
        path = Path(parsed.path)
        path.mkdir(parents=True, exist_ok=True)
        return LocalStore(path)
    if parsed.scheme == "memory":
        return MemoryStore()
    if parsed.scheme in ("s3", "s3a"):
        return S3Store.from_url(url, **options)
    return from_url(url, **options)


class BlobStore:
    def __init__(self, store: ObjectStore):
        self._store = store
        # A local directory is read and written with plain file calls: a page-cached read
        # costs ~11 µs of CPU, obstore's sync get ~65 µs, its async get four times that in
        # thread hand-offs; a plain write+rename ~50 µs against obstore's async put ~500 µs.
        # The on-disk layout is obstore's, so listing and deleting still go through it.
        self._local_root = f"{store.prefix}/" if isinstance(store, LocalStore) else None
        self._inline_reads = isinstance(store, MemoryStore)
        self._multipart: _Multipart | None = None

    async def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Write an object. Every key names immutable content (an original by id, a derivative
        by its digest), so object stores also get a long `Cache-Control` and the type, for
        anything that reads the bucket directly (presigned redirects, a CDN on the bucket)."""
        try:
            if self._local_root is None:
                await obstore.put_async(
                    self._store, key, data, attributes=_attributes(content_type)
                )
            elif len(data) <= _INLINE_WRITE_MAX:
                _write_file(self._local_root + key, data)
            else:
                await anyio.to_thread.run_sync(_write_file, self._local_root + key, data)
        except Exception as exc:
            raise _unavailable("write", key, exc) from exc

    async def put_file(
        self, key: str, path: str, *, consume: bool = False, content_type: str | None = None
    ) -> None:
        """Store a file's bytes without loading them: on a local directory renamed into place
        when `consume` allows it and the file is on the same filesystem, else copied in a
        thread; on S3 a multipart upload of 5 MB parts, two in flight."""
        try:
            if self._local_root is not None:
                await anyio.to_thread.run_sync(_place_file, path, self._local_root + key, consume)
            else:
                await obstore.put_async(
                    self._store,
                    key,
                    Path(path),
                    chunk_size=_PART_BYTES,
                    max_concurrency=2,
                    attributes=_attributes(content_type),
                )
        except Exception as exc:
            raise _unavailable("write", key, exc) from exc

    async def get(self, key: str) -> bytes:
        try:
            if self._local_root is not None:
                with open(self._local_root + key, "rb") as file:
                    return file.read()
            if self._inline_reads:
                return bytes(obstore.get(self._store, key).bytes())
            result = await obstore.get_async(self._store, key)
            return bytes(await result.bytes_async())
        except (NotFoundError, FileNotFoundError):
            raise BlobMissing(key) from None
        except Exception as exc:
            raise _unavailable("read", key, exc) from exc

    async def get_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of the object."""
        try:
            return bytes(await obstore.get_range_async(self._store, key, start=start, end=end))
        except (NotFoundError, FileNotFoundError):
            raise BlobMissing(key) from None
        except Exception as exc:
            raise _unavailable("read", key, exc) from exc

    async def check_writable(self) -> None:
        """Prove the store can be written, read and deleted (a missing bucket answers reads
        of absent keys as "not found", so a read alone proves nothing)."""
        key = f"{_PROBE_PREFIX}{secrets.token_hex(8)}"
        await self.put(key, b"ready")
        try:
            if await self.get(key) != b"ready":
                raise StorageUnavailable(f"The blob store returned other bytes for {key!r}")
        except BlobMissing:
            raise StorageUnavailable(
                f"The blob store lost {key!r} right after writing it"
            ) from None
        finally:
            await self.delete(key)

    async def exists(self, key: str) -> bool:
        try:
            await obstore.head_async(self._store, key)
        except (NotFoundError, FileNotFoundError):
            return False
        except Exception as exc:
            raise _unavailable("read", key, exc) from exc
        return True

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self._store, key)
        except (NotFoundError, FileNotFoundError):
            return
        except Exception as exc:
            raise _unavailable("delete", key, exc) from exc

    async def list(self, prefix: str) -> AsyncIterator[BlobInfo]:
        try:
            async for batch in obstore.list(self._store, prefix=prefix):
                for meta in batch:
                    if not meta["path"].startswith(_OWN_PREFIX):
                        yield BlobInfo(meta["path"], meta["size"], meta["last_modified"])
        except (NotFoundError, FileNotFoundError):
            return
        except Exception as exc:
            raise _unavailable("list", prefix, exc) from exc

    async def delete_prefix(self, prefix: str) -> int:
        keys = [info.key async for info in self.list(prefix)]
        for key in keys:
            await self.delete(key)
        return len(keys)

    async def sweep_temporaries(self, older_than: datetime) -> int:
        """Remove the `NAME#DIGITS` files that writes interrupted by a crash leave in a local
        directory (obstore's listing never shows them). Other stores have none: an S3 write
        is atomic, and what an interrupted multipart upload leaves is `pending_uploads`."""
        if self._local_root is None:
            return 0
        return await anyio.to_thread.run_sync(_sweep, self._local_root, older_than.timestamp())

    async def pending_uploads(self) -> "list[PendingUpload]":  # `list` is a method here
        """The multipart uploads under this store's prefix that were begun and never
        completed or aborted: what a process killed mid-upload leaves in a bucket, stored
        (and billed) though no listing of objects shows it. Other stores have none."""
        if not isinstance(self._store, S3Store):
            return []
        try:
            return await anyio.to_thread.run_sync(_list_pending, self._multipart_client())
        except Exception as exc:
            raise _unavailable("list the multipart uploads under", self._head, exc) from exc

    async def abort_upload(self, upload: PendingUpload) -> None:
        """Abort a pending multipart upload, freeing the parts it stored."""
        try:
            await anyio.to_thread.run_sync(_abort, self._multipart_client(), upload)
        except Exception as exc:
            raise _unavailable("abort the multipart upload of", upload.key, exc) from exc

    @property
    def _head(self) -> str:
        prefix = getattr(self._store, "prefix", None)
        return f"{prefix}/" if prefix else ""

    def _multipart_client(self) -> "_Multipart":
        if self._multipart is None:
            assert isinstance(self._store, S3Store)
            bucket = self._store.config["bucket"]
            self._multipart = _Multipart(_s3_client(self._store), bucket, self._head)
        return self._multipart

    @property
    def can_presign(self) -> bool:
        return isinstance(self._store, S3Store)

    async def presign_get(self, key: str, expires_seconds: int) -> str | None:
        """A time-limited GET URL straight to the object store, so a client or CDN can
        fetch bytes without this process; None when the store cannot sign (local, memory)."""
        if not isinstance(self._store, S3Store):
            return None
        try:
            return await obstore.sign_async(
                self._store, "GET", key, timedelta(seconds=expires_seconds)
            )
        except Exception as exc:
            raise _unavailable("sign", key, exc) from exc


def _write_file(path: str, data: bytes) -> None:
    """Write through a temporary file and a rename, as obstore does, so a reader never sees a
    partial object; obstore's listing skips the `NAME#DIGITS` temporary names."""
    temporary = f"{path}#{secrets.randbelow(10**12)}"
    try:
        with _create(temporary) as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _place_file(source: str, path: str, consume: bool) -> None:
    if consume:
        try:
            os.replace(source, path)
            return
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with contextlib.suppress(OSError):
                os.replace(source, path)
                return
        except OSError:
            pass  # another filesystem: copy instead
    _copy_file(source, path)


def _sweep(root: str, cutoff: float) -> int:
    removed = 0
    for directory, _, names in os.walk(root):
        for name in names:
            if _TEMPORARY.search(name):
                path = os.path.join(directory, name)
                with contextlib.suppress(FileNotFoundError):
                    if os.stat(path).st_mtime < cutoff:
                        os.unlink(path)
                        removed += 1
    return removed


def _copy_file(source: str, path: str) -> None:
    """`_write_file` for a file on disk: copied through a temporary name and a rename."""
    temporary = f"{path}#{secrets.randbelow(10**12)}"
    try:
        with open(source, "rb") as src, _create(temporary) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _create(path: str) -> BinaryIO:
    """A new file, creating its directory on first use (one syscall when it exists)."""
    try:
        return open(path, "xb")
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return open(path, "xb")


def _attributes(content_type: str | None) -> dict[str, str]:
    attributes = {"Cache-Control": _IMMUTABLE}
    if content_type:
        attributes["Content-Type"] = content_type
    return attributes


@dataclass(frozen=True)
class _Multipart:
    """What listing and aborting multipart uploads needs: obstore has neither call, so
    botocore (AWS's own client) makes them, with the store's bucket, endpoint and keys."""

    client: Any
    bucket: str
    head: str  # the store's prefix, as keys under it start


def _s3_client(store: S3Store) -> Any:
    # Imported here: only gc on S3 needs botocore, and it takes a while to import.
    import botocore.config
    import botocore.session

    config = store.config
    virtual = str(config.get("virtual_hosted_style_request", "")).lower() == "true"
    return botocore.session.get_session().create_client(
        "s3",
        endpoint_url=config.get("endpoint"),
        region_name=config.get("region"),
        # Keys not given to pixvault come from botocore's own AWS_* chain, as obstore's do.
        aws_access_key_id=config.get("access_key_id"),
        aws_secret_access_key=config.get("secret_access_key"),
        aws_session_token=config.get("session_token") or config.get("token"),
        config=botocore.config.Config(s3={"addressing_style": "virtual" if virtual else "path"}),
    )


def _list_pending(multipart: _Multipart) -> list[PendingUpload]:
    pages = multipart.client.get_paginator("list_multipart_uploads").paginate(
        Bucket=multipart.bucket, Prefix=multipart.head
    )
    return [
        PendingUpload(item["Key"].removeprefix(multipart.head), item["UploadId"], item["Initiated"])
        for page in pages
        for item in page.get("Uploads", [])
    ]


def _abort(multipart: _Multipart, upload: PendingUpload) -> None:
    multipart.client.abort_multipart_upload(
        Bucket=multipart.bucket, Key=multipart.head + upload.key, UploadId=upload.upload_id
    )


def _unavailable(action: str, key: str, exc: Exception) -> StorageUnavailable:
    cause = _cause(exc)
    log.warning("blob store failed to %s %r: %s: %s", action, key, type(exc).__name__, cause)
    return StorageUnavailable(
        f"The blob store failed to {action} {key!r} ({type(exc).__name__}: {cause}); "
        "retry later, and check the storage configuration if it persists"
    )


def _cause(exc: Exception) -> str:
    """The store's own words (e.g. S3's `NoSuchBucket`), on one short line."""
    text = " ".join(str(exc).split())
    for code in ("NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        if code in text:
            return code
    return text[:300]
