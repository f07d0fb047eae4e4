"""The user's own API keys over HTTP and the ShareX uploader file (contract: "API keys over
HTTP", "Uploads" for `/api/external/upload`)."""

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from pixvault.db.tables import api_keys
from tests.helpers import jpeg, row_count
from tests.slink.support import invalid_api_key, is_uuid, not_found, send_upload, violations

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


async def create_key(client, account, **body):
    response = await client.post(
        "/api/user/api-keys", json={"name": "laptop", **body}, headers=account.auth
    )
    assert response.status_code == 200, response.text
    return response.json()


async def external(client, secret, data=None, **kwargs):
    return await send_upload(
        client, {"Authorization": f"Bearer {secret}"}, data, path="/api/external/upload", **kwargs
    )


async def test_create_key_shows_it_once_and_it_uploads_as_the_user(client, core, alice, project):
    created = await create_key(client, alice)
    assert list(created) == ["key", "keyId", "name"]
    assert created["key"].startswith("sk_")
    assert is_uuid(created["keyId"])
    assert created["name"] == "laptop"
    response = await external(client, created["key"])
    assert response.status_code == 201, response.text
    image = await core.library.get(project, uuid.UUID(response.json()["id"]))
    assert str(image.owner_id) == alice.id
    # Keys are stored hashed: no column holds the key.
    async with core.db.read() as conn:
        rows = (await conn.execute(select(api_keys))).all()
    for row in rows:
        assert created["key"] not in [str(value) for value in row]


async def test_key_text_is_sk_and_64_hex_digits(client, alice):
    assert re.fullmatch(r"sk_[0-9a-f]{64}", (await create_key(client, alice))["key"])


async def test_list_keys_never_shows_the_key(client, alice, bob):
    created = await create_key(client, alice, name="ShareX box")
    # As Slink's client sends it (JavaScript's toISOString).
    later = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    expiring = await create_key(client, alice, name="temp", expiresAt=later)
    await create_key(client, bob, name="bob's")
    assert (await external(client, created["key"])).status_code == 201
    response = await client.get("/api/user/api-keys", headers=alice.auth)
    assert response.status_code == 200
    assert created["key"] not in response.text and expiring["key"] not in response.text
    data = response.json()["data"]
    by_id = {k["id"]: k for k in data}
    assert set(by_id) == {created["keyId"], expiring["keyId"]}
    for key in data:
        assert set(key) >= {"id", "name", "createdAt", "expiresAt", "lastUsedAt", "isExpired"}
        assert "key" not in key
        assert TIMESTAMP.fullmatch(key["createdAt"]), key
        assert key["isExpired"] is False
    used = by_id[created["keyId"]]
    assert used["name"] == "ShareX box" and used["expiresAt"] is None
    assert TIMESTAMP.fullmatch(used["lastUsedAt"] or ""), used
    temp = by_id[expiring["keyId"]]
    assert temp["name"] == "temp" and temp["lastUsedAt"] is None
    assert TIMESTAMP.fullmatch(temp["expiresAt"] or ""), temp


async def test_an_expired_key_is_listed_as_expired_and_refused(client, core, alice):
    created = await create_key(
        client, alice, expiresAt=(datetime.now(UTC) + timedelta(days=1)).isoformat()
    )
    async with core.db.write() as conn:
        await conn.execute(
            update(api_keys)
            .where(api_keys.c.id == uuid.UUID(created["keyId"]))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    invalid_api_key(await external(client, created["key"]))
    listed = (await client.get("/api/user/api-keys", headers=alice.auth)).json()["data"]
    assert [k["isExpired"] for k in listed if k["id"] == created["keyId"]] == [True]


async def test_key_name_and_expiry_are_validated(client, core, alice):
    before = len(await core.keys.list())
    for body, prop in (
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({}, "name"),
        (
            {"name": "ok", "expiresAt": (datetime.now(UTC) - timedelta(days=1)).isoformat()},
            "expiresAt",
        ),
        ({"name": "ok", "expiresAt": "not a date"}, "expiresAt"),
    ):
        response = await client.post("/api/user/api-keys", json=body, headers=alice.auth)
        violations(response, prop)
    assert len(await core.keys.list()) == before
    assert (
        await client.post("/api/user/api-keys", json={"name": "x" * 100}, headers=alice.auth)
    ).status_code == 200


async def test_expiry_as_a_plain_iso_date_is_accepted(client, alice):
    for when in ("2099-01-01", "2099-01-01T00:00:00"):
        response = await client.post(
            "/api/user/api-keys", json={"name": "dated", "expiresAt": when}, headers=alice.auth
        )
        assert response.status_code == 200, (when, response.status_code, response.text)


async def test_revoking_a_key(client, alice):
    created = await create_key(client, alice)
    kept = await create_key(client, alice, name="kept")
    response = await client.delete(f"/api/user/api-keys/{created['keyId']}", headers=alice.auth)
    assert response.status_code == 204
    assert response.content == b""
    invalid_api_key(await external(client, created["key"]))
    assert (await external(client, kept["key"])).status_code == 201
    # Revoking twice: the key is already gone.
    again = await client.delete(f"/api/user/api-keys/{created['keyId']}", headers=alice.auth)
    assert again.status_code in (204, 404)


async def test_a_non_uuid_key_id_is_not_found(client, alice):
    not_found(await client.delete("/api/user/api-keys/not-a-uuid", headers=alice.auth))


async def test_another_users_key_cannot_be_revoked(client, alice, bob):
    created = await create_key(client, alice)
    for key_id in (created["keyId"], str(uuid.uuid4())):
        response = await client.delete(f"/api/user/api-keys/{key_id}", headers=bob.auth)
        not_found(response)
    assert (await external(client, created["key"])).status_code == 201


# -- ShareX --------------------------------------------------------------------------------


async def test_sharex_config_replays_like_sharex(client, core, alice):
    response = await client.get("/api/user/sharex-config", headers=alice.auth)
    assert response.status_code == 200, response.text
    assert ".sxcu" in response.headers.get("content-disposition", "")
    config = response.json()
    assert config["RequestMethod"] == "POST"
    assert config["Body"] == "MultipartFormData"
    assert config["RequestURL"].endswith("/api/external/upload")
    assert config["FileFormName"] == "image"
    authorization = config["Headers"]["Authorization"]
    assert authorization.startswith("Bearer sk_")
    assert "{json:url}" in config["URL"]
    # What ShareX sends: a multipart POST to RequestURL with the headers and the file field.
    picture = jpeg(120, 90)
    sent = await client.post(
        config["RequestURL"],
        headers=config["Headers"],
        files={config["FileFormName"]: ("Screenshot.jpg", picture, "image/jpeg")},
    )
    assert sent.status_code == 201, sent.text
    body = sent.json()
    url = config["URL"].replace("{json:url}", body["url"])
    fetched = await client.get(url)
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "image/jpeg"
    assert fetched.content == picture
    if "ThumbnailURL" in config:
        thumb = await client.get(
            config["ThumbnailURL"].replace("{json:thumbnailUrl}", body["thumbnailUrl"])
        )
        assert thumb.status_code == 200
        assert thumb.headers["content-type"].startswith("image/")
    assert await row_count(core) == 1
