"""What the sync and async clients share: the requests each call sends, and how an answer
(or a failure to get one) becomes a result or a typed error."""

from __future__ import annotations

import io
import json
import mimetypes
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import httpx

from pixvault import __version__
from pixvault.client.errors import (
    ConnectionLost,
    PixvaultClientError,
    ServerUnreachable,
    error_class,
)
from pixvault.client.models import Image, Page
from pixvault.client.retry import retry_after

NO_FLOW = "null"  # `flow_id=NO_FLOW`: the upload joins no flow (omitted: a new flow of its own)
Progress = Callable[[int], None]  # called with the bytes of the file sent so far
Ref = str | uuid.UUID


@dataclass(frozen=True)
class Call:
    """One API request: method, path and httpx's keyword arguments."""

    method: str
    path: str
    options: dict[str, Any] = field(default_factory=dict)


def base_url(server: str) -> str:
    url = server.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ServerUnreachable(f"The server URL {server!r} must start with http:// or https://")
    return url


def headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key, "User-Agent": f"pixvault-client/{__version__}"}


def upload_call(
    handle: BinaryIO,
    filename: str,
    *,
    content_type: str | None,
    alias: str | None,
    flow_id: Ref | None,
    flow_alias: str | None,
    meta: dict[str, Any] | None,
    progress: Progress | None,
) -> Call:
    fields = {
        "alias": alias,
        "flowId": None if flow_id is None else str(flow_id),
        "flowAlias": flow_alias,
        "meta": None if meta is None else json.dumps(meta),
    }
    data = {name: value for name, value in fields.items() if value is not None}
    mime = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    files = {"file": (filename, Counted(handle, progress), mime)}
    return Call("POST", "/api/v1/images/upload", {"files": files, "data": data})


def get_call(ref: Ref, flow_id: Ref | None) -> Call:
    params = {} if flow_id is None else {"flowId": str(flow_id)}
    return Call("GET", f"/api/v1/images/{ref}", {"params": params})


def list_call(
    *,
    flow_id: Ref | None = None,
    source: str | None = None,
    alias: str | None = None,
    sha256: str | None = None,
    include_deleted: bool = False,
    limit: int = 20,
    offset: int = 0,
) -> Call:
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
    return Call("GET", "/api/v1/images", {"params": params})


def delete_call(ref: Ref, soft: bool) -> Call:
    return Call("DELETE", f"/api/v1/images/{ref}", {"params": {"mode": "soft"} if soft else {}})


def image(body: dict[str, Any]) -> Image:
    return Image.from_json(body["data"])


def page(body: dict[str, Any], limit: int, offset: int) -> Page:
    pages = body.get("pagination") or {}
    items = [Image.from_json(item) for item in body["data"]]
    return Page(
        items=items,
        total=pages.get("total", len(items)),
        limit=pages.get("limit", limit),
        offset=pages.get("offset", offset),
        has_more=pages.get("hasMore", False),
    )


def failure(server: str, exc: httpx.HTTPError) -> PixvaultClientError:
    """What a transport failure means for the caller."""
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        return ConnectionLost(f"The connection to {server} broke: {reason}")
    if isinstance(exc, httpx.TimeoutException):
        return ServerUnreachable(f"{server} did not answer in time: {reason}")
    return ServerUnreachable(f"Cannot reach {server}: {reason}")


def parse(server: str, response: httpx.Response) -> dict[str, Any]:
    """The envelope of a success, else the error it carries, typed by status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    wait = retry_after(response.headers.get("retry-after"))
    if not isinstance(body, dict) or "success" not in body:
        raise error_class(status)(
            status,
            f"HTTP_{status}",
            f"{server} answered HTTP {status} {response.reason_phrase} without pixvault's "
            "JSON envelope: from a proxy in front of pixvault, or not pixvault (check the URL)",
            retry_after=wait,
        )
    if response.is_success and body.get("success"):
        return body
    error = body.get("error") or {}
    raise error_class(status)(
        status,
        str(error.get("code") or f"HTTP_{status}"),
        str(error.get("message") or f"HTTP {status}"),
        retry_after=wait,
    )


def opened(file: bytes | BinaryIO) -> BinaryIO:
    return io.BytesIO(file) if isinstance(file, bytes) else file


class Counted(io.RawIOBase):
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
