"""Concurrent alias assignment: exactly one holder, never a 5xx."""

import asyncio

import pytest

from tests.helpers import upload, uploaded

# Bursts of up to 60 concurrent writes probe the alias race; load shedding
# (tests/integration/test_admission.py) is not under test here: admit them all.
pytestmark = pytest.mark.parametrize("settings_overrides", [{"max_in_flight": 64}])


async def test_many_concurrent_assignments_leave_one_holder(api):
    images = [await uploaded(api) for _ in range(20)]
    responses = await asyncio.gather(
        *(
            api.put(f"/api/v1/images/{image['id']}/alias", json={"alias": "@contested"})
            for image in images
            for _ in range(3)
        )
    )
    assert all(r.status_code == 200 for r in responses), {r.status_code for r in responses}
    listed = (await api.get("/api/v1/images", params={"limit": 100})).json()["data"]
    holders = [i["id"] for i in listed if i["alias"] == "@contested"]
    assert len(holders) == 1
    assert (await api.get("/api/v1/images/@contested")).json()["data"]["id"] == holders[0]


async def test_concurrent_uploads_claiming_one_alias(api):
    responses = await asyncio.gather(*(_upload_with_alias(api) for _ in range(15)))
    assert all(r == 201 for r in responses)
    listed = (await api.get("/api/v1/images", params={"limit": 100})).json()["data"]
    assert len(listed) == 15
    assert sum(1 for i in listed if i["alias"] == "@race") == 1


async def _upload_with_alias(api) -> int:
    return (await upload(api, alias="@race")).status_code
