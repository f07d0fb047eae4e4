"""§11: imgbt's SDK, ported (tests/vaults/sdk.py), against pixvault: every call it makes
answers 2xx JSON (204 without a body), lists iterate to the end with its stop rule, and a
client mistake is a 4xx it maps to a typed error, never a 5xx (which it would retry)."""

import json
import time
import uuid

import httpx
import pytest

from pixvault.app import create_app
from tests.helpers import jpeg, nothing_stored, png
from tests.vaults.sdk import Sdk, SdkError
from tests.vaults.support import bearer, error, pathname, sdk_upload, signed_target

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def sdk(client, sk, vault_id):
    return Sdk(client, sk, vault_id, default_domain=f"http://cdn.test/{vault_id}")


def local(url: str) -> str:
    assert url.startswith("http://cdn.test/"), url
    return url.removeprefix("http://cdn.test")


async def raised(call) -> SdkError:
    with pytest.raises(SdkError) as caught:
        await call
    return caught.value


async def test_the_sdk_round_trip(client, core, sdk, vault_id):
    # upload: a Buffer without a filename, a named file with a type, a PDF, metadata, tags
    anonymous = await sdk.upload(jpeg(64, 48), "acme-corp", "sf-office", "avatars")
    assert anonymous["filename"].startswith("upload-") and anonymous["width"] == 64
    jane = await sdk.upload(
        png(50, 40),
        "acme-corp",
        "sf-office",
        "avatars",
        filename="jane doe.png",
        content_type="image/png",
        metadata={"userId": "123"},
        tags=["profile", "employee"],
    )
    assert jane["path"] == "acme-corp/sf-office/avatars/jane doe.png"
    assert jane["vault"] == vault_id and jane["contentType"] == "image/png"
    assert jane["metadata"] == '{"userId":"123"}' or json.loads(jane["metadata"]) == {
        "userId": "123"
    }
    assert isinstance(jane["tags"], str) and json.loads(jane["tags"]) == ["profile", "employee"]
    contract = await sdk.upload(PDF, "acme-corp", "docs", "legal", filename="contract.pdf")
    assert (contract["contentType"], contract["width"], contract["pages"]) == (
        "application/pdf",
        None,
        None,
    )
    for i in range(4):
        await sdk.upload(png(), "acme-corp", "sf-office", "avatars", filename=f"n{i}.png")

    # list: the iterator reads every page to the end
    everything = [a async for a in sdk.iterate(partition="acme-corp", limit=2)]
    assert len(everything) == 7 and len({a["id"] for a in everything}) == 7
    assert [a["id"] for a in everything][-2:] == [jane["id"], anonymous["id"]]
    by_channel = [a async for a in sdk.iterate(channel="avatars", limit=3)]
    assert len(by_channel) == 6
    single = await sdk.list_page(partition="acme-corp", collection="docs")
    assert [a["id"] for a in single["data"]] == [contract["id"]]
    assert (single["cursor"], single["has_more"]) == (None, False)

    # get, update
    assert await sdk.get(jane["id"]) == jane
    updated = await sdk.update(jane["id"], {"metadata": {"status": "approved"}, "tags": ["v"]})
    assert json.loads(updated["metadata"]) == {"userId": "123", "status": "approved"}
    assert json.loads(updated["tags"]) == ["v"]

    # delivery URLs built locally, with the SDK's parameter names
    plain = await client.get(local(sdk.url(jane["path"])))
    assert plain.status_code == 200 and plain.headers["content-type"] == "image/png"
    assert local(sdk.url(jane["path"])) == local(jane["url"])
    thumb = await client.get(
        local(sdk.url(jane["path"], {"width": 20, "height": 20, "format": "webp", "quality": 80}))
    )
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    bordered = sdk.url(
        jane["path"], {"width": 20, "border": "2,ff0000", "grayscale": True, "flip": "h"}
    )
    assert "border=2%2Cff0000" in bordered and "grayscale=true" in bordered
    assert (await client.get(local(bordered))).status_code == 200

    # signUrl: the server builds the URL; revoke it by token
    signed = await sdk.sign_url(contract["path"], 3600)
    assert (await client.get(local(signed))).status_code == 200
    fractional = await sdk.sign_url(contract["path"], 7200.5)  # another expiry, floored
    assert (await client.get(local(fractional))).status_code == 200
    token = signed.rsplit("token=", 1)[1]
    assert await sdk.revoke(token) is None
    assert (await client.get(local(signed))).status_code == 403
    assert (await client.get(local(fractional))).status_code == 200
    await sdk.revoke(contract["path"])
    assert (await client.get(local(fractional))).status_code == 403

    # delete by id and by path (encodeURIComponent)
    await sdk.delete(anonymous["id"])
    await sdk.delete(jane["path"])
    await sdk.delete("/".join(("acme-corp", "docs", "legal", "contract.pdf")))
    rest = [a async for a in sdk.iterate(limit=1)]
    assert sorted(a["filename"] for a in rest) == ["n0.png", "n1.png", "n2.png", "n3.png"]
    for asset in rest:
        await sdk.delete(asset["path"])
    assert [a async for a in sdk.iterate()] == []
    assert await nothing_stored(core)
    assert all(200 <= status < 300 for _, _, status in sdk.calls), sdk.calls


async def test_the_sdks_typed_errors(client, sdk, vault_id):
    await sdk.upload(png(), "acme", "office", "avatars", filename="one.png")
    conflict = await raised(sdk.upload(png(), "acme", "office", "avatars", filename="one.png"))
    assert (conflict.kind, conflict.code) == ("conflict", "CONFLICT")
    invalid = await raised(sdk.upload(png(), "Acme", "office", "avatars"))
    assert (invalid.kind, invalid.code) == ("validation", "INVALID_PARAMS")
    assert "partition" in invalid.message
    missing = await raised(sdk.get("asset_01ARZ3NDEKTSV4RRFFQ69G5FAV"))
    assert (missing.kind, missing.code) == ("not_found", "ASSET_NOT_FOUND")
    gone = await raised(sdk.delete("acme/office/avatars/missing.png"))
    assert gone.kind == "not_found"
    password = await raised(sdk.sign_url("acme/office/avatars/one.png", 60, password="pw"))
    assert password.kind == "validation"
    wrong_key = Sdk(client, "sk_" + uuid.uuid4().hex, vault_id)
    unauthorized = await raised(wrong_key.list_page())
    assert (unauthorized.kind, unauthorized.code) == ("authentication", "UNAUTHORIZED")
    wrong_vault = Sdk(client, sdk.api_key, "vault_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert (await raised(wrong_vault.sign_url("acme/office/avatars/one.png", 60))).status == 404
    assert (await raised(wrong_vault.revoke("acme/office/avatars/one.png"))).status == 404


# -- never a 5xx for a client mistake ------------------------------------------------------


@pytest.fixture
async def lenient(core):
    """A client of the app that gets a 500 response, not the exception, for an app error."""
    transport = httpx.ASGITransport(
        app=create_app(core.settings, core=core), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def five_hundreds(http, attempts):
    """The attempts answered with a 5xx, or with an error outside the vault envelope."""
    wrong = []
    for method, path, options in attempts:
        options = dict(options)
        response = await http.request(method, path, **options)
        try:
            body = response.json()
            enveloped = set(body) == {"error"} and body["error"]["status"] == response.status_code
        except ValueError:
            enveloped = False
        if response.status_code >= 500 or (response.status_code >= 400 and not enveloped):
            wrong.append(
                (method, path, options.get("params"), response.status_code, response.text[:200])
            )
    return wrong


def mistakes(sk, asset, vault_id):
    auth = {"Authorization": f"Bearer {sk}"}
    later = int(time.time()) + 3600
    deep = "[" * 5000 + "]" * 5000
    ref = f"/v1/assets/{asset['id']}"
    raw = f"/{vault_id}/{asset['path']}"
    multipart = {"Content-Type": "multipart/form-data"}
    return [
        ("GET", "/v1/assets", {"params": {"limit": "9" * 40}, "headers": auth}),
        ("GET", "/v1/assets", {"params": {"limit": "٣٣٣"}, "headers": auth}),
        ("GET", "/v1/assets", {"params": {"cursor": "é" * 10}, "headers": auth}),
        ("GET", "/v1/assets", {"params": {"cursor": "%%%"}, "headers": auth}),
        ("GET", "/v1/assets", {"params": {"partition": "a\x00"}, "headers": auth}),
        ("GET", "/v1/assets/asset_%00", {"headers": auth}),
        ("GET", "/v1/assets/" + "a/" * 300, {"headers": auth}),
        ("GET", "/v1/assets/%C0%AF", {"headers": auth}),
        ("PATCH", ref, {"content": deep.encode(), "headers": auth}),
        ("PATCH", ref, {"content": b"\xff\xfe{}", "headers": auth}),
        (
            "PATCH",
            ref,
            {"json": {"metadata": {"a": json.loads("[" * 30 + "]" * 30)}}, "headers": auth},
        ),
        ("PATCH", ref, {"json": {"tags": ["x" * 10_000]}, "headers": auth}),
        ("PATCH", ref, {"json": {"tags": [f"{i}" for i in range(500)]}, "headers": auth}),
        (
            "POST",
            "/v1/urls/sign",
            {"content": b'{"path": "p", "expires_at": 1e400}', "headers": auth},
        ),
        (
            "POST",
            "/v1/urls/sign",
            {"json": {"path": asset["path"], "expires_at": -1e20}, "headers": auth},
        ),
        (
            "POST",
            "/v1/urls/sign",
            {"json": {"path": asset["path"], "expires_at": 1e300}, "headers": auth},
        ),
        ("POST", "/v1/urls/sign", {"json": {"path": "a/b", "expires_at": later}, "headers": auth}),
        ("POST", "/v1/urls/sign", {"json": {"path": "/", "expires_at": later}, "headers": auth}),
        ("POST", "/v1/urls/sign", {"json": {"path": ["x"], "expires_at": later}, "headers": auth}),
        (
            "POST",
            "/v1/urls/sign",
            {"json": {"path": asset["path"], "expires_at": later, "vault": 5}, "headers": auth},
        ),
        ("POST", "/v1/urls/revoke", {"json": {"path": "a/b/c/d/e/f"}, "headers": auth}),
        ("POST", "/v1/urls/revoke", {"json": {"path": "?token=abc&expires=soon"}, "headers": auth}),
        ("POST", "/v1/urls/revoke", {"json": {"path": "x", "vault": ["v"]}, "headers": auth}),
        ("POST", "/v1/assets", {"content": b"garbage", "headers": {**auth, **multipart}}),
        (
            "POST",
            "/v1/assets",
            {
                "content": b"--b--",
                "headers": {**auth, "Content-Type": "multipart/form-data; boundary=b"},
            },
        ),
        ("DELETE", "/v1/assets/", {"headers": auth}),
        ("PUT", "/v1/assets", {"headers": auth}),
        ("GET", raw, {"params": {"w": "9" * 40}}),
        ("GET", raw, {"params": {"w": "1e3"}}),
        ("GET", raw, {"params": {"expires": "9" * 40, "token": "abc"}}),
        ("GET", raw, {"params": {"expires": "²", "token": "abc"}}),
        ("GET", raw, {"params": {"token": "A" * 5000, "expires": str(later)}}),
        ("GET", raw, {"params": {"w": ["10", "20"]}}),
        ("GET", raw, {"params": {"w": "\x00"}}),
        ("GET", raw + "?%ff=1", {}),
    ]


async def test_client_mistakes_are_4xx_never_5xx(lenient, sk, sdk, vault_id):
    asset = await sdk.upload(png(), "acme", "office", "avatars", filename="x.png")
    wrong = await five_hundreds(lenient, mistakes(sk, asset, vault_id))
    assert not wrong, "\n".join(map(repr, wrong))


# Client mistakes that are a 500 today (each its own test, so each is tracked on its own).


async def test_a_limit_of_non_decimal_digits_is_400(lenient, sk):
    for limit in ("²", "¹⁰", "①"):
        response = await lenient.get("/v1/assets", params={"limit": limit}, headers=bearer(sk))
        error(response, 400, "INVALID_PARAMS", names="limit")


async def test_revoking_urls_with_any_expires_is_not_a_500(lenient, sk, put):
    asset = await put(png(), filename="far.png")
    signed = await lenient.post(
        "/v1/urls/sign", json={"path": asset["path"], "expires_at": 10**20}, headers=bearer(sk)
    )
    assert signed.status_code == 200, signed.text
    for url in (
        signed.json()["url"],
        "http://cdn.test/x?token=abc&expires=" + "9" * 30,
        "http://cdn.test/x?token=abc&expires=²",
    ):
        response = await lenient.post("/v1/urls/revoke", json={"path": url}, headers=bearer(sk))
        assert response.status_code in (204, 400), (url, response.status_code, response.text)


async def test_sign_with_an_integer_past_any_float_is_400(lenient, sk, put):
    asset = await put(png(), filename="big.png")
    body = json.dumps({"path": asset["path"], "expires_at": 0}).replace("0}", "1" + "0" * 400 + "}")
    assert body.endswith("0" * 400 + "}")
    response = await lenient.post(
        "/v1/urls/sign",
        content=body.encode(),
        headers={**bearer(sk), "Content-Type": "application/json"},
    )
    error(response, 400, "INVALID_PARAMS", names="expires_at")


async def test_a_signed_url_with_a_non_decimal_expires_is_403(
    lenient, put, project, set_vault_secrets
):
    await set_vault_secrets(project.vault_id, ["a-vault-secret-of-20+"])
    asset = await put(png(), filename="sup.png")
    target = signed_target(
        "a-vault-secret-of-20+", pathname(project.vault_id, asset["path"]), [], "²"
    )
    error(await lenient.get(target), 403, "FORBIDDEN")


async def test_json_fields_with_lone_surrogates_are_400(lenient, sk, put):
    asset = await put(png(), filename="s.png")
    for name, text in (
        ("metadata", '{"a": "\\ud800"}'),
        ("tags", '["\\udc00"]'),
        ("metadata", '{"\\udc00": 1}'),
    ):
        response = await sdk_upload(lenient, sk, png(), filename=f"{name}.png", **{name: text})
        error(response, 400, "INVALID_PARAMS", names=name)
        response = await lenient.patch(
            f"/v1/assets/{asset['id']}",
            content=f'{{"{name}": {text}}}'.encode(),
            headers={**bearer(sk), "Content-Type": "application/json"},
        )
        error(response, 400, "INVALID_PARAMS")


async def test_metadata_with_nan_or_infinity_is_400(lenient, sk, put):
    asset = await put(png(), filename="n.png")
    for i, text in enumerate(('{"a": NaN}', '{"a": Infinity}', '{"a": -1e400}')):
        response = await sdk_upload(lenient, sk, png(), filename=f"n{i}.png", metadata=text)
        error(response, 400, "INVALID_PARAMS", names="metadata")
        response = await lenient.patch(
            f"/v1/assets/{asset['id']}",
            content=f'{{"metadata": {text}}}'.encode(),
            headers={**bearer(sk), "Content-Type": "application/json"},
        )
        error(response, 400, "INVALID_PARAMS", names="metadata")
