"""Slink accounts: sign-up, sign-in, refresh rotation, logout, JWT failures, sign-in limits
and the current user (contract: "Auth", "Error envelopes").

Related refusals share one test (each on the same fresh database) to keep the suite fast.
"""

import asyncio
import time
import uuid
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select

from pixvault.db.tables import refresh_tokens
from tests.slink.support import (
    PASSWORD,
    error,
    lexik,
    make_account,
    send_upload,
    specification,
    user_count,
    violations,
)

SIGNUP = {
    "email": "carol@example.com",
    "username": "carol",
    "password": "s3cret-pass",
    "confirm": "s3cret-pass",
}


async def signup(client, **changes):
    return await client.post("/api/auth/signup", json={**SIGNUP, **changes})


async def login(client, username, password=PASSWORD):
    return await client.post("/api/auth/login", json={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


# -- sign-up -------------------------------------------------------------------------------


async def test_signup_creates_a_user_whose_display_name_is_the_username(client, core):
    response = await signup(client)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"id"}
    user_id = uuid.UUID(response.json()["id"])
    user = await core.users.get(user_id)
    assert (user.email, user.username, user.display_name) == ("carol@example.com",) + ("carol",) * 2
    signed_in = await login(client, "carol", "s3cret-pass")
    assert signed_in.status_code == 200
    me = await client.get("/api/user", headers=bearer(signed_in.json()["access_token"]))
    assert me.json() == {
        "data": {
            "id": str(user_id),
            "email": "carol@example.com",
            "username": "carol",
            "displayName": "carol",
        }
    }


async def test_signup_accepts_every_username_of_the_grammar(client, core):
    for n, username in enumerate(["abc", "a" * 30, "a.b_c-d", "0x1", "user.name", "x-y_z"]):
        response = await signup(client, username=username, email=f"u{n}@example.com")
        assert response.status_code == 201, (username, response.text)
    assert await user_count(core) == 6


SIGNUP_VIOLATIONS = [
    ({"email": "not-an-email"}, "email"),
    ({"email": ""}, "email"),
    ({"email": 42}, "email"),
    ({"username": "ab"}, "username"),
    ({"username": "a" * 31}, "username"),
    ({"username": "Carol"}, "username"),
    ({"username": "car ol"}, "username"),
    ({"username": "car!ol"}, "username"),
    ({"username": "ca..rol"}, "username"),
    ({"username": "ca_-rol"}, "username"),
    ({"username": "ca-.rol"}, "username"),
    ({"username": "anonymous"}, "username"),
    ({"username": "carol@example.com"}, "username"),
    ({"email": "c@ex.io", "username": "c@ex.io"}, "username"),
    ({"username": ""}, "username"),
    ({"username": None}, "username"),
    ({"password": "", "confirm": ""}, "password"),
    ({"password": "abc", "confirm": "abc"}, "password"),
    ({"confirm": "something-else"}, "confirm"),
    ({"confirm": ""}, "confirm"),
]


async def test_signup_violations_name_the_property_and_store_nothing(client, core):
    for changes, prop in SIGNUP_VIOLATIONS:
        response = await signup(client, **changes)
        try:
            violations(response, prop)
        except AssertionError as exc:
            raise AssertionError(f"{changes}: {exc}") from None
    for missing in SIGNUP:
        body = {k: v for k, v in SIGNUP.items() if k != missing}
        violations(await client.post("/api/auth/signup", json=body), missing)
    assert await user_count(core) == 0


async def test_signup_reports_every_broken_property(client, core):
    response = await signup(client, email="nope", username="A!", password="x", confirm="y")
    violations(response, "email", "username", "password", "confirm")


async def test_duplicate_email_or_username_is_a_specification_error(client, core):
    assert (await signup(client)).status_code == 201
    specification(await signup(client, email="Carol@Example.com", username="carol2"), "email")
    specification(await signup(client, email="other@example.com"), "username")
    assert await user_count(core) == 1


@pytest.mark.parametrize("settings_overrides", [{"registration": False}])
async def test_signup_when_registration_is_off_is_refused_and_creates_nobody(client, core):
    err = error(await signup(client), 400, "Sign up is not allowed")
    assert "violations" not in err
    assert await user_count(core) == 0


# -- sign-in -------------------------------------------------------------------------------


async def test_login_by_username_or_email_gives_a_snake_case_token_pair(client, core, alice):
    admin = await make_account(core, "root", admin=True)
    for who, login_as, roles in (
        (alice, alice.username, ["ROLE_USER"]),
        (alice, alice.email, ["ROLE_USER"]),
        (admin, admin.username, ["ROLE_USER", "ROLE_ADMIN"]),
    ):
        before = int(time.time())
        response = await login(client, login_as)
        assert response.status_code == 200, response.text
        pair = response.json()
        assert list(pair) == ["access_token", "refresh_token"]
        assert pair["refresh_token"] and pair["refresh_token"] != pair["access_token"]
        found = claims(pair["access_token"])
        assert found["uuid"] == who.id
        assert sorted(found["roles"]) == sorted(roles)
        assert before - 1 <= found["iat"] <= int(time.time()) + 1
        assert found["exp"] - found["iat"] == 3600
        me = await client.get("/api/user", headers=bearer(pair["access_token"]))
        assert me.status_code == 200 and me.json()["data"]["id"] == who.id
    async with core.db.read() as conn:
        rows = (await conn.execute(select(refresh_tokens))).all()
    assert len(rows) >= 3
    assert {row.expires_at - row.created_at for row in rows} == {timedelta(days=30)}


@pytest.mark.parametrize("settings_overrides", [{"jwt_access_ttl": 120}])
async def test_access_token_lifetime_is_the_setting(client, alice):
    found = claims((await login(client, alice.username)).json()["access_token"])
    assert found["exp"] - found["iat"] == 120


async def test_bad_or_missing_credentials(client, alice):
    for username, password in (
        ("alice", "wrong-password"),
        ("alice", ""),
        ("nobody", PASSWORD),
        ("nobody@example.com", PASSWORD),
    ):
        specification(await login(client, username, password), "credentials")
    violations(await client.post("/api/auth/login", json={"password": PASSWORD}), "username")
    violations(await client.post("/api/auth/login", json={"username": "alice"}), "password")


async def test_login_missing_both_fields_reports_both(client):
    violations(await client.post("/api/auth/login", json={}), "username", "password")


# -- refresh and logout --------------------------------------------------------------------


async def refresh(client, token):
    return await client.post("/api/auth/refresh", json={"refresh_token": token})


async def test_refresh_rotates_the_pair(client, alice):
    first = (await login(client, alice.username)).json()
    response = await refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert list(second) == ["access_token", "refresh_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert claims(second["access_token"])["uuid"] == alice.id
    assert (
        await client.get("/api/user", headers=bearer(second["access_token"]))
    ).status_code == 200
    # The spent token is refused, every time; the new one works once.
    for _ in range(2):
        specification(await refresh(client, first["refresh_token"]), "credentials")
    assert (await refresh(client, second["refresh_token"])).status_code == 200
    specification(await refresh(client, second["refresh_token"]), "credentials")
    for token in ("not-a-token", "", alice.access):
        specification(await refresh(client, token), "credentials")
    violations(await client.post("/api/auth/refresh", json={}), "refresh_token")


async def test_logout_revokes_every_refresh_token_of_the_user(client, alice, bob):
    one = (await login(client, alice.username)).json()
    two = (await login(client, alice.email)).json()
    response = await client.post("/api/auth/logout", json={"refresh_token": one["refresh_token"]})
    assert response.status_code == 204
    assert response.content == b""
    for token in (one["refresh_token"], two["refresh_token"], alice.refresh):
        specification(await refresh(client, token), "credentials")
    # The access token lives until it expires; other users keep their sessions.
    assert (await client.get("/api/user", headers=bearer(one["access_token"]))).status_code == 200
    assert (await refresh(client, bob.refresh)).status_code == 200
    # Logging out again with the revoked token: Slink's plain 400.
    again = await client.post("/api/auth/logout", json={"refresh_token": one["refresh_token"]})
    assert "violations" not in error(again, 400, "Invalid or expired refresh token.")
    response = await client.post("/api/auth/logout", json={"refresh_token": "nope"})
    assert "violations" not in error(response, 400, "Invalid or expired refresh token.")
    violations(await client.post("/api/auth/logout", json={}), "refresh_token")


# -- JWT -----------------------------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"jwt_access_ttl": 1}])
async def test_an_expired_access_token_is_refused_with_lexiks_body(client, alice):
    token = (await login(client, alice.username)).json()["access_token"]
    found = claims(token)
    assert found["exp"] - found["iat"] == 1
    # (No request before the sleep: with whole-second claims the token may live under 1 s.)
    await asyncio.sleep(2.1)
    lexik(await client.get("/api/user", headers=bearer(token)), "Expired JWT Token")


JWT_ROUTES = [
    ("GET", "/api/user"),
    ("GET", "/api/user/api-keys"),
    ("POST", "/api/user/api-keys"),
    ("DELETE", f"/api/user/api-keys/{uuid.uuid4()}"),
    ("GET", "/api/user/sharex-config"),
    ("GET", "/api/images/1"),
    ("GET", "/api/images/history/1"),
    ("GET", f"/api/images?uuid[]={uuid.uuid4()}"),
    ("GET", f"/api/image/{uuid.uuid4()}/detail"),
    ("PATCH", f"/api/image/{uuid.uuid4()}"),
    ("DELETE", f"/api/image/{uuid.uuid4()}"),
    ("POST", "/api/upload"),
    ("PUT", "/api/upload"),
]


async def test_jwt_routes_without_a_token_say_not_found(client):
    for method, path in JWT_ROUTES:
        for headers in ({}, {"Authorization": "Basic YWxpY2U6eA=="}, {"Authorization": "Bearer "}):
            response = await client.request(method, path, headers=headers)
            try:
                lexik(response, "JWT Token not found")
            except AssertionError as exc:
                raise AssertionError(f"{method} {path} {headers}: {exc}") from None


async def test_bad_tokens_are_invalid(client, core, alice, project):
    forged = jwt.encode(claims(alice.access), "x" * 48, algorithm="HS256")
    issued = await core.keys.issue("secret", project.id, user_id=uuid.UUID(alice.id))
    for token in ("garbage", "a.b.c", forged, issued.secret, alice.refresh):
        for method, path in JWT_ROUTES:
            response = await client.request(method, path, headers=bearer(token))
            try:
                lexik(response, "Invalid JWT Token")
            except AssertionError as exc:
                raise AssertionError(f"{method} {path} {token[:12]}: {exc}") from None


@pytest.mark.parametrize("settings_overrides", [{"guest_uploads": True}])
async def test_open_routes_ignore_a_stale_token(client, alice):
    """`/api/auth/*`, `/api/guest/*`, delivery and `/health` take no JWT: a stale or garbage
    one (what a client still holds when it refreshes) does not get in the way."""
    stale = {"Authorization": "Bearer expired.or.garbage"}
    response = await client.post(
        "/api/auth/login", json={"username": "alice", "password": PASSWORD}, headers=stale
    )
    assert response.status_code == 200, response.text
    pair = response.json()
    response = await client.post(
        "/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}, headers=stale
    )
    assert response.status_code == 200, response.text
    response = await client.post("/api/auth/signup", json=SIGNUP, headers=stale)
    assert response.status_code == 201, response.text
    response = await client.post(
        "/api/auth/logout", json={"refresh_token": response.json()["id"]}, headers=stale
    )
    assert response.status_code == 400  # not a refresh token, but no JWT check either
    guest = await send_upload(client, stale, path="/api/guest/upload")
    assert guest.status_code == 201, guest.text
    image_id = guest.json()["id"]
    for path in (f"/image/{image_id}.jpg", f"/api/image/{image_id}.jpg", "/health"):
        assert (await client.get(path, headers=stale)).status_code == 200, path


async def test_current_user(client, alice):
    response = await client.get("/api/user", headers=alice.auth)
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "id": alice.id,
            "email": "alice@example.com",
            "username": "alice",
            "displayName": "Alice Wonder",
        }
    }


# -- sign-in limits ------------------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"login_attempts": 3}])
async def test_after_the_allowed_failures_even_the_right_password_gets_429(client, alice):
    for _ in range(3):
        specification(await login(client, alice.username, "wrong-password"), "credentials")
    blocked = await login(client, alice.username)
    error(blocked, 429)
    assert int(blocked.headers["retry-after"]) >= 1
    assert "access_token" not in blocked.text


@pytest.mark.parametrize("settings_overrides", [{"login_attempts": 3}])
async def test_failures_count_per_client_address(client, client_at, alice, bob):
    for name in ("nobody1", "nobody2", "nobody3"):
        specification(await login(client, name, "whatever1"), "credentials")
    # Another account, same address: refused.
    blocked = await login(client, bob.username)
    error(blocked, 429)
    assert int(blocked.headers["retry-after"]) >= 1
    # Another address is not affected.
    async with client_at("10.0.0.7") as other:
        assert (await login(other, bob.username)).status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"login_attempts": 3}])
async def test_failures_count_per_account_across_addresses(client_at, alice, bob):
    for n in range(3):
        async with client_at(f"10.0.1.{n + 1}") as attacker:
            specification(await login(attacker, alice.username, "wrong"), "credentials")
    async with client_at("10.0.2.1") as fresh:
        blocked = await login(fresh, alice.username)
        error(blocked, 429)
        assert int(blocked.headers["retry-after"]) >= 1
        assert (await login(fresh, bob.username)).status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"login_attempts": 3}])
async def test_the_account_limit_covers_username_and_email_alike(client_at, alice):
    for n in range(3):
        async with client_at(f"10.0.3.{n + 1}") as attacker:
            specification(await login(attacker, alice.username, "wrong"), "credentials")
    async with client_at("10.0.4.1") as fresh:
        error(await login(fresh, alice.email), 429)


@pytest.mark.parametrize("settings_overrides", [{"login_attempts": 3}])
async def test_successful_logins_are_not_limited_or_slowed(client, alice):
    for _ in range(2):
        specification(await login(client, alice.username, "wrong"), "credentials")
    for _ in range(5):
        started = time.perf_counter()
        response = await login(client, alice.username)
        assert response.status_code == 200
        assert "retry-after" not in response.headers
        assert time.perf_counter() - started < 2
