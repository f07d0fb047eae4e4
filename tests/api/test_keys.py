"""Authentication is memoised briefly; revocation, expiry and settings changes still bite."""

from datetime import UTC, datetime, timedelta

import anyio
import pytest
from sqlalchemy import update

from pixvault.db.tables import api_keys
from pixvault.services import keys as keys_service

TTL = 0.3


@pytest.fixture
def settings_overrides():
    return {"lookup_cache_seconds": TTL}


@pytest.fixture
async def project(core):
    return await core.projects.by_path("default/default")


async def _status(client, secret: str) -> int:
    client.headers["X-API-Key"] = secret
    return (await client.get("/api/v1/images")).status_code


async def test_revoking_in_this_process_takes_effect_at_once(client, core, project):
    issued = await core.keys.issue("secret", project.id)
    assert await _status(client, issued.secret) == 200
    await core.keys.revoke(issued.key.id)
    assert await _status(client, issued.secret) == 401


async def test_revoking_in_another_process_takes_effect_within_the_ttl(client, core, project):
    issued = await core.keys.issue("secret", project.id)
    assert await _status(client, issued.secret) == 200
    async with core.db.write() as conn:  # what `pixvault keys revoke` does from its own process
        await conn.execute(
            update(api_keys)
            .where(api_keys.c.id == issued.key.id)
            .values(revoked_at=datetime.now(UTC))
        )
    await anyio.sleep(TTL * 1.5)
    assert await _status(client, issued.secret) == 401


@pytest.mark.parametrize("settings_overrides", [{"lookup_cache_seconds": 30}])
async def test_a_key_expiring_while_memoised_is_refused(client, core, project, monkeypatch):
    """The memo outlives the key's expiry (the clock is moved past it while the memo holds the
    key), so the refusal can only come from the expiry check every request makes; no real wait
    means no race with a slow machine."""
    expires = datetime.now(UTC) + timedelta(hours=1)
    issued = await core.keys.issue("secret", project.id, expires_at=expires)
    assert await _status(client, issued.secret) == 200
    monkeypatch.setattr(keys_service, "now", lambda: expires + timedelta(seconds=1))
    response = await client.get("/api/v1/images")
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


async def test_settings_changes_reach_authenticated_callers_at_once(core, project):
    issued = await core.keys.issue("secret", project.id)
    assert (await core.keys.authenticate(issued.secret)).project.settings.as_document() == {}
    await core.projects.update_settings(project.id, {"presetsOnly": True})
    who = await core.keys.authenticate(issued.secret)
    assert who.project.settings.as_document() == {"presetsOnly": True}
