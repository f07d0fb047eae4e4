"""`AsyncClient`: `Client`'s calls for asyncio code, over an `httpx.AsyncClient`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from pixvault.client import wire
from pixvault.client.models import Image, Page
from pixvault.client.retry import RetryPolicy
from pixvault.client.wire import Progress, Ref


class AsyncClient:
    """As `Client`, awaited: `async with AsyncClient(server, key) as pv: await pv.get("@a")`.
    Files are read with blocking reads as they stream (as httpx does)."""

    def __init__(
        self,
        server: str,
        key: str,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy = RetryPolicy(),
        on_retry: Callable[[BaseException, float], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.server = wire.base_url(server)
        self.retry = retry
        self.on_retry = on_retry
        self._http = httpx.AsyncClient(
            base_url=self.server, headers=wire.headers(key), timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def upload(
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
        """See `Client.upload`."""
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
                return wire.image(await self._send(call))
        call = wire.upload_call(wire.opened(file), filename or "upload", **fields)
        return wire.image(await self._send(call))

    async def get(self, ref: Ref, *, flow_id: Ref | None = None) -> Image:
        return wire.image(await self._send(wire.get_call(ref, flow_id)))

    async def list(self, *, limit: int = 20, offset: int = 0, **filters: Any) -> Page:
        body = await self._send(wire.list_call(limit=limit, offset=offset, **filters))
        return wire.page(body, limit, offset)

    async def iter_images(self, **filters: Any) -> AsyncIterator[Image]:
        offset = 0
        while True:
            page = await self.list(**filters, limit=100, offset=offset)
            for item in page.items:
                yield item
            if not page.has_more or not page.items:
                return
            offset += len(page.items)

    async def find_by_hash(self, sha256: str) -> Image | None:
        found = (await self.list(sha256=sha256, limit=1)).items
        return found[0] if found else None

    async def delete(self, ref: Ref, *, soft: bool = False) -> None:
        await self._send(wire.delete_call(ref, soft))

    async def _send(self, call: wire.Call) -> dict[str, Any]:
        async for attempt in self.retry.async_retrying(self.on_retry):
            with attempt:
                try:
                    response = await self._http.request(call.method, call.path, **call.options)
                except httpx.HTTPError as exc:
                    raise wire.failure(self.server, exc) from exc
                return wire.parse(self.server, response)
        raise AssertionError("unreachable: tenacity reraises the last error")
