"""Helpers of the vault (imgbt) surface tests: SDK-shaped multipart bodies, the error
envelope, the asset record, and the client-side signing scheme of the docs (§9)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from pixvault.domain.ids import from_ulid

BOUNDARY = "----imgbtSdkBoundary7MA4YWxkTrZu0gW"
PREFIXES = ("/api/v1", "/v1")
RECORD_FIELDS = frozenset(
    {
        # documented
        "id", "vault_id", "partition", "collection", "channel", "filename", "r2_key", "size",
        "mime_type", "width", "height", "metadata", "tags", "created_at", "updated_at",
        # the SDK's
        "vault", "path", "url", "content_type", "pages",
        # pixvault's placeholders (README, "Vault API"), on every surface's records
        "blurhash", "dominant_color",
    }
)  # fmt: skip
SDK_READS = frozenset(
    {
        "id", "vault", "partition", "collection", "channel", "filename", "url", "path",
        "content_type", "size", "width", "height", "pages", "metadata", "tags", "created_at",
        "updated_at",
    }
)  # fmt: skip
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
PUBLIC_URL = "http://cdn.test"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def route_forms(vault_id: str, path: str) -> list[str]:
    """The four route forms of §1 for one API path (`/assets`, `/urls/sign`, ...)."""
    return [prefix + vault + path for prefix in PREFIXES for vault in (f"/vaults/{vault_id}", "")]


# -- multipart -----------------------------------------------------------------------------


@dataclass
class Part:
    name: str
    value: bytes | str
    filename: str | None = None
    content_type: str | None = None


def _quoted(text: str) -> str:
    """How `fetch`'s FormData escapes a name or filename in Content-Disposition."""
    return text.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def multipart(parts: list[Part], boundary: str = BOUNDARY) -> tuple[bytes, str]:
    """A multipart/form-data body with the parts in exactly this order."""
    out = bytearray()
    for part in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'Content-Disposition: form-data; name="{_quoted(part.name)}"'
        if part.filename is not None:
            disposition += f'; filename="{_quoted(part.filename)}"'
        out += disposition.encode() + b"\r\n"
        if part.content_type is not None:
            out += f"Content-Type: {part.content_type}\r\n".encode()
        out += b"\r\n"
        out += part.value.encode() if isinstance(part.value, str) else part.value
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


@dataclass
class SdkUpload:
    """What imgbt's `upload()` puts in its FormData, in its order (§11)."""

    data: bytes
    partition: str | None = "acme"
    collection: str | None = "office"
    channel: str | None = "avatars"
    filename: str | None = None  # the caller's filename option
    content_type: str | None = None  # the caller's contentType option
    metadata: str | None = None  # JSON text
    tags: str | None = None  # JSON text
    file_name: str | None = None  # override the file part's own filename
    extra: list[Part] = field(default_factory=list)

    def parts(self) -> list[Part]:
        file_name = self.file_name if self.file_name is not None else self.filename or "upload"
        parts = [
            Part("file", self.data, file_name, self.content_type or "application/octet-stream")
        ]
        for name in ("partition", "collection", "channel", "filename", "metadata", "tags"):
            value = getattr(self, name)
            if value is not None:
                parts.append(Part(name, value))
        return parts + self.extra


async def post_form(
    client: httpx.AsyncClient,
    path: str,
    parts: list[Part],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body, content_type = multipart(parts)
    return await client.post(
        path, content=body, headers={"Content-Type": content_type, **(headers or {})}
    )


async def sdk_upload(
    client: httpx.AsyncClient,
    key: str,
    data: bytes,
    *,
    path: str = "/v1/assets",
    **options: Any,
) -> httpx.Response:
    return await post_form(
        client,
        path,
        SdkUpload(data, **options).parts(),
        {**bearer(key), "Accept": "application/json"},
    )


async def sdk_uploaded(client: httpx.AsyncClient, key: str, data: bytes, **options: Any) -> dict:
    response = await sdk_upload(client, key, data, **options)
    assert response.status_code == 201, response.text
    return response.json()


# -- responses -----------------------------------------------------------------------------


def media(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip()


def error(
    response: httpx.Response, status: int, code: str, names: str | None = None
) -> dict[str, Any]:
    """The vault envelope `{"error": {"code", "message", "status"}}`; `names` must appear in
    the message (the field or parameter it concerns)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert media(response) == "application/json", response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"code", "message", "status"}, err
    assert (err["code"], err["status"]) == (code, status), err
    assert isinstance(err["message"], str) and err["message"], err
    assert "Traceback" not in err["message"], err
    if names is not None:  # the message names the field (any case: "Password-protected…")
        assert names.lower() in err["message"].lower(), err
    return err


def check_record(asset: dict[str, Any], vault_id: str) -> None:
    """The documented fields plus the SDK's, each of its type and value (§3). That there
    are no others is `test_upload.py::test_the_record_has_exactly_the_contracts_fields`."""
    assert set(asset) >= RECORD_FIELDS, RECORD_FIELDS - set(asset)
    assert asset["id"].startswith("asset_") and ULID.fullmatch(asset["id"][6:]), asset["id"]
    assert asset["vault_id"] == asset["vault"] == vault_id
    for name in ("partition", "collection", "channel", "filename", "mime_type", "path", "url"):
        assert isinstance(asset[name], str), (name, asset[name])
    assert asset["content_type"] == asset["mime_type"]
    assert isinstance(asset["size"], int) and not isinstance(asset["size"], bool)
    for name in ("width", "height", "pages"):
        assert asset[name] is None or (
            isinstance(asset[name], int) and not isinstance(asset[name], bool)
        ), (name, asset[name])
    assert isinstance(asset["metadata"], str) and isinstance(asset["tags"], str)
    assert isinstance(json.loads(asset["metadata"]), dict)
    assert isinstance(json.loads(asset["tags"]), list)
    assert TIMESTAMP.fullmatch(asset["created_at"]), asset["created_at"]
    assert TIMESTAMP.fullmatch(asset["updated_at"]), asset["updated_at"]
    assert asset["updated_at"] >= asset["created_at"]
    folders = (asset["partition"], asset["collection"], asset["channel"])
    assert asset["path"] == "/".join((*folders, asset["filename"]))
    assert asset["r2_key"] == f"{vault_id}/{'/'.join(folders)}/{asset['id']}_{asset['filename']}"
    assert asset["url"] == delivery_url(vault_id, asset["path"])


def image_uuid(asset: dict[str, Any]) -> uuid.UUID:
    """The pixvault image id behind an `asset_…` id."""
    return from_ulid(asset["id"][len("asset_") :])


# -- delivery and signing ------------------------------------------------------------------


def pathname(vault_id: str, path: str) -> str:
    """`/{vault}/{p}/{c}/{ch}/{filename}`, each segment percent-encoded."""
    return "/" + "/".join([vault_id, *(quote(part, safe="") for part in path.split("/"))])


def delivery_url(vault_id: str, path: str) -> str:
    return PUBLIC_URL + pathname(vault_id, path)


def form_encode(text: str) -> str:
    """application/x-www-form-urlencoded as URLSearchParams serialises (WHATWG)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char.isascii() and (char.isalnum() or char in "*-._"):
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def query_line(params: list[tuple[str, str]]) -> str:
    ordered = sorted(params, key=lambda kv: kv[0])
    return "&".join(f"{form_encode(k)}={form_encode(v)}" for k, v in ordered)


def compute_token(
    secret: str, raw_path: str, params: list[tuple[str, str]], expires: str, *, padded=False
) -> str:
    """§9: base64url(HMAC-SHA256(secret, pathname \\n sorted params \\n expires))."""
    payload = f"{raw_path}\n{query_line(params)}\n{expires}"
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    text = base64.urlsafe_b64encode(digest).decode()
    return text if padded else text.rstrip("=")


def signed_target(
    secret: str,
    raw_path: str,
    params: list[tuple[str, str]],
    expires: int | str,
    *,
    padded: bool = False,
) -> str:
    """A request target (path + query) signed by `secret`, the parameters in the given order
    followed by `expires` and `token`."""
    token = compute_token(secret, raw_path, params, str(expires), padded=padded)
    query = [*params, ("expires", str(expires)), ("token", token)]
    return raw_path + "?" + "&".join(f"{form_encode(k)}={form_encode(v)}" for k, v in query)
