"""`Client`: the native API (`/api/v1/images`) over one httpx connection pool.

Thread-safe: one client may serve many threads (as `pixvault upload --concurrency` does).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from pixvault.client import wire
from pixvault.client.models import Image, Page
from pixvault.client.retry import RetryPolicy
from pixvault.client.wire import Progress, Ref


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
        self.server = wire.base_url(server)
        self.retry = retry
        self.on_retry = on_retry
        self._http = httpx.Client(
            base_url=self.server, headers=wire.headers(key), timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def upload(
        self,
        file: str | os.PathLike[str] | bytes | BinaryIO,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        alias: str | None = None,
        flow_id: Ref | None = None,
        flow_alias: str | None = None,
        meta: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> Image:
        """Upload one image. `alias` (`@name`) names it in the project; `flow_id` adds it to a
        flow (`NO_FLOW`: none; omitted: a new one) and `flow_alias` names it in that flow."""
        fields = {
            "content_type": content_type,
            "alias": alias,
            "flow_id": flow_id,
            "flow_alias": flow_alias,
            "meta": meta,
            "progress": progress,
        }
        if isinstance(file, str | os.PathLike):
            path = Path(file)
            with path.open("rb") as handle:
                call = wire.upload_call(handle, filename or path.name, **fields)
                return wire.image(self._send(call))
        call = wire.upload_call(wire.opened(file), filename or "upload", **fields)
        return wire.image(self._send(call))

    def get(self, ref: Ref, *, flow_id: Ref | None = None) -> Image:
        """An image by id or `@alias` (a flow alias with `flow_id`)."""
        return wire.image(self._send(wire.get_call(ref, flow_id)))

    def list(self, *, limit: int = 20, offset: int = 0, **filters: Any) -> Page:
        """One page, newest first, with the total of the filtered list. Filters: `flow_id`,
        `source`, `alias`, `sha256`, `include_deleted`."""
        body = self._send(wire.list_call(limit=limit, offset=offset, **filters))
        return wire.page(body, limit, offset)

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
        found = self.list(sha256=sha256, limit=1).items
        return found[0] if found else None

    def delete(self, ref: Ref, *, soft: bool = False) -> None:
        """Delete an image (a soft delete keeps it restorable until `pixvault gc` purges it)."""
        self._send(wire.delete_call(ref, soft))

    def _send(self, call: wire.Call) -> dict[str, Any]:
        """Send with retries (429, 5xx, broken connections); the envelope on success."""
        for attempt in self.retry.retrying(self.on_retry):
            with attempt:
                try:
                    response = self._http.request(call.method, call.path, **call.options)
                except httpx.HTTPError as exc:
                    raise wire.failure(self.server, exc) from exc
                return wire.parse(self.server, response)
        raise AssertionError("unreachable: tenacity reraises the last error")
