"""A key revoked by any process stops working at once in every other process."""

from pixvault.services.core import build_core


async def test_a_revocation_by_another_process_is_immediate(api, client, core, settings):
    project = await core.projects.by_path("default/default")
    issued = await core.keys.issue("secret", project.id)
    client.headers["X-API-Key"] = issued.secret
    assert (await client.get("/api/v1/images")).status_code == 200  # memoised now
    other = build_core(settings)  # another process on the same database (the CLI, a worker)
    try:
        await other.keys.revoke(issued.key.id)
    finally:
        await other.close()
    response = await client.get("/api/v1/images")  # no wait at all
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


async def test_other_keys_stay_memoised_and_working(client, core):
    project = await core.projects.by_path("default/default")
    kept = await core.keys.issue("secret", project.id)
    gone = await core.keys.issue("secret", project.id)
    await core.keys.revoke(gone.key.id)
    client.headers["X-API-Key"] = kept.secret
    assert (await client.get("/api/v1/images")).status_code == 200
