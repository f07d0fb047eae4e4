"""The derivative store is bounded per project: past the quota the least recently used
derivatives are evicted (blob and row), and the next request renders them again."""

import uuid

import pytest
from sqlalchemy import func, select

from pixvault.db.queries import derivatives as derivative_rows
from pixvault.db.rows import now
from pixvault.db.tables import derivatives, images
from pixvault.domain.errors import InvalidInput
from pixvault.services.blobkeys import derivative_prefix
from tests.api.test_delivery import cdn, set_settings
from tests.helpers import jpeg, uploaded

# No in-memory copies (they would answer an evicted derivative without the store), and every
# access is written at once, so the order of a few quick requests is exact.
QUICK = {"derivative_memory_mb": 0, "derivative_touch_seconds": 0}
VARIANTS = {
    name: f"w=60&format=png&{op}"
    for name, op in {"A": "flip=h", "B": "flip=v", "C": "flip=hv", "D": "rotate=180"}.items()
}


async def stored(core, image) -> dict[str, int]:
    prefix = derivative_prefix(uuid.UUID(image["projectId"]), uuid.UUID(image["id"]))
    return {info.key: info.size async for info in core.blobs.list(prefix)}


async def rows(core) -> int:
    async with core.db.read() as conn:
        return await conn.scalar(select(func.count()).select_from(derivatives)) or 0


async def get(client, image, query: str) -> bytes:
    response = await client.get(f"{cdn(image)}?{query}")
    assert response.status_code == 200, response.text
    return response.content


@pytest.fixture
async def image(api):
    # A solid colour: every variant is the same size, so the quota counts derivatives.
    return await uploaded(api, jpeg(120, 80, (30, 160, 90)))


@pytest.mark.parametrize("settings_overrides", [QUICK])
async def test_the_least_recently_used_is_evicted_and_rendered_again(client, core, image):
    key, body = {}, {}

    async def render(name: str) -> None:
        held = set(await stored(core, image))
        body[name] = await get(client, image, VARIANTS[name])
        (key[name],) = set(await stored(core, image)) - held

    await render("A")
    size = len(body["A"])
    await set_settings(core, {"derivativeQuotaBytes": 3 * size})
    await render("B")
    await render("C")
    await get(client, image, VARIANTS["A"])  # a cached hit: B is now the least recent
    await render("D")
    held = await stored(core, image)
    assert set(held) == {key["A"], key["C"], key["D"]}
    assert sum(held.values()) <= 3 * size and await rows(core) == 3

    renders = core.delivery.renders
    assert await get(client, image, VARIANTS["B"]) == body["B"]  # the same bytes again
    assert core.delivery.renders == renders + 1  # rendered anew, not kept anywhere
    assert set(await stored(core, image)) == {key["A"], key["D"], key["B"]}  # C went next
    assert await rows(core) == 3


@pytest.mark.parametrize("settings_overrides", [{**QUICK, "derivative_quota_bytes": 2_000}])
async def test_the_instance_quota_bounds_many_derivatives(client, core, image):
    sizes = [len(await get(client, image, f"w={40 + i}&format=jpeg")) for i in range(12)]
    assert sum(sizes) > 2_000  # the test means something
    held = await stored(core, image)
    assert 0 < sum(held.values()) <= 2_000
    async with core.db.read() as conn:
        counted = await conn.scalar(select(func.sum(derivatives.c.size))) or 0
    assert counted == sum(held.values())


@pytest.mark.parametrize("settings_overrides", [{**QUICK, "derivative_quota_bytes": 2_000}])
async def test_a_project_quota_of_zero_is_no_quota(client, core, image):
    await set_settings(core, {"derivativeQuotaBytes": 0})
    sizes = [len(await get(client, image, f"w={40 + i}&format=jpeg")) for i in range(6)]
    assert sum((await stored(core, image)).values()) == sum(sizes)


async def test_a_negative_or_fractional_quota_is_refused(core):
    project = await core.projects.by_path("default/default")
    for value in (-1, 1.5, "10", True):
        with pytest.raises(InvalidInput, match="derivativeQuotaBytes"):
            await core.projects.update_settings(project.id, {"derivativeQuotaBytes": value})


async def test_rows_of_an_image_deleted_before_their_batch_is_written_are_dropped(
    client, core, api
):
    gone = await uploaded(api, jpeg(120, 80, (200, 10, 10)))
    kept = await uploaded(api, jpeg(120, 80, (10, 10, 200)))
    await get(client, kept, VARIANTS["A"])
    await core.delivery.quota.flush()
    async with core.db.write() as conn:  # as a purge does, between two batches
        await conn.execute(images.delete().where(images.c.id == uuid.UUID(gone["id"])))
    batch = [
        {"key": f"{image['projectId']}/derived/{image['id']}/x", "size": 10, "last_access": now()}
        | {"project_id": uuid.UUID(image["projectId"]), "image_id": uuid.UUID(image["id"])}
        for image in (gone, kept)
    ]
    async with core.db.write() as conn:
        await derivative_rows.record_many(conn, batch)
    async with core.db.read() as conn:
        recorded = set(await conn.scalars(select(derivatives.c.image_id)))
    assert recorded == {uuid.UUID(kept["id"])}
