"""Helpers of the Slink surface tests: accounts, uploads, images and envelope checks."""

import io
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pyvips
from PIL import Image as PILImage
from sqlalchemy import func, select

from pixvault.db.tables import users
from pixvault.services.core import Core
from tests.helpers import jpeg

PASSWORD = "correct-horse-9"
ERROR_TYPES = ("application/vnd.api+json", "application/json")


@dataclass
class Account:
    id: str
    email: str
    username: str
    password: str
    access: str
    refresh: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


async def make_account(
    core: Core,
    username: str,
    *,
    display_name: str | None = None,
    admin: bool = False,
    password: str = PASSWORD,
) -> Account:
    """A user of the Slink project with a fresh token pair (minted by the core: no HTTP)."""
    project = await core.projects.by_path(core.settings.slink_project)
    user = await core.users.create(
        f"{username}@example.com",
        password,
        project,
        username=username,
        display_name=display_name,
        admin=admin,
    )
    pair = await core.tokens.issue(user)
    return Account(
        str(user.id), user.email, user.username, password, pair.access_token, pair.refresh_token
    )


async def user_count(core: Core) -> int:
    async with core.db.read() as conn:
        return await conn.scalar(select(func.count()).select_from(users)) or 0


# -- images --------------------------------------------------------------------------------


def gif(width: int = 40, height: int = 30, frames: int = 1) -> bytes:
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    images = [PILImage.new("RGB", (width, height), colors[i % 4]) for i in range(frames)]
    out = io.BytesIO()
    if frames == 1:
        images[0].save(out, "GIF")
    else:
        images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def bmp(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), (20, 140, 60)).save(out, "BMP")
    return out.getvalue()


def decode(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


def size_of(data: bytes) -> tuple[int, int]:
    image = decode(data)
    return image.width, image.height


async def send_upload(
    client: httpx.AsyncClient,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    *,
    path: str = "/api/upload",
    method: str = "POST",
    field: str = "image",
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    **fields: str,
) -> httpx.Response:
    files = {field: (filename, io.BytesIO(jpeg() if data is None else data), content_type)}
    return await client.request(method, path, files=files, data=fields, headers=headers or {})


async def upload_id(
    client: httpx.AsyncClient, account: Account, data: bytes | None = None, **fields: str
) -> str:
    response = await send_upload(client, account.auth, data, **fields)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def detail(client: httpx.AsyncClient, account: Account, image_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/image/{image_id}/detail", headers=account.auth)
    assert response.status_code == 200, response.text
    return response.json()["data"]


# -- envelopes -----------------------------------------------------------------------------


def _media(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip()


def _clean(message: str) -> None:
    assert "<" not in message and "Traceback" not in message, message


def error(response: httpx.Response, status: int, message: str | None = None) -> dict[str, Any]:
    """Slink's `{"error": {"title", "message"}}`; returns the `error` object."""
    assert response.status_code == status, response.text
    assert _media(response) in ERROR_TYPES
    body = response.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err.get("title"), str) and err["title"], body
    assert isinstance(err.get("message"), str), body
    _clean(err["message"])
    if message is not None:
        assert err["message"] == message, body
    return err


def names_param(response: httpx.Response, param: str) -> None:
    """A 400 in the plain envelope whose message names the offending parameter."""
    err = error(response, 400)
    assert param in err["message"], err


def violations(response: httpx.Response, *properties: str) -> dict[str, str]:
    """422 `Validation Error` with one violation per property; {property: message}."""
    err = error(response, 422, "Validation Error")
    found = err["violations"]
    props = [v["property"] for v in found]
    assert len(props) == len(set(props)), found
    assert set(props) == set(properties), found
    for v in found:
        assert isinstance(v["message"], str) and v["message"]
        _clean(v["message"])
    return {v["property"]: v["message"] for v in found}


def specification(response: httpx.Response, prop: str) -> dict[str, Any]:
    err = error(response, 400, "Specification Error")
    assert [v["property"] for v in err["violations"]] == [prop], err
    return err


def not_found(response: httpx.Response) -> None:
    err = error(response, 404, "Resource not found")
    assert "NotFoundException" in err["title"]


def denied(response: httpx.Response) -> None:
    err = error(response, 403, "Access Denied.")
    assert "AccessDeniedHttpException" in err["title"]


def lexik(response: httpx.Response, message: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == {"code": 401, "message": message}
    assert response.headers["www-authenticate"] == "Bearer"


def invalid_api_key(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert _media(response) in ERROR_TYPES
    assert response.json() == {
        "error": {"message": "Authentication failed", "code": "INVALID_API_KEY"}
    }


def missing_api_key(response: httpx.Response) -> None:
    """No key on /api/external/*: Slink's `Full authentication is required…` or the
    INVALID_API_KEY body."""
    assert response.status_code == 401, response.text
    err = response.json()["error"]
    if err.get("code") == "INVALID_API_KEY":
        invalid_api_key(response)
    else:
        assert err["message"].startswith("Full authentication is required"), err


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except (ValueError, TypeError):
        return False
    return True
