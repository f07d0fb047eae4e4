"""§6 get, update and delete one asset, by id or by path."""

import json
import uuid
from urllib.parse import quote

from pixvault.domain.ids import new_id, to_ulid
from tests.helpers import blob_keys, jpeg, png, row_count, uploaded
from tests.vaults.support import bearer, error, image_uuid, route_forms


def encoded(path: str) -> str:
    """encodeURIComponent(path), as the SDK's delete sends it."""
    return quote(path, safe="-_.!~*'()")


def plain(path: str) -> str:
    return "/".join(quote(part, safe="") for part in path.split("/"))


def refs(asset: dict) -> list[str]:
    ulid = asset["id"][len("asset_") :]
    return [
        asset["id"],
        "asset_" + ulid.lower(),
        "asset_" + ulid[:13].lower() + ulid[13:],
        encoded(asset["path"]),
        plain(asset["path"]),
    ]


# -- get -----------------------------------------------------------------------------------


async def test_get_by_id_any_case_and_by_path_either_way(client, sk, put, vault_id):
    asset = await put(png(), filename="my photo é (1).png", metadata='{"a": 1}')
    for base in route_forms(vault_id, "/assets"):
        for ref in refs(asset):
            response = await client.get(f"{base}/{ref}", headers=bearer(sk))
            assert response.status_code == 200, (base, ref, response.text)
            assert response.json() == asset


async def test_unknown_and_malformed_refs_are_404_asset_not_found(client, sk, put, other):
    asset = await put(png(), filename="here.png")
    _, other_key = other
    theirs = (
        await client.post(
            "/v1/assets",
            headers=bearer(other_key),
            files={"file": ("upload", png(), "application/octet-stream")},
            data={"partition": "acme", "collection": "office", "channel": "avatars",
                  "filename": "theirs.png"},
        )
    ).json()  # fmt: skip
    ulid = asset["id"][len("asset_") :]
    for ref in (
        "asset_" + to_ulid(new_id()),  # unknown
        "asset_",
        "asset_xyz",
        "asset_" + "U" * 26,  # not Crockford base32
        "asset_8" + "0" * 25,  # past 128 bits
        "asset_" + ulid + "0",
        "asset_" + ulid[:-1],
        theirs["id"],  # another vault's asset
        encoded(theirs["path"]),
        encoded("acme/office/avatars/missing.png"),
        "acme/office/avatars/missing.png",
        "acme/office/here.png",  # not four segments
        "acme/office/avatars/here.png/extra",
        encoded("ACME/office/avatars/here.png"),
        "here.png",
    ):
        response = await client.get(f"/v1/assets/{ref}", headers=bearer(sk))
        error(response, 404, "ASSET_NOT_FOUND")
        assert (await client.delete(f"/v1/assets/{ref}", headers=bearer(sk))).status_code == 404
        response = await client.patch(f"/v1/assets/{ref}", json={"tags": ["x"]}, headers=bearer(sk))
        error(response, 404, "ASSET_NOT_FOUND")
    got = await client.get(f"/v1/assets/{theirs['id']}", headers=bearer(other_key))
    assert got.json() == theirs


async def test_a_native_image_without_a_folder_path_is_not_an_asset_by_id(client, api, sk):
    image = await uploaded(api, jpeg())
    ref = "asset_" + to_ulid(uuid.UUID(image["id"]))
    error(await client.get(f"/v1/assets/{ref}", headers=bearer(sk)), 404, "ASSET_NOT_FOUND")


# -- patch ---------------------------------------------------------------------------------


async def test_patch_merges_metadata_and_replaces_tags(client, core, project, sk, put):
    asset = await put(
        png(), filename="p.png", metadata='{"a": 1, "b": 2, "keep": "yes"}', tags='["x", "y"]'
    )
    before = await core.library.get(project, image_uuid(asset))
    response = await client.patch(
        f"/v1/assets/{asset['id']}",
        json={"metadata": {"b": None, "c": {"deep": [1]}, "a": 10}, "tags": ["z"]},
        headers={**bearer(sk), "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert json.loads(patched["metadata"]) == {"a": 10, "keep": "yes", "c": {"deep": [1]}}
    assert json.loads(patched["tags"]) == ["z"]
    assert isinstance(patched["metadata"], str) and isinstance(patched["tags"], str)
    assert patched["created_at"] == asset["created_at"]
    assert patched["updated_at"] >= patched["created_at"]
    after = await core.library.get(project, image_uuid(asset))
    assert after.updated_at > before.updated_at and after.created_at == before.created_at
    assert {k: v for k, v in patched.items() if k not in ("metadata", "tags", "updated_at")} == {
        k: v for k, v in asset.items() if k not in ("metadata", "tags", "updated_at")
    }
    assert (await client.get(f"/v1/assets/{asset['id']}", headers=bearer(sk))).json() == patched

    only_tags = await client.patch(
        f"/v1/assets/{encoded(asset['path'])}", json={"tags": []}, headers=bearer(sk)
    )
    assert only_tags.status_code == 200, only_tags.text
    assert (only_tags.json()["tags"], only_tags.json()["metadata"]) == ("[]", patched["metadata"])
    only_meta = await client.patch(
        f"/api/v1/assets/{plain(asset['path'])}",
        json={"metadata": {"keep": None}},
        headers=bearer(sk),
    )
    assert only_meta.status_code == 200, only_meta.text
    assert json.loads(only_meta.json()["metadata"]) == {"a": 10, "c": {"deep": [1]}}
    assert only_meta.json()["tags"] == "[]"
    empty_merge = await client.patch(
        f"/v1/assets/{asset['id']}", json={"metadata": {}}, headers=bearer(sk)
    )
    assert empty_merge.status_code == 200
    assert json.loads(empty_merge.json()["metadata"]) == {"a": 10, "c": {"deep": [1]}}


async def test_bad_patch_bodies_are_400_and_change_nothing(client, sk, put):
    asset = await put(png(), filename="p.png", metadata='{"a": 1}', tags='["t"]')
    url = f"/v1/assets/{asset['id']}"
    for body in (
        {},
        {"other": 1},
        {"metadata": {"b": 1}, "unknown": True},
        {"metadata": [1]},
        {"metadata": '{"b": 1}'},
        {"metadata": None},
        {"metadata": 3},
        {"tags": "t"},
        {"tags": [1]},
        {"tags": ["ok", None]},
        {"tags": None},
        {"tags": {"a": 1}},
        [],
        ["metadata"],
        "text",
        None,
        3,
    ):
        response = await client.patch(url, json=body, headers=bearer(sk))
        error(response, 400, "INVALID_PARAMS")
    for raw in (b"", b"not json", b"{", b'{"metadata": {"a": 1}'):
        response = await client.patch(
            url, content=raw, headers={**bearer(sk), "Content-Type": "application/json"}
        )
        error(response, 400, "INVALID_PARAMS")
    # shape before existence: a bad body on an unknown asset is still 400
    unknown = "/v1/assets/asset_" + to_ulid(new_id())
    error(await client.patch(unknown, json={}, headers=bearer(sk)), 400, "INVALID_PARAMS")
    assert (await client.get(url, headers=bearer(sk))).json() == asset


# -- delete --------------------------------------------------------------------------------


async def test_delete_removes_the_row_the_bytes_and_the_derivatives(client, core, project, sk, put):
    asset = await put(jpeg(120, 90), filename="gone.jpg")
    keep = await put(png(), filename="kept.png")
    delivery = asset["url"].removeprefix("http://cdn.test")
    assert (await client.get(delivery, params={"w": "30"})).status_code == 200
    assert len(await blob_keys(core)) == 3  # two originals and a derivative
    response = await client.delete(f"/v1/assets/{asset['id']}", headers=bearer(sk))
    assert (response.status_code, response.content) == (204, b"")
    error(await client.get(f"/v1/assets/{asset['id']}", headers=bearer(sk)), 404, "ASSET_NOT_FOUND")
    assert (await client.get(delivery)).status_code == 404
    assert (await client.get(delivery, params={"w": "30"})).status_code == 404
    again = await client.delete(f"/v1/assets/{asset['id']}", headers=bearer(sk))
    error(again, 404, "ASSET_NOT_FOUND")
    image = await core.library.get(project, image_uuid(keep))
    assert await blob_keys(core) == [image.storage_key]
    assert await row_count(core) == 1


async def test_delete_by_encoded_path_plain_path_and_lowercase_id(client, core, sk, put, vault_id):
    names = ["by encoded é.png", "by-plain.png", "by-id.png"]
    assets = [await put(png(), filename=name) for name in names]
    refs_used = [
        encoded(assets[0]["path"]),
        plain(assets[1]["path"]),
        "asset_" + assets[2]["id"][len("asset_") :].lower(),
    ]
    for base, ref in zip(route_forms(vault_id, "/assets")[1:], refs_used, strict=True):
        response = await client.delete(f"{base}/{ref}", headers=bearer(sk))
        assert (response.status_code, response.content) == (204, b""), (ref, response.text)
    assert await row_count(core) == 0 and await blob_keys(core) == []
