"""§1 routes (four forms) and §2 authentication: which key may call which route."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from pixvault.db.tables import api_keys
from pixvault.domain.ids import new_id, to_ulid
from tests.helpers import blob_keys, jpeg, nothing_stored, png, row_count
from tests.vaults.support import (
    PREFIXES,
    SdkUpload,
    bearer,
    check_record,
    error,
    multipart,
    route_forms,
)

OPS = ("upload", "list", "get", "patch", "delete", "sign", "revoke")
WRITES = ("upload", "patch", "delete", "sign", "revoke")


def key_headers(style: str, key: str) -> dict[str, str]:
    return bearer(key) if style == "bearer" else {"X-API-Key": key}


async def call(
    client: httpx.AsyncClient,
    op: str,
    base: str,
    headers: dict[str, str],
    asset: dict | None = None,
    *,
    data: bytes | None = None,
    partition: str = "routes",
) -> httpx.Response:
    """One SDK call under `base` (`/v1`, `/api/v1/vaults/{id}`, ...)."""
    ref = asset["id"] if asset else "asset_" + to_ulid(new_id())
    path = asset["path"] if asset else "p/c/ch/none.png"
    if op == "upload":
        body, content_type = multipart(SdkUpload(data or jpeg(), partition=partition).parts())
        return await client.post(
            f"{base}/assets", content=body, headers={**headers, "Content-Type": content_type}
        )
    if op == "list":
        return await client.get(f"{base}/assets", headers=headers)
    if op == "get":
        return await client.get(f"{base}/assets/{ref}", headers=headers)
    if op == "patch":
        return await client.patch(
            f"{base}/assets/{ref}", json={"metadata": {"k": "v"}}, headers=headers
        )
    if op == "delete":
        return await client.delete(f"{base}/assets/{ref}", headers=headers)
    expires_at = int(time.time()) + 3600
    if op == "sign":
        return await client.post(
            f"{base}/urls/sign", json={"path": path, "expires_at": expires_at}, headers=headers
        )
    assert op == "revoke"
    return await client.post(f"{base}/urls/revoke", json={"path": path}, headers=headers)


def bases(vault_id: str) -> list[str]:
    return [form.removesuffix("/x") for form in route_forms(vault_id, "/x")]


@pytest.mark.parametrize("form", range(4), ids=lambda i: ["api-vault", "api", "v1-vault", "v1"][i])
async def test_every_route_form_does_the_same_thing(client, sk, vault_id, core, form):
    """The whole life of an asset under one route form, alternating Bearer and X-API-Key
    (the other way round on every other form, so each call is made with both)."""
    base = bases(vault_id)[form]
    styles = iter((["bearer", "x-api-key"] if form % 2 == 0 else ["x-api-key", "bearer"]) * 4)

    def next_headers() -> dict[str, str]:
        return key_headers(next(styles), sk)

    uploaded = await call(client, "upload", base, next_headers(), data=png(30, 20))
    assert uploaded.status_code == 201, uploaded.text
    asset = uploaded.json()
    check_record(asset, vault_id)
    assert (asset["width"], asset["height"], asset["mime_type"]) == (30, 20, "image/png")

    listed = await call(client, "list", base, next_headers())
    assert listed.status_code == 200, listed.text
    assert [a["id"] for a in listed.json()["data"]] == [asset["id"]]

    got = await call(client, "get", base, next_headers(), asset)
    assert got.status_code == 200 and got.json() == asset

    patched = await call(client, "patch", base, next_headers(), asset)
    assert patched.status_code == 200, patched.text
    assert patched.json()["metadata"] == '{"k":"v"}'

    signed = await call(client, "sign", base, next_headers(), asset)
    assert signed.status_code == 200, signed.text
    assert set(signed.json()) == {"url"}
    assert signed.json()["url"].startswith(asset["url"] + "?expires=")

    revoked = await call(client, "revoke", base, next_headers(), asset)
    assert (revoked.status_code, revoked.content) == (204, b"")

    deleted = await call(client, "delete", base, next_headers(), asset)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert await nothing_stored(core)


async def test_the_vault_id_in_the_path_is_case_insensitive(client, auth, vault_id):
    for spelled in (
        vault_id.lower(),
        "vault_" + vault_id[6:].lower(),
        vault_id.upper()[:6].lower() + vault_id[6:],
    ):
        response = await client.get(f"/v1/vaults/{spelled}/assets", headers=auth)
        assert response.status_code == 200, (spelled, response.text)


# -- 401 -----------------------------------------------------------------------------------


async def _expired_key(core, project) -> str:
    issued = await core.keys.issue("secret", project.id)
    async with core.db.write() as conn:
        await conn.execute(
            update(api_keys)
            .where(api_keys.c.id == issued.key.id)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    return issued.secret


async def _revoked_key(core, project) -> str:
    issued = await core.keys.issue("secret", project.id)
    await core.keys.revoke(issued.key.id)
    return issued.secret


async def test_no_unknown_revoked_or_expired_key_is_401(client, core, project, put, vault_id):
    asset = await put(jpeg(), filename="kept.jpg")
    before = await blob_keys(core)
    credentials = {
        "none": {},
        "empty bearer": {"Authorization": "Bearer "},
        "unknown": bearer("sk_" + uuid.uuid4().hex),
        "unknown x-api-key": {"X-API-Key": "pk_" + uuid.uuid4().hex},
        "revoked": bearer(await _revoked_key(core, project)),
        "expired": {"X-API-Key": await _expired_key(core, project)},
    }
    for op in OPS:
        for headers in credentials.values():
            for base in (f"/v1/vaults/{vault_id}", "/api/v1"):
                error(await call(client, op, base, headers, asset), 401, "UNAUTHORIZED")
    # nothing changed
    assert await row_count(core) == 1 and await blob_keys(core) == before
    got = await client.get(f"/v1/assets/{asset['id']}", headers=bearer(await _fresh(core, project)))
    assert got.json() == asset
    assert (await client.get(asset["url"].removeprefix("http://cdn.test"))).status_code == 200


async def _fresh(core, project) -> str:
    return (await core.keys.issue("secret", project.id)).secret


async def test_401_comes_before_the_vault_check(client, other):
    other_project, _ = other
    response = await client.get(f"/v1/vaults/{other_project.vault_id}/assets")
    error(response, 401, "UNAUTHORIZED")
    response = await client.get(
        "/v1/vaults/vault_00000000000000000000000000/assets", headers=bearer("sk_nope")
    )
    error(response, 401, "UNAUTHORIZED")


# -- another vault -------------------------------------------------------------------------


async def test_another_vault_in_the_path_is_404_not_found(client, core, sk, pk, put, other):
    asset = await put(jpeg(), filename="mine.jpg")
    other_project, other_key = other
    unknown = "vault_" + to_ulid(new_id())
    for op in OPS:
        for named in (other_project.vault_id, unknown, "vault_" + "Z" * 26, "vault_x"):
            for prefix in PREFIXES:
                for key in (sk, pk):
                    base = f"{prefix}/vaults/{named}"
                    error(await call(client, op, base, bearer(key), asset), 404, "NOT_FOUND")
        # their key with my vault's id: the same 404
        base = f"/v1/vaults/{asset['vault_id']}"
        error(await call(client, op, base, bearer(other_key), asset), 404, "NOT_FOUND")
    assert await row_count(core) == 1
    got = await call(client, "get", "/v1", bearer(sk), asset)
    assert got.json() == asset


async def test_the_other_vaults_404_is_identical_to_an_unknown_vaults(client, auth, other):
    known = await client.get(f"/v1/vaults/{other[0].vault_id}/assets", headers=auth)
    unknown_id = "vault_" + to_ulid(new_id())
    unknown = await client.get(f"/v1/vaults/{unknown_id}/assets", headers=auth)
    a, b = error(known, 404, "NOT_FOUND"), error(unknown, 404, "NOT_FOUND")
    assert a["message"].replace(other[0].vault_id, "X") == b["message"].replace(unknown_id, "X")


# -- permissions ---------------------------------------------------------------------------


async def test_a_public_key_reads(client, pk, put, vault_id):
    asset = await put(jpeg(), filename="read.jpg")
    for base in bases(vault_id):
        listed = await call(client, "list", base, bearer(pk))
        assert listed.status_code == 200 and listed.json()["data"] == [asset]
        got = await call(client, "get", base, {"X-API-Key": pk}, asset)
        assert got.status_code == 200 and got.json() == asset
        by_path = await client.get(f"{base}/assets/{asset['path']}", headers=bearer(pk))
        assert by_path.status_code == 200 and by_path.json() == asset


async def test_a_public_key_may_not_write_and_nothing_changes(
    client, core, project, pk, put, vault_id
):
    asset = await put(jpeg(), filename="guarded.jpg")
    before = await blob_keys(core)
    for op in WRITES:
        for base in bases(vault_id):
            for headers in (bearer(pk), {"X-API-Key": pk}):
                response = await call(client, op, base, headers, asset, partition="other")
                error(response, 403, "FORBIDDEN")
    assert await row_count(core) == 1 and await blob_keys(core) == before
    assert list(core.settings.resolved_spool_dir().iterdir()) == []
    got = await call(client, "get", "/v1", bearer(pk), asset)
    assert got.json() == asset  # metadata unchanged
    assert (await core.projects.get(project.id)).settings.vault_signing_keys == ()  # no secret
    delivered = await client.get(asset["url"].removeprefix("http://cdn.test"))
    assert delivered.status_code == 200  # revoke revoked nothing


async def test_a_master_key_is_403_on_every_vault_route(client, core, master, put, vault_id):
    asset = await put(jpeg(), filename="admin.jpg")
    for op in OPS:
        for base in bases(vault_id):
            for headers in (bearer(master), {"X-API-Key": master}):
                response = await call(client, op, base, headers, asset, partition="master")
                error(response, 403, "FORBIDDEN")
    assert await row_count(core) == 1


async def test_unknown_routes_under_v1_are_404_in_the_vault_envelope(client, auth, vault_id):
    for path in ("/v1/nothing", "/v1/vaults", f"/v1/vaults/{vault_id}/nothing", "/v1/urls/x"):
        error(await client.get(path, headers=auth), 404, "NOT_FOUND")
