"""§9 signed delivery URLs (the docs' client-side scheme), §9.1 where the secret lives, and
§10 `/urls/sign` and `/urls/revoke`."""

import math
import time
from urllib.parse import parse_qs, urlsplit

import pyvips

from tests.helpers import jpeg, png
from tests.vaults.support import (
    bearer,
    compute_token,
    error,
    pathname,
    route_forms,
    signed_target,
)

FIRST = "current-vault-secret-0123456789"
SECOND = "previous-secret-still-valid-abc"
THIRD = "a-third-secret-for-rotation-xyz"


def later(seconds: int = 3600) -> int:
    return int(time.time()) + seconds


def local(url: str) -> str:
    assert url.startswith("http://cdn.test/"), url
    return url.removeprefix("http://cdn.test")


async def served(client, target: str, **headers):
    response = await client.get(target, headers=headers)
    assert response.status_code == 200, (target, response.text)
    assert response.headers["cache-control"] == "private, no-store"
    return response


async def refused(client, target: str):
    error(await client.get(target), 403, "FORBIDDEN")


# -- verification --------------------------------------------------------------------------


async def test_a_valid_signed_url_is_served_privately(client, put, project, set_vault_secrets):
    await set_vault_secrets(project.vault_id, [FIRST, SECOND])
    data = png(30, 20)
    asset = await put(data, filename="secret doc é.png")
    raw = pathname(project.vault_id, asset["path"])
    assert "%20" in raw and "%C3%A9" in raw  # the pathname as sent, still encoded
    for padded in (False, True):
        target = signed_target(FIRST, raw, [], later(), padded=padded)
        assert target.endswith("%3D") == padded  # form-encoded '=' padding
        response = await served(client, target)
        assert response.content == data
        assert response.headers["content-type"] == "image/png"
    # raw '=' padding in the query works too
    expires = later()
    token = compute_token(FIRST, raw, [], str(expires), padded=True)
    assert token.endswith("=")
    await served(client, f"{raw}?expires={expires}&token={token}")
    # parameter order in the URL does not matter
    await served(
        client, f"{raw}?token={compute_token(FIRST, raw, [], str(expires))}&expires={expires}"
    )
    # the unsigned URL stays public
    public = await client.get(raw)
    assert public.status_code == 200
    assert public.headers["cache-control"] == "public, max-age=60"


async def test_a_signed_url_carries_its_transforms(client, put, project, set_vault_secrets):
    await set_vault_secrets(str(project.id), [FIRST])
    asset = await put(jpeg(200, 100), filename="wide.jpg")
    raw = pathname(project.vault_id, asset["path"])
    signed = [("w", "50"), ("fit", "inside"), ("f", "webp"), ("border", "5,ff0000")]
    response = await served(client, signed_target(FIRST, raw, signed, later()))
    assert response.headers["content-type"] == "image/webp"
    image = pyvips.Image.new_from_buffer(response.content, "")
    assert (image.width, image.height) == (60, 35)  # border drawn outside: +2*5 each way
    # the same parameters in another order: the sorted payload is the same
    shuffled = signed_target(FIRST, raw, list(reversed(signed)), later())
    await served(client, shuffled)


async def test_a_signed_url_with_both_sides_and_imgbts_default_fit(
    client, put, project, set_vault_secrets
):
    """`?w=40&h=40` signed by the client (no `fit`): the default fit is cover, and the token
    covers exactly the parameters the client sent."""
    await set_vault_secrets(project.vault_id, [FIRST])
    asset = await put(jpeg(200, 100), filename="square.jpg")
    raw = pathname(project.vault_id, asset["path"])
    response = await client.get(signed_target(FIRST, raw, [("w", "40"), ("h", "40")], later()))
    assert response.status_code == 200, response.text
    image = pyvips.Image.new_from_buffer(response.content, "")
    assert (image.width, image.height) == (40, 40)


async def test_bad_signed_urls_are_403(client, put, project, set_vault_secrets):
    await set_vault_secrets(project.vault_id, [FIRST])
    asset = await put(png(), filename="a.png")
    await put(png(), filename="b.png")
    raw = pathname(project.vault_id, asset["path"])
    other_raw = pathname(project.vault_id, "acme/office/avatars/b.png")
    expires = later()
    token = compute_token(FIRST, raw, [("w", "20")], str(expires))
    for target in (
        signed_target(FIRST, raw, [], int(time.time()) - 5),  # expired
        signed_target(FIRST, raw, [], int(time.time())),  # expires now
        f"{other_raw}?w=20&expires={expires}&token={token}",  # another path
        f"{raw}?w=21&expires={expires}&token={token}",  # a changed parameter
        f"{raw}?w=20&h=20&expires={expires}&token={token}",  # an added parameter
        f"{raw}?expires={expires}&token={token}",  # a removed parameter
        f"{raw}?w=20&expires={expires + 1}&token={token}",  # a changed expiry
        f"{raw}?w=20&token={token}",  # no expires
        f"{raw}?w=20&expires={expires}",  # no token
        f"{raw}?w=20&expires={expires}&token=",  # an empty token
        f"{raw}?w=20&expires={expires}.0&token={token}",  # not an integer
        f"{raw}?w=20&expires=soon&token={token}",
        signed_target("some-other-secret-entirely", raw, [], expires),  # wrong secret
        signed_target(FIRST, raw, [], expires)[:-2],  # a truncated token
    ):
        await refused(client, target)


async def test_a_token_when_the_vault_has_no_secret_is_403(client, put, project):
    asset = await put(png(), filename="a.png")
    raw = pathname(project.vault_id, asset["path"])
    await refused(client, signed_target(FIRST, raw, [], later()))
    await refused(client, f"{raw}?expires={later()}")
    assert (await client.get(raw)).status_code == 200


async def test_every_secret_verifies_and_rotation_retires_the_old(
    client, put, project, set_vault_secrets
):
    await set_vault_secrets(project.vault_id, [FIRST, SECOND])
    asset = await put(png(), filename="rotate.png")
    raw = pathname(project.vault_id, asset["path"])
    old = signed_target(SECOND, raw, [], later())
    new = signed_target(FIRST, raw, [], later())
    await served(client, old)
    await served(client, new)
    await set_vault_secrets(str(project.id), [THIRD, FIRST])  # SECOND retired
    await refused(client, old)
    await served(client, new)
    await served(client, signed_target(THIRD, raw, [], later()))


async def test_vault_secrets_live_in_the_settings_document(client, master, project):
    for ref in (project.vault_id, str(project.id)):
        response = await client.put(
            f"/api/v1/admin/projects/{ref}/settings",
            json={"settings": {"vaultSigningKeys": [FIRST]}},
            headers={"X-API-Key": master},
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["settings"]["vaultSigningKeys"] == [FIRST]
    too_short = await client.put(
        f"/api/v1/admin/projects/{project.id}/settings",
        json={"settings": {"vaultSigningKeys": ["short"]}},
        headers={"X-API-Key": master},
    )
    assert too_short.status_code == 400
    listed = await client.get("/api/v1/admin/projects", headers={"X-API-Key": master})
    mine = next(p for p in listed.json()["data"] if p["vaultId"] == project.vault_id)
    assert mine["settings"]["vaultSigningKeys"] == [FIRST]
    # a vault secret does not make unsigned URLs private, nor native signing mandatory
    assert "signingKeys" not in mine["settings"]


# -- /urls/sign ----------------------------------------------------------------------------


async def _sign(client, sk, body, path="/v1/urls/sign"):
    return await client.post(path, json=body, headers={**bearer(sk), "Accept": "application/json"})


async def test_sign_makes_a_secret_when_none_is_set_and_its_url_works(
    client, sk, master, put, project
):
    data = png(16, 16)
    asset = await put(data, filename="contract é.png")
    expires_at = later()
    response = await _sign(
        client, sk, {"path": asset["path"], "vault": project.vault_id, "expires_at": expires_at}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()) == {"url"}
    url = response.json()["url"]
    listed = await client.get("/api/v1/admin/projects", headers={"X-API-Key": master})
    mine = next(p for p in listed.json()["data"] if p["vaultId"] == project.vault_id)
    (secret,) = mine["settings"]["vaultSigningKeys"]
    assert len(secret) >= 16
    raw = pathname(project.vault_id, asset["path"])
    token = compute_token(secret, raw, [], str(expires_at))
    assert url == f"http://cdn.test{raw}?expires={expires_at}&token={token}"
    assert (await served(client, local(url))).content == data
    # the next signature uses the same secret
    again = await _sign(client, sk, {"path": asset["path"], "expires_at": expires_at + 1})
    assert parse_qs(urlsplit(again.json()["url"]).query)["token"] == [
        compute_token(secret, raw, [], str(expires_at + 1))
    ]
    # a signed URL changed after signing is refused
    await refused(client, local(url) + "&w=10")


async def test_sign_uses_the_first_secret_under_every_route_form(
    client, sk, put, project, set_vault_secrets
):
    await set_vault_secrets(project.vault_id, [FIRST, SECOND])
    asset = await put(png(), filename="s.png")
    raw = pathname(project.vault_id, asset["path"])
    for route in route_forms(project.vault_id, "/urls/sign"):
        expires_at = later()
        response = await _sign(
            client, sk, {"path": "/" + asset["path"], "expires_at": expires_at}, route
        )
        assert response.status_code == 200, response.text
        token = compute_token(FIRST, raw, [], str(expires_at))
        assert response.json()["url"] == f"http://cdn.test{raw}?expires={expires_at}&token={token}"
        await served(client, local(response.json()["url"]))


async def test_a_fractional_expiry_is_floored(client, sk, put, project):
    asset = await put(png(), filename="f.png")
    expires_at = time.time() + 0.5 + 3600  # the SDK's '0.5s'-style durations
    response = await _sign(client, sk, {"path": asset["path"], "expires_at": expires_at})
    assert response.status_code == 200, response.text
    query = parse_qs(urlsplit(response.json()["url"]).query)
    assert query["expires"] == [str(math.floor(expires_at))]
    await served(client, local(response.json()["url"]))


async def test_sign_refusals(client, sk, put, project, other):
    asset = await put(png(), filename="r.png")
    path = asset["path"]
    for body, names in (
        ({"path": path}, "expires_at"),
        ({"path": path, "expires_at": int(time.time()) - 1}, "expires_at"),
        ({"path": path, "expires_at": int(time.time())}, "expires_at"),
        ({"path": path, "expires_at": str(later())}, "expires_at"),
        ({"path": path, "expires_at": None}, "expires_at"),
        ({"path": path, "expires_at": True}, "expires_at"),
        ({"path": path, "expires_at": later(), "password": "secret123"}, "password"),
        ({"expires_at": later()}, "path"),
        ({"path": 3, "expires_at": later()}, "path"),
    ):
        error(await _sign(client, sk, body), 400, "INVALID_PARAMS", names=names)
    for raw in (b"not json", b"", b"[]"):
        response = await client.post(
            "/v1/urls/sign", content=raw, headers={**bearer(sk), "Content-Type": "application/json"}
        )
        error(response, 400, "INVALID_PARAMS")
    missing = {"path": "acme/office/avatars/missing.png", "expires_at": later()}
    error(await _sign(client, sk, missing), 404, "ASSET_NOT_FOUND")
    for vault in (other[0].vault_id, "vault_01ARZ3NDEKTSV4RRFFQ69G5FAV", "other", "acme/other"):
        body = {"path": path, "vault": vault, "expires_at": later()}
        error(await _sign(client, sk, body), 404, "NOT_FOUND")
    for vault in (project.vault_id, project.vault_id.lower(), "default", "default/default"):
        body = {"path": path, "vault": vault, "expires_at": later()}
        assert (await _sign(client, sk, body)).status_code == 200, vault


# -- /urls/revoke --------------------------------------------------------------------------


async def _revoke(client, sk, body, path="/v1/urls/revoke"):
    response = await client.post(
        path, json=body, headers={**bearer(sk), "Accept": "application/json"}
    )
    return response


async def _signed_url(client, sk, path, expires_at):
    response = await _sign(client, sk, {"path": path, "expires_at": expires_at})
    assert response.status_code == 200, response.text
    return local(response.json()["url"])


async def test_revoke_a_whole_signed_url(client, sk, put, project):
    asset = await put(png(), filename="u.png")
    first = await _signed_url(client, sk, asset["path"], later())
    second = await _signed_url(client, sk, asset["path"], later() + 10)
    response = await _revoke(
        client, sk, {"path": "http://cdn.test" + first, "vault": project.vault_id}
    )
    assert (response.status_code, response.content) == (204, b"")
    await refused(client, first)
    await served(client, second)
    assert (await client.get(pathname(project.vault_id, asset["path"]))).status_code == 200


async def test_revoke_a_bare_token(client, sk, put, project, set_vault_secrets):
    await set_vault_secrets(project.vault_id, [FIRST])
    asset = await put(png(), filename="t.png")
    raw = pathname(project.vault_id, asset["path"])
    expires = later()
    revoked = signed_target(FIRST, raw, [], expires)
    token = parse_qs(urlsplit(revoked).query)["token"][0]
    for route in route_forms(project.vault_id, "/urls/revoke")[:1]:
        response = await _revoke(client, sk, {"path": token}, route)
        assert (response.status_code, response.content) == (204, b"")
    await refused(client, revoked)
    await refused(client, signed_target(FIRST, raw, [], expires, padded=True))  # same token
    await served(client, signed_target(FIRST, raw, [], expires + 1))  # another token
    await served(client, signed_target(FIRST, raw, [("w", "10")], expires))


async def test_revoke_an_asset_path(client, sk, put, project, set_vault_secrets):
    await set_vault_secrets(project.vault_id, [FIRST])
    asset = await put(jpeg(60, 40), filename="p.jpg")
    neighbour = await put(png(), filename="n.png")
    raw = pathname(project.vault_id, asset["path"])
    for route in route_forms(project.vault_id, "/urls/revoke")[2:3]:
        response = await _revoke(client, sk, {"path": asset["path"], "vault": "default"}, route)
        assert (response.status_code, response.content) == (204, b"")
    for target in (
        raw,
        raw + "?w=20",
        signed_target(FIRST, raw, [], later()),
        signed_target(FIRST, raw, [("w", "20")], later()),
    ):
        await refused(client, target)
    assert (await client.head(raw)).status_code == 403
    # the API still shows it; the neighbour is untouched
    got = await client.get(f"/v1/assets/{asset['id']}", headers=bearer(sk))
    assert got.status_code == 200 and got.json() == asset
    listed = await client.get("/v1/assets", headers=bearer(sk))
    assert asset["id"] in [a["id"] for a in listed.json()["data"]]
    assert (await client.get(pathname(project.vault_id, neighbour["path"]))).status_code == 200
    # until it is deleted: a new file at the path is served again
    assert (await client.delete(f"/v1/assets/{asset['id']}", headers=bearer(sk))).status_code == 204
    again = await put(png(), filename="p.jpg")
    assert (await client.get(pathname(project.vault_id, again["path"]))).status_code == 200


async def test_revoke_refusals(client, sk, put, project, other):
    asset = await put(png(), filename="x.png")
    error(
        await _revoke(client, sk, {"path": "acme/office/avatars/missing.png"}),
        404,
        "ASSET_NOT_FOUND",
    )
    for vault in (other[0].vault_id, "other"):
        response = await _revoke(client, sk, {"path": asset["path"], "vault": vault})
        error(response, 404, "NOT_FOUND")
    for body in ({}, {"path": ""}, {"path": 5}, {"vault": project.vault_id}):
        error(await _revoke(client, sk, body), 400, "INVALID_PARAMS", names="path")
    response = await client.post(
        "/v1/urls/revoke", content=b"{", headers={**bearer(sk), "Content-Type": "application/json"}
    )
    error(response, 400, "INVALID_PARAMS")
    assert (await client.get(pathname(project.vault_id, asset["path"]))).status_code == 200


async def test_the_native_signing_policy_applies_to_vault_transforms(
    client, put, project, set_vault_secrets
):
    """Where native URLs need `s=` for transforms (signingKeys), a vault URL with transforms
    needs a valid imgbt token; untransformed vault URLs stay public."""
    await set_vault_secrets(project.vault_id, [FIRST], signingKeys=["native-signing-key-0123456"])
    asset = await put(jpeg(80, 40), filename="policy.jpg")
    raw = pathname(project.vault_id, asset["path"])
    assert (await client.get(raw)).status_code == 200
    error(await client.get(raw, params={"w": "20"}), 403, "FORBIDDEN")
    response = await served(client, signed_target(FIRST, raw, [("w", "20")], later()))
    assert pyvips.Image.new_from_buffer(response.content, "").width == 20
