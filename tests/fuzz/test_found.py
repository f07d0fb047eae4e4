"""What the schema fuzzer found answering 500 (on PostgreSQL, which refuses NUL bytes, and on
every backend for lone surrogates, valid JSON escapes that UTF-8 cannot encode): each input
now answers a 4xx in its surface's envelope and stores nothing. The fixes are in the core
(`domain/text.py`, the services), so every surface inherits them."""

import io
import json

import httpx
import pytest
from sqlalchemy import func, select

from pixvault.db.tables import api_keys, projects
from pixvault.services.core import Core
from tests.helpers import jpeg, row_count
from tests.slink.support import make_account

NUL, SURROGATE = "a\x00b", "a\ud800b"  # sent as JSON: "a\u0000b", "a\ud800b"
SLINK = "application/vnd.api+json"


def violation(prop: str, message: str) -> dict[str, object]:
    return {
        "error": {
            "title": "Validation Failed",
            "message": "Validation Error",
            "violations": [{"property": prop, "message": message}],
        }
    }


def native(message: str) -> dict[str, object]:
    return {"success": False, "error": {"code": "VALIDATION_ERROR", "message": message}}


def vault(message: str) -> dict[str, object]:
    return {"error": {"code": "INVALID_PARAMS", "message": message, "status": 400}}


def as_json(body: object) -> dict[str, object]:
    """Request arguments sending `body` as ASCII JSON, lone surrogates as `\\u` escapes (httpx's
    `json=` writes UTF-8, which cannot hold them)."""
    return {"content": json.dumps(body), "headers": {"Content-Type": "application/json"}}


async def count(core: Core, table: object) -> int:
    async with core.db.read() as conn:
        return await conn.scalar(select(func.count()).select_from(table)) or 0  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
async def test_sign_in_with_an_impossible_username(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.post("/api/auth/login", **as_json({"username": bad, "password": "x"}))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(SLINK)
    message = (
        "username may not contain control characters"
        if bad == NUL
        else "username holds text that is not valid Unicode"
    )
    assert response.json() == violation("username", message)


async def test_sign_in_with_a_password_utf8_cannot_hold(
    client: httpx.AsyncClient, core: Core
) -> None:
    alice = await make_account(core, "alice")
    body = {"username": alice.username, "password": SURROGATE}
    response = await client.post("/api/auth/login", **as_json(body))
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "title": "Specification Error",
            "message": "Specification Error",
            "violations": [{"property": "credentials", "message": "Invalid credentials."}],
        }
    }


@pytest.mark.parametrize("route", ["refresh", "logout"])
async def test_a_refresh_token_utf8_cannot_hold_is_unknown(
    client: httpx.AsyncClient, route: str
) -> None:
    response = await client.post(f"/api/auth/{route}", **as_json({"refresh_token": SURROGATE}))
    assert response.status_code == 400
    if route == "refresh":
        assert response.json()["error"]["violations"] == [
            {"property": "credentials", "message": "Invalid or expired refresh token."}
        ]
    else:
        assert response.json() == {
            "error": {
                "title": "_UnknownRefreshToken",
                "message": "Invalid or expired refresh token.",
            }
        }


async def test_slink_key_name_with_nul(client: httpx.AsyncClient, core: Core) -> None:
    alice = await make_account(core, "alice")
    before = await count(core, api_keys)
    response = await client.post("/api/user/api-keys", headers=alice.auth, json={"name": NUL})
    assert response.status_code == 422
    assert response.json() == violation("name", "label may not contain control characters")
    assert await count(core, api_keys) == before


async def test_admin_key_label_with_nul(client: httpx.AsyncClient, core: Core) -> None:
    master = (await core.keys.issue("master")).secret
    before = await count(core, api_keys)
    body = {"organizationSlug": "default", "projectSlug": "default", "label": NUL}
    response = await client.post("/api/v1/admin/keys", headers={"X-API-Key": master}, json=body)
    assert response.status_code == 400
    assert response.json() == native("label may not contain control characters")
    assert await count(core, api_keys) == before


async def test_admin_project_name_with_nul(client: httpx.AsyncClient, core: Core) -> None:
    master = (await core.keys.issue("master")).secret
    before = await count(core, projects)
    body = {"org": "acme", "slug": "site", "name": NUL}
    response = await client.post("/api/v1/admin/projects", headers={"X-API-Key": master}, json=body)
    assert response.status_code == 400
    assert response.json() == native("name may not contain control characters")
    assert await count(core, projects) == before


async def test_vault_revoke_of_a_token_with_nul(client: httpx.AsyncClient, secret_key: str) -> None:
    response = await client.post(
        "/api/v1/urls/revoke", headers={"X-API-Key": secret_key}, json={"path": NUL}
    )
    assert response.status_code == 400
    assert response.json() == vault("token may not contain control characters")


@pytest.mark.parametrize("route", ["sign", "revoke"])
async def test_vault_url_path_utf8_cannot_hold(
    client: httpx.AsyncClient, secret_key: str, route: str
) -> None:
    body = {"path": f"p/c/ch/{SURROGATE}.jpg", "expires_at": 4102444800}
    request = as_json(body)
    request["headers"]["X-API-Key"] = secret_key  # type: ignore[index]
    response = await client.post(f"/api/v1/urls/{route}", **request)
    assert response.status_code == 400
    assert response.json() == vault(
        "Invalid filename 'a\\ud800b.jpg': use 1-255 bytes without '/', '\\\\', '..' or "
        "control characters"
    )


async def test_slink_upload_description_with_nul(client: httpx.AsyncClient, core: Core) -> None:
    alice = await make_account(core, "alice")
    files = {"image": ("a.jpg", io.BytesIO(jpeg()), "image/jpeg")}
    response = await client.post(
        "/api/upload", headers=alice.auth, files=files, data={"description": NUL}
    )
    assert response.status_code == 422
    assert response.json() == violation(
        "description", "description may not contain control characters"
    )
    assert await row_count(core) == 0


async def test_slink_upload_filename_past_255_bytes(client: httpx.AsyncClient, core: Core) -> None:
    alice = await make_account(core, "alice")
    files = {"image": ("é" * 200 + ".jpg", io.BytesIO(jpeg()), "image/jpeg")}
    response = await client.post("/api/upload", headers=alice.auth, files=files)
    assert response.status_code == 422
    assert response.json() == violation(
        "filename", "The file name is longer than 255 bytes; rename the file"
    )
    assert await row_count(core) == 0


async def test_slink_change_description_with_nul(client: httpx.AsyncClient, core: Core) -> None:
    alice = await make_account(core, "alice")
    files = {"image": ("a.jpg", io.BytesIO(jpeg()), "image/jpeg")}
    image_id = (await client.post("/api/upload", headers=alice.auth, files=files)).json()["id"]
    response = await client.patch(
        f"/api/image/{image_id}", headers=alice.auth, json={"description": NUL}
    )
    assert response.status_code == 422
    assert response.json() == violation(
        "description", "description may not contain control characters"
    )
    detail = await client.get(f"/api/image/{image_id}/detail", headers=alice.auth)
    assert detail.json()["description"] == ""
