"""Screenshots of the web UI for the README: `python -m tests.ui.screenshots [OUT_DIR]`.

Starts its own `pixvault serve` on a temporary data directory, fills it with generated
pictures (no files are shipped), and saves PNGs of the main pages into `docs/` (or OUT_DIR).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pyvips
from playwright.sync_api import Page, expect, sync_playwright

from tests.ui.support import ADMIN, CHROMIUM, CHROMIUM_ARGS, start_server, two_tone

DOCS = Path(__file__).resolve().parents[2] / "docs"
PALETTES = [
    ((18, 38, 84), (80, 140, 210), (236, 200, 140)),
    ((30, 70, 40), (120, 170, 80), (240, 230, 170)),
    ((70, 20, 60), (210, 90, 110), (250, 210, 150)),
    ((20, 60, 70), (60, 170, 170), (230, 245, 240)),
    ((60, 40, 20), (190, 120, 50), (250, 225, 180)),
    ((25, 25, 35), (110, 110, 150), (220, 220, 240)),
]
NAMES = [
    "harbour-at-dawn.jpg", "meadow.jpg", "sunset-dunes.jpg", "glacier-lake.jpg",
    "autumn-forest.jpg", "night-city.jpg", "coast-path.jpg", "spring-field.jpg",
    "canyon.jpg", "reef.jpg", "desert-road.jpg", "fog-hills.jpg",
]  # fmt: skip


def art(index: int, width: int = 1200, height: int = 800) -> bytes:
    """A landscape-like picture: Perlin noise through a three-colour palette."""
    low, mid, high = PALETTES[index % len(PALETTES)]
    noise = pyvips.Image.perlin(width, height, cell_size=160 + 40 * (index % 3), uchar=True)
    lut = []
    for value in range(256):
        t = value / 255
        a, b, u = (low, mid, t * 2) if t < 0.5 else (mid, high, (t - 0.5) * 2)
        lut.append([round(a[c] + (b[c] - a[c]) * u) for c in range(3)])
    channels = [pyvips.Image.new_from_array([[rgb[c] for rgb in lut]]) for c in range(3)]
    table = channels[0].bandjoin(channels[1:]).cast("uchar").copy(interpretation="srgb")
    picture = noise.maplut(table)
    if index % 2:
        picture = picture.flip("horizontal")
    return picture.jpegsave_buffer(Q=85)


def scene(width: int = 1200, height: int = 800, sun: tuple[float, float] = (0.72, 0.35)) -> bytes:
    """A harbour at dawn, of sorts: a sky, a sun off-centre (the focal point), hills, sea."""
    xyz = pyvips.Image.xyz(width, height)
    x, y = xyz[0], xyz[1]
    t = y / height
    sky = [(1 - t) * a + t * b for a, b in zip((250, 170, 110), (70, 110, 190), strict=True)]
    picture = sky[0].bandjoin(sky[1:])
    cx, cy, r = sun[0] * width, sun[1] * height, height * 0.07
    disc = ((x - cx) ** 2 + (y - cy) ** 2) < r * r
    picture = disc.ifthenelse([255, 236, 170], picture)
    ridge = height * 0.62 + (x * 0.9).sin() * height * 0.05 + (x * 0.37).sin() * height * 0.04
    picture = (y > ridge).ifthenelse([46, 72, 84], picture)
    picture = (y > height * 0.8).ifthenelse([30, 70, 120], picture)
    return picture.cast("uchar").copy(interpretation="srgb").jpegsave_buffer(Q=88)


def sign_in(page: Page) -> None:
    page.goto("/ui/login")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Images", level=1)).to_be_visible()


def settle(page: Page) -> None:
    """Wait until every picture in view has loaded."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "[...document.images].every(i => i.loading === 'lazy' || (i.complete && i.naturalWidth))"
    )


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as root:
        server = start_server(Path(root))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                shoot(browser, server.base, out)
                browser.close()
        finally:
            server.stop()


def shoot(browser, base: str, out: Path) -> None:  # type: ignore[no-untyped-def]
    desktop = browser.new_context(
        base_url=base, viewport={"width": 1280, "height": 860}, device_scale_factor=1
    )
    page = desktop.new_page()
    page.goto("/ui/login")
    page.screenshot(path=out / "ui-login.png")

    sign_in(page)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    ids = []
    for index, name in enumerate(NAMES):
        data = art(index)
        if index == 0:
            data = scene()
        elif name == "coast-path.jpg":
            data = two_tone(900, 600)
        answer = page.request.post(
            "/ui/api/upload",
            multipart={"file": {"name": name, "mimeType": "image/jpeg", "buffer": data}},
            headers={"X-CSRF-Token": token},
        )
        assert answer.status == 201, answer.text()
        ids.append(answer.json()["id"])
    hero = ids[0]
    page.request.post(
        f"/ui/api/images/{hero}/focal",
        data='{"x": 0.72, "y": 0.35}',
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    page.goto(f"/ui/images/{hero}")
    page.get_by_label("Alias").fill("@hero")
    page.get_by_label("Description").fill("Harbour at dawn, for the home page")
    page.get_by_label("Tags").fill("home, harbour, dawn")
    page.get_by_role("button", name="Save").click()

    page.goto("/ui/")
    page.get_by_label("Upload images").set_input_files(
        [{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not an image"}]
    )
    expect(page.locator("#uploads > li.failed")).to_have_count(1)
    settle(page)
    page.screenshot(path=out / "ui-gallery.png")

    page.goto(f"/ui/images/{hero}")
    page.get_by_label("Width").fill("800")
    page.get_by_label("Height").fill("450")
    page.get_by_label("Fit").select_option("cover")
    page.get_by_label("Format").select_option("webp")
    expect(page.get_by_label("URL", exact=True)).to_have_value(
        f"{base}/default/default/img/{hero}?w=800&h=450&fit=cover&format=webp"
    )
    settle(page)
    page.screenshot(path=out / "ui-image.png", full_page=True)

    page.goto("/ui/keys")
    page.get_by_label("Label").fill("website build")
    page.get_by_role("button", name="Create key").click()
    page.get_by_label("Kind").select_option("public")
    page.get_by_label("Label").fill("gallery widget")
    page.screenshot(path=out / "ui-keys.png")
    desktop.close()

    phone = browser.new_context(
        base_url=base,
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        color_scheme="dark",
    )
    page = phone.new_page()
    sign_in(page)
    settle(page)
    page.screenshot(path=out / "ui-gallery-phone-dark.png")
    phone.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS)
