"""`Client`: the native API (`/api/v1/images`) over one httpx connection pool.

Thread-safe: one client may serve many threads (as `pixvault upload --concurrency` does).
"""

from __future__ import annotations

import hashlib
import io
import json
import mimetypes
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from pixvault import __version__
from pixvault.client.errors import (
    ApiError,
    ConnectionLost,
    ServerUnreachable,
    error_class,
)
from pixvault.client.models import Image, Page
from pixvault.client.retry import RetryPolicy, retry_after

NO_FLOW = "null"  # `flow_id=NO_FLOW`: the upload joins no flow (omitted: a new flow of its own)
Progress = Callable[[int], None]  # called with the bytes of the file sent so far


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 the server records as an image's `fileHash`, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class Client:
    """A project's images, reached with one of its API keys (`sk_` writes, `pk_` reads).

    >>> with Client("http://127.0.0.1:8000", "sk_...") as pv:
    ...     image = pv.upload("cat.jpg", alias="@cat")
    ...     pv.find_by_hash(file_sha256("cat.jpg")) == image
    """

    def __init__(
        self,
        server: str,
        key: str,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy = RetryPolicy(),
        on_retry: Callable[[BaseException, float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.server = server.rstrip("/")
        if not self.server.startswith(("http://", "https://")):
            raise ServerUnreachable(
                f"The server URL {server!r} must start with http:// or https://"
            )
        self.retry = retry
        self.on_retry = on_retry
        self._http = httpx.Client(
            base_url=self.server,
            headers={"X-API-Key": key, "User-Agent": f"pixvault-client/{__version__}"},
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- images ------------------------------------------------------------------------------

    def upload(
        self,
        file: str | os.PathLike[str] | bytes | BinaryIO,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        alias: str | None = None,
        flow_id: str | uuid.UUID | None = None,
        flow_alias: str | None = None,
        meta: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> Image:
        """Upload one image. `alias` (`@name`) names it in the project; `flow_id` adds it to a
        flow (`NO_FLOW`: none; omitted: a new one) and `flow_alias` names it in that flow."""
        fields = {
            "alias": alias,
            "flowId": None if flow_id is None else str(flow_id),
            "flowAlias": flow_alias,
            "meta": None if meta is None else json.dumps(meta),
        }
        data = {name: value for name, value in fields.items() if value is not None}
        if isinstance(file, str | os.PathLike):
            path = Path(file)
            filename = filename or path.name
            with path.open("rb") as handle:
                return self._upload(handle, filename, content_type, data, progress)
        handle = io.BytesIO(file) if isinstance(file, bytes) else file
        return self._upload(handle, filename or "upload", content_type, data, progress)

    def _upload(
        self,
        handle: BinaryIO,
        filename: str,
        content_type: str | None,
        data: dict[str, str],
        progress: Progress | None,
    ) -> Image:
        mime = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        body = _Counted(handle, progress)
        files = {"file": (filename, body, mime)}
        payload = self._call("POST", "/api/v1/images/upload", files=files, data=data)
        return Image.from_json(payload["data"])

    def get(self, ref: str | uuid.UUID, *, flow_id: str | uuid.UUID | None = None) -> Image:
        """An image by id or `@alias` (a flow alias with `flow_id`)."""
        params = {} if flow_id is None else {"flowId": str(flow_id)}
        return Image.from_json(self._call("GET", f"/api/v1/images/{ref}", params=params)["data"])

    def list(
        self,
        *,
        flow_id: str | uuid.UUID | None = None,
        source: str | None = None,
        alias: str | None = None,
        sha256: str | None = None,
        include_deleted: bool = False,
        limit: int = 20,
        offset: int = 0,
    ) -> Page:
        """One page, newest first, with the total of the filtered list."""
        wanted = {
            "flowId": None if flow_id is None else str(flow_id),
            "source": source,
            "alias": alias,
            "fileHash": sha256,
            "includeDeleted": "true" if include_deleted else None,
            "limit": str(limit),
            "offset": str(offset),
        }
        params = {name: value for name, value in wanted.items() if value is not None}
        body = self._call("GET", "/api/v1/images", params=params)
        pages = body.get("pagination") or {}
        items = [Image.from_json(item) for item in body["data"]]
        return Page(
            items=items,
            total=pages.get("total", len(items)),
            limit=pages.get("limit", limit),
            offset=pages.get("offset", offset),
            has_more=pages.get("hasMore", False),
        )

    def iter_images(self, **filters: Any) -> Iterator[Image]:
        """Every image of the filtered list, 100 per request."""
        offset = 0
        while True:
            page = self.list(**filters, limit=100, offset=offset)
            yield from page.items
            if not page.has_more or not page.items:
                return
            offset += len(page.items)

    def find_by_hash(self, sha256: str) -> Image | None:
        """A live image of the project with this content (see `file_sha256`), if any."""
        page = self.list(sha256=sha256, limit=1)
        return page.items[0] if page.items else None

    def delete(self, ref: str | uuid.UUID, *, soft: bool = False) -> None:
        """Delete an image (a soft delete keeps it restorable until `pixvault gc` purges it)."""
        self._call("DELETE", f"/api/v1/images/{ref}", params={"mode": "soft"} if soft else {})

    # -- transport ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, **request: Any) -> dict[str, Any]:
        """Send with retries (429, 5xx, broken connections); the envelope on success."""
        for attempt in self.retry.retrying(self.on_retry):
            with attempt:
                return self._send(method, path, **request)
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _send(self, method: str, path: str, **request: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **request)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
            raise ConnectionLost(f"The connection to {self.server} broke: {_reason(exc)}") from exc
        except httpx.TimeoutException as exc:
            raise ServerUnreachable(
                f"{self.server} did not answer in time: {_reason(exc)}"
            ) from exc
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise ServerUnreachable(f"Cannot reach {self.server}: {_reason(exc)}") from exc
        return self._parse(response)

    def _parse(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "success" not in body:
            raise ApiError(
                response.status_code,
                f"HTTP_{response.status_code}",
                f"{self.server} answered HTTP {response.status_code} without pixvault's JSON "
                "envelope; is it a pixvault server (check the URL)?",
                retry_after=retry_after(response.headers.get("retry-after")),
            )
        if response.is_success and body.get("success"):
            return body
        error = body.get("error") or {}
        status = response.status_code
        raise error_class(status)(
            status,
            str(error.get("code") or f"HTTP_{status}"),
            str(error.get("message") or f"HTTP {status}"),
            retry_after=retry_after(response.headers.get("retry-after")),
        )


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


class _Counted(io.RawIOBase):
    """The file as httpx streams it into the request body, reporting bytes read; httpx seeks
    it to 0 before each send, so a retried upload starts over (and so does its count)."""

    def __init__(self, handle: BinaryIO, progress: Progress | None):
        super().__init__()
        self._handle = handle
        self._progress = progress
        self._sent = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._handle.fileno()  # lets httpx size the body (Content-Length) by fstat

    def tell(self) -> int:
        return self._handle.tell()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        position = self._handle.seek(offset, whence)
        self._sent = position
        return position

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._sent += len(chunk)
        if self._progress is not None:
            self._progress(self._sent)
        return chunk
