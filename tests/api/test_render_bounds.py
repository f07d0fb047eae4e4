"""Every render is bounded in time and memory.

- A render not finished within RENDER_TIMEOUT_SECONDS answers 503 + Retry-After on every
  surface, is stopped, and stores nothing.
- A render whose estimated memory (source, decoded frames, encoder) is over RENDER_MEMORY_MB
  is refused before decoding (400 OUTPUT_TOO_LARGE), while smaller renders of the same
  source work.
- A real server process rendering the worst input the upload limits accept (1000 frames,
  100 million pixels) stays under 300 MB of peak RSS.
"""

import json
import subprocess
import time
from pathlib import Path

import anyio
import httpx
import pytest
import pyvips
from sqlalchemy import func, select

from pixvault.db.tables import derivatives
from tests.helpers import blob_keys, uploaded
from tests.serve_process import PIXVAULT, serve_env, start_serve, stop_serve
from tests.vaults.support import sdk_uploaded

SLOW = {"render_timeout_seconds": 0.2, "cold_renders_per_minute": 0}


def noise(width: int, height: int) -> bytes:
    """A photo's worth of detail: slow to encode, as real pictures are."""
    image = pyvips.Image.gaussnoise(width, height, mean=128, sigma=50).cast("uchar")
    return image.bandjoin([image.rot180(), image.fliphor()]).jpegsave_buffer(Q=60)


def animation(frames: int, side: int) -> bytes:
    xy = pyvips.Image.xyz(side, side)
    strip = pyvips.Image.arrayjoin(
        [
            ((xy[0] + i * 5) % 256).bandjoin([xy[1] % 256, xy[0] * 0 + i % 256])
            for i in range(frames)
        ],
        across=1,
    ).cast("uchar")
    strip = strip.copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", side)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [40] * frames)
    return strip.webpsave_buffer(Q=50, effort=0)


async def derived(core) -> list[str]:
    return [key for key in await blob_keys(core) if "/derived/" in key]


async def settled(core) -> None:
    """Wait until every render thread has returned (a stopped one too)."""
    with anyio.fail_after(120):
        while core.delivery.pool.pending:
            await anyio.sleep(0.05)


@pytest.mark.parametrize("settings_overrides", [SLOW])
async def test_a_render_past_the_timeout_is_503_on_every_surface_and_stored_nowhere(
    client, core, api, secret_key
):
    data = noise(2000, 1500)
    image = await uploaded(api, data)
    asset = await sdk_uploaded(client, secret_key, data, filename="big.jpg")
    vault_path = asset["url"].removeprefix("http://cdn.test")
    cases = [
        (f"/default/default/img/{image['id']}?format=webp&q=91", "native"),
        (f"/image/{image['id']}.webp?quality=92", "slink"),
        (f"{vault_path}?format=webp&q=93", "vault"),
    ]
    for url, surface in cases:
        started = time.monotonic()
        response = await client.get(url)
        assert response.status_code == 503, (surface, response.text)
        assert time.monotonic() - started < 5  # the answer did not wait for the render
        assert response.headers["retry-after"] == "1"
        if surface == "native":
            assert response.json()["error"]["code"] == "RENDER_TIMEOUT"
        elif surface == "vault":
            assert response.json()["error"]["code"] == "RENDER_TIMEOUT"
            assert response.json()["error"]["status"] == 503
        else:
            assert response.json()["error"]["message"].startswith(
                "The image variant was not ready within 0.2 seconds"
            )
        await settled(core)
    assert core.delivery.pool.timed_out == 3
    assert await derived(core) == []
    async with core.db.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(derivatives)) == 0
    # Small renders of the same source still work within the timeout.
    small = await client.get(f"/default/default/img/{image['id']}?w=40&format=jpeg")
    assert small.status_code == 200


@pytest.mark.parametrize("settings_overrides", [{**SLOW, "render_workers": 1, "render_queue": 0}])
async def test_a_stopped_render_keeps_its_lane_until_it_returns(client, core, api):
    """libvips' WebP loader decodes a whole animation before the kill flag is seen: the
    stopped render still holds its lane, so a new one is refused rather than piling up."""
    data = animation(600, 316)  # 60 million pixels: seconds of decoding
    image = await uploaded(api, data, filename="a.webp", content_type="image/webp")
    url = f"/default/default/img/{image['id']}"
    stopped = await client.get(url, params={"w": 100, "format": "webp"})
    assert stopped.status_code == 503
    assert core.delivery.pool.pending == 1  # still decoding
    refused = await client.get(url, params={"w": 90, "format": "webp"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RENDER_QUEUE_FULL"
    await settled(core)
    assert await derived(core) == []
    small = await uploaded(api, noise(64, 48))
    ok = await client.get(f"/default/default/img/{small['id']}", params={"w": 20})
    assert ok.status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"render_memory_mb": 16}])
async def test_a_render_over_the_memory_budget_is_refused_before_decoding(client, core, api):
    image = await uploaded(api, noise(1600, 1200))
    url = f"/default/default/img/{image['id']}"
    response = await client.get(url, params={"format": "webp", "q": "90"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "OUTPUT_TOO_LARGE"
    assert "MB per render" in error["message"] and "format=jpeg" in error["message"]
    assert await derived(core) == []
    assert (await client.get(url, params={"w": 400, "format": "webp"})).status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"render_memory_mb": 16}])
async def test_an_animation_counts_every_decoded_frame(client, core, api):
    # 200 frames of 200x200 (libwebp merges a few): about 8 million pixels (32 MB) decoded.
    data = animation(200, 200)
    pages = pyvips.Image.new_from_buffer(data, "").get("n-pages")
    image = await uploaded(api, data, filename="a.webp", content_type="image/webp")
    url = f"/default/default/img/{image['id']}"
    refused = await client.get(url, params={"format": "webp", "q": "90"})
    assert refused.status_code == 400
    assert f"200x200 x {pages} frames" in refused.json()["error"]["message"]
    # Smaller frames, and a smart crop (its first frame decoded on its own), are fine.
    for params in ({"w": 60, "format": "webp"}, {"w": 50, "h": 50, "crop": "smart", "f": "webp"}):
        response = await client.get(url, params=params)
        assert response.status_code == 200, response.text
        out = pyvips.Image.new_from_buffer(response.content, "n=-1")
        assert out.get("n-pages") == pages


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


async def test_the_worst_accepted_input_renders_in_under_300_mb_in_a_real_server(tmp_path):
    """1000 frames of 316x316 (99.9 million pixels, what MAX_SOURCE_PIXELS and MAX_FRAMES
    admit) in a 3 MB WebP, under the native upload limit."""
    worst = animation(1000, 316)
    assert len(worst) < 5 * 1024 * 1024
    # WEBP_EFFORT 0: the same memory, less waiting on a loaded machine.
    env = serve_env(tmp_path / "data", RENDER_TIMEOUT_SECONDS="300", WEBP_EFFORT="0")
    key = subprocess.run(
        [PIXVAULT, "keys", "create", "--project", "default/default", "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    secret = json.loads(key.stdout)["key"]
    process, base = start_serve(env, tmp_path / "serve.log", cwd=tmp_path)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=300) as http:
            response = await http.post(
                "/api/v1/images/upload",
                files={"file": ("worst.webp", worst, "image/webp")},
                headers={"X-API-Key": secret},
            )
            assert response.status_code == 201, response.text
            url = f"/default/default/img/{response.json()['data']['id']}"
            before = peak_rss_mb(process.pid)
            full = await http.get(url, params={"format": "webp", "q": "90"})
            assert full.status_code == 400  # 400 MB of frames: refused, nothing decoded
            assert full.json()["error"]["code"] == "OUTPUT_TOO_LARGE"
            for params in (
                {"w": 150, "format": "webp"},
                {"w": 120, "h": 100, "crop": "smart", "format": "webp"},
            ):
                rendered = await http.get(url, params=params)
                assert rendered.status_code == 200, rendered.text
            peak = peak_rss_mb(process.pid)
        print(f"server peak RSS: {before:.0f} MB before the renders, {peak:.0f} MB after")
        assert peak <= 300
    finally:
        stop_serve(process)
