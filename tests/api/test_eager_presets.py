"""An eager preset is rendered right after upload, so the first visitor gets a cached hit."""

import uuid

import anyio
import pytest

from pixvault.domain.errors import InvalidInput
from pixvault.services.blobkeys import derivative_prefix
from tests.api.test_delivery import cdn, set_settings
from tests.helpers import blob_keys, jpeg, uploaded


async def test_the_first_visit_of_an_eager_preset_is_a_hit(api, client, core):
    await set_settings(
        core, {"presets": {"thumb": "w=40", "big": "w=200"}, "eagerPresets": ["thumb"]}
    )
    image = await uploaded(api, jpeg(300, 200))
    prefix = derivative_prefix(uuid.UUID(image["projectId"]), uuid.UUID(image["id"]))
    with anyio.fail_after(10):
        while not await blob_keys(core, prefix):
            await anyio.sleep(0.02)
    renders = core.delivery.renders
    assert renders == 1  # the eager one only; "big" is rendered on demand
    response = await client.get(cdn(image), params={"preset": "thumb"})
    assert response.status_code == 200
    assert core.delivery.renders == renders  # served from what the upload rendered


async def test_eager_presets_must_name_presets(core):
    project = await core.projects.by_path("default/default")
    with pytest.raises(InvalidInput, match="eagerPresets"):
        await core.projects.update_settings(project.id, {"eagerPresets": ["nope"]})
