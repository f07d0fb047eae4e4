"""A Python port of the request side of imgbt's TypeScript SDK (`imgbt/core` v0.1.0,
src/client.ts, http.ts, pagination.ts, url.ts), driving the app over httpx exactly as the
SDK drives `fetch`: its base URL (`{pixvault}/v1`), headers, paths, bodies, status handling
and list iterator. It never retries: a 5xx here is a test failure (the SDK would retry it)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx

from tests.vaults.support import SDK_READS, Part, form_encode, media, multipart

PARAM_NAMES = {
    "width": "w", "height": "h", "fit": "fit", "format": "f", "quality": "q", "blur": "blur",
    "sharpen": "sharpen", "rotate": "rt", "flip": "flip", "grayscale": "grayscale",
    "border": "border", "radius": "radius", "bg": "bg", "dpr": "dpr", "crop": "crop",
    "gravity": "g", "page": "page",
}  # fmt: skip


class SdkError(Exception):
    """What `parseApiError` builds: the status, `error.code` and `error.message`."""

    def __init__(self, status: int, code: str | None, message: str | None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    @property
    def kind(self) -> str:
        return {
            400: "validation",
            401: "authentication",
            404: "not_found",
            409: "conflict",
            429: "rate_limit",
        }.get(self.status, "generic")


def encode_uri_component(text: str) -> str:
    return quote(text, safe="-_.!~*'()")


def normalize(raw: dict[str, Any]) -> dict[str, Any]:
    """`normalizeAsset`: the fields the SDK reads; metadata/tags passed through."""
    missing = SDK_READS - set(raw)
    assert not missing, missing
    return {
        "id": raw["id"],
        "vault": raw["vault"],
        "partition": raw["partition"],
        "collection": raw["collection"],
        "channel": raw["channel"],
        "filename": raw["filename"],
        "url": raw["url"],
        "path": raw["path"],
        "contentType": raw["content_type"],
        "size": raw["size"],
        "width": raw["width"],
        "height": raw["height"],
        "pages": raw["pages"],
        "metadata": raw["metadata"] if raw.get("metadata") is not None else {},
        "tags": raw["tags"] if raw.get("tags") is not None else [],
        "createdAt": raw["created_at"],
        "updatedAt": raw["updated_at"],
    }


class Sdk:
    def __init__(
        self,
        http: httpx.AsyncClient,
        api_key: str,
        vault: str,
        *,
        base_url: str = "http://testserver/v1",
        default_domain: str | None = None,
    ):
        self.http = http
        self.api_key = api_key
        self.vault = vault
        self.base_url = base_url.rstrip("/")
        if default_domain and default_domain.startswith(("http://", "https://")):
            self.delivery_base = default_domain.rstrip("/")
        elif default_domain:
            self.delivery_base = f"https://{default_domain}"
        else:
            self.delivery_base = f"https://{vault}.imgbt.com"
        self.calls: list[tuple[str, str, int]] = []

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        form: list[Part] | None = None,
    ) -> Any:
        url = self.base_url + path
        if query:
            url += "?" + "&".join(
                f"{form_encode(k)}={form_encode(str(v))}" for k, v in query.items() if v is not None
            )
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        content = None
        if form is not None:
            content, headers["Content-Type"] = multipart(form)
        elif body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body).encode()
        response = await self.http.request(method, url, content=content, headers=headers)
        self.calls.append((method, path, response.status_code))
        assert response.status_code < 500, (method, url, response.status_code, response.text)
        if 200 <= response.status_code < 300:
            if response.status_code == 204:
                assert response.content == b"", response.content
                return {}
            assert media(response) == "application/json", response.headers
            return response.json()
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        err = payload.get("error") if isinstance(payload.get("error"), dict) else payload
        raise SdkError(response.status_code, err.get("code"), err.get("message"))

    # -- the client's methods ------------------------------------------------------------

    async def upload(
        self,
        file: bytes,
        partition: str,
        collection: str,
        channel: str,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> dict[str, Any]:
        form = [
            Part("file", file, filename or "upload", content_type or "application/octet-stream"),
            Part("partition", partition),
            Part("collection", collection),
            Part("channel", channel),
        ]
        if filename is not None:
            form.append(Part("filename", filename))
        if metadata is not None:
            form.append(Part("metadata", json.dumps(metadata)))
        if tags:
            form.append(Part("tags", json.dumps(tags)))
        return normalize(await self.request("POST", "/assets", form=form))

    async def list_page(self, cursor: str | None = None, **options: Any) -> dict[str, Any]:
        query = {k: options[k] for k in ("partition", "collection", "channel", "limit") if
                 options.get(k) is not None}  # fmt: skip
        if cursor is not None:
            query["cursor"] = cursor
        elif options.get("cursor") is not None:
            query["cursor"] = options["cursor"]
        raw = await self.request("GET", "/assets", query=query)
        return {
            "data": [normalize(a) for a in raw["data"]],
            "cursor": raw["cursor"],
            "has_more": raw["has_more"],
        }

    async def iterate(self, **options: Any) -> AsyncIterator[dict[str, Any]]:
        """`for await (const asset of imgbt.list(options))`: Paginator's iterator."""
        first = await self.list_page(**options)
        page, cursor, has_more = first["data"], first["cursor"], first["has_more"]
        index, is_first = 0, True
        while True:
            while index >= len(page):
                if not has_more or cursor is None:
                    return
                if is_first:
                    is_first = False
                    break
                following = await self.list_page(cursor, **options)
                page, cursor, has_more = (
                    following["data"],
                    following["cursor"],
                    following["has_more"],
                )
                index = 0
                if not page and not has_more:
                    return
            is_first = False
            if index >= len(page):
                return
            yield page[index]
            index += 1

    async def get(self, asset_id: str) -> dict[str, Any]:
        return normalize(await self.request("GET", f"/assets/{asset_id}"))

    async def update(self, asset_id: str, updates: dict[str, Any]) -> dict[str, Any]:
        return normalize(await self.request("PATCH", f"/assets/{asset_id}", body=updates))

    async def delete(self, asset_id_or_path: str) -> None:
        if asset_id_or_path.startswith("asset_"):
            await self.request("DELETE", f"/assets/{asset_id_or_path}")
        else:
            await self.request("DELETE", f"/assets/{encode_uri_component(asset_id_or_path)}")

    def url(self, path: str, transforms: dict[str, Any] | None = None) -> str:
        """`buildUrl`: WHATWG URL path encoding, `searchParams.set` for each transform."""
        url = self.delivery_base + "/" + quote(path.lstrip("/"), safe="/!$&'()*+,;=:@-._~%[]|^")
        pairs = []
        for key, value in (transforms or {}).items():
            if value is None or key not in PARAM_NAMES:
                continue
            if isinstance(value, bool):
                if value:
                    pairs.append((PARAM_NAMES[key], "true"))
            else:
                pairs.append((PARAM_NAMES[key], str(value)))
        if pairs:
            url += "?" + "&".join(f"{form_encode(k)}={form_encode(v)}" for k, v in pairs)
        return url

    async def sign_url(self, path: str, expires_in: float, password: str | None = None) -> str:
        expires_at = math.floor(time.time()) + expires_in  # a fractional duration stays so
        body: dict[str, Any] = {"path": path, "vault": self.vault, "expires_at": expires_at}
        if password is not None:
            body["password"] = password
        return (await self.request("POST", "/urls/sign", body=body))["url"]

    async def revoke(self, path_or_token: str) -> None:
        await self.request(
            "POST", "/urls/revoke", body={"path": path_or_token, "vault": self.vault}
        )
