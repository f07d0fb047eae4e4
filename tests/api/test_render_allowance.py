"""Anonymous visitors may not mint unlimited derivatives: new renderings per client address
are limited; derivatives already made stay served."""

import pytest

from tests.helpers import jpeg, uploaded


@pytest.mark.parametrize(
    "settings_overrides", [{"cold_renders_per_minute": 3, "client_ip_header": "x-real-ip"}]
)
async def test_a_client_past_its_cold_renders_gets_429_and_others_do_not(api, client):
    image = await uploaded(api, jpeg(200, 100))
    url = f"/default/default/img/{image['id']}"
    visitor = {"X-Real-IP": "203.0.113.7"}
    for width in (10, 11, 12):
        assert (await client.get(url, params={"w": width}, headers=visitor)).status_code == 200
    refused = await client.get(url, params={"w": 13}, headers=visitor)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    again = await client.get(url, params={"w": 10}, headers=visitor)
    assert again.status_code == 200  # made already: a cached hit is never limited
    other = await client.get(url, params={"w": 13}, headers={"X-Real-IP": "198.51.100.2"})
    assert other.status_code == 200
