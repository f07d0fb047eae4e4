"""The web UI in a real browser (Debian's chromium driven by Playwright) against a real
`pixvault serve`: sign-in, uploads with progress, search, the image page (focal point, details,
URL builder, delete and undo), API keys, settings, and the core's rules seen from the UI."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
import uuid

import pytest

from tests.ui.conftest import sign_in
from tests.ui.support import CHROMIUM, MEMBER, Server, noisy, small, two_tone

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"the browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)",
)

if os.path.exists(CHROMIUM):
    from playwright.sync_api import Browser, Page, expect
else:
    Browser = Page = object  # type: ignore[assignment,misc]

PNG = "image/png"
JPEG = "image/jpeg"


def tag() -> str:
    return uuid.uuid4().hex[:8]


def csrf(page: Page) -> str:
    return page.locator('meta[name="csrf-token"]').get_attribute("content") or ""


def upload(page: Page, name: str, data: bytes, mime: str = PNG) -> str:
    """Upload through the UI's own endpoint (as its script does); the new image's id."""
    response = page.request.post(
        "/ui/api/upload",
        multipart={"file": {"name": name, "mimeType": mime, "buffer": data}},
        headers={"X-CSRF-Token": csrf(page)},
    )
    assert response.status == 201, response.text()
    return response.json()["id"]


def cdn(image_id: str) -> str:
    return f"/default/default/img/{image_id}"


def cards(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#grid > li.card")


def mean_colour(page: Page, selector: str) -> list[float]:
    """The average RGB of a loaded <img>, read back through a canvas."""
    page.wait_for_function(
        "s => { const i = document.querySelector(s);"
        " return i && i.complete && i.naturalWidth > 0 }",
        arg=selector,
    )
    return page.evaluate(
        """s => {
            const img = document.querySelector(s);
            const canvas = document.createElement("canvas");
            canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
            const g = canvas.getContext("2d");
            g.drawImage(img, 0, 0);
            const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
            let r = 0, gr = 0, b = 0;
            for (let i = 0; i < d.length; i += 4) { r += d[i]; gr += d[i + 1]; b += d[i + 2]; }
            const n = d.length / 4;
            return [r / n, gr / n, b / n];
        }""",
        selector,
    )


def clipboard(page: Page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


# -- signing in and out --------------------------------------------------------------------


def test_sign_in_refuses_a_wrong_password_then_lets_the_right_one_in(page: Page) -> None:
    page.goto("/ui/keys")
    expect(page).to_have_url(re.compile(r"/ui/login\?next=/ui/keys$"))
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "That email and password do not match an account; check them and try again"
    )
    expect(page.get_by_label("Email")).to_have_value("ann@example.com")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Password").fill("ann-s3cret-pw")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/ui/keys$"))  # back where the visit started
    cookie = next(c for c in page.context.cookies() if c["name"] == "pixvault_ui")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/ui"


def test_a_stale_sign_in_form_asks_to_try_again(page: Page) -> None:
    page.goto("/ui/login")
    page.context.clear_cookies()  # the session (and its CSRF token) is gone
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("Password").fill("ann-s3cret-pw")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("reload the page and try again")
    page.get_by_label("Password").fill("ann-s3cret-pw")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Images", level=1)).to_be_visible()


def test_sign_out_ends_the_session(page: Page) -> None:
    sign_in(page)
    admin = page
    copied = [c for c in admin.context.cookies() if c["name"] == "pixvault_ui"]
    time.sleep(1.1)  # cookies are stamped in whole seconds
    admin.get_by_role("button", name="Sign out").click()
    expect(admin.get_by_role("status")).to_have_text("You are signed out.")
    admin.goto("/ui/")
    expect(admin).to_have_url(re.compile(r"/ui/login"))
    admin.context.add_cookies(copied)  # a copy of the old cookie is refused too
    admin.goto("/ui/")
    expect(admin).to_have_url(re.compile(r"/ui/login"))


def test_sign_up_creates_an_account_and_signs_it_in(page: Page) -> None:
    name = tag()
    page.goto("/ui/login")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill(f"cleo-{name}@example.com")
    page.get_by_label("Username").fill(f"cleo-{name}")
    page.get_by_label("Password", exact=True).fill("cleo-s3cret-pw")
    page.get_by_label("Confirm password").fill("something else")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("match")
    expect(page.get_by_label("Confirm password")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Password", exact=True).fill("cleo-s3cret-pw")
    page.get_by_label("Confirm password").fill("cleo-s3cret-pw")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_have_text("Welcome! Your account is ready.")
    expect(page.get_by_role("heading", name="Images", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Settings")).to_have_count(0)  # not an admin


def test_root_leads_to_the_ui(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/ui/login\?next=/ui/$"))


def test_state_changes_need_the_csrf_token(admin: Page) -> None:
    response = admin.request.post(
        "/ui/api/upload", multipart={"file": {"name": "a.png", "mimeType": PNG, "buffer": small()}}
    )
    assert response.status == 403
    assert "did not come from this site" in response.json()["error"]
    response = admin.request.post("/ui/logout", form={"csrf": "forged"})
    assert response.status == 403
    admin.goto("/ui/")  # still signed in
    expect(admin.get_by_role("heading", name="Images")).to_be_visible()


# -- uploads -------------------------------------------------------------------------------


def test_two_uploads_show_their_progress_and_appear_without_a_reload(admin: Page) -> None:
    name = tag()
    admin.goto(f"/ui/?q={name}")
    before = cards(admin).count()
    admin.evaluate(
        """() => {
            window.stillHere = true;
            window.progress = [];
            const list = document.getElementById("uploads");
            new MutationObserver(records => {
                for (const r of records) {
                    if (r.target.tagName !== "PROGRESS") continue;
                    const i = [...list.querySelectorAll("progress")].indexOf(r.target);
                    (window.progress[i] ||= []).push([r.target.value, r.target.max]);
                }
            }).observe(list, {subtree: true, attributes: true, attributeFilter: ["value", "max"]});
        }"""
    )
    # Slow the upload link down so that the bytes go out in many steps.
    cdp = admin.context.new_cdp_session(admin)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 5, "downloadThroughput": -1, "uploadThroughput": 3_000_000},
    )
    files = [
        {"name": f"first-{name}.jpg", "mimeType": JPEG, "buffer": noisy(seed=1)},
        {"name": f"second-{name}.jpg", "mimeType": JPEG, "buffer": noisy(seed=2)},
    ]
    admin.get_by_label("Upload images").set_input_files(files)
    rows = admin.locator("#uploads > li")
    expect(rows).to_have_count(2)
    expect(admin.locator("#uploads > li.done")).to_have_count(2, timeout=30_000)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
              "downloadThroughput": -1, "uploadThroughput": -1})  # fmt: skip

    for row in rows.all():
        bar = row.locator("progress")
        assert bar.evaluate("p => p.value === p.max && p.max > 1000000")
        expect(row).to_contain_text("Uploaded")
    steps = admin.evaluate("window.progress")
    assert len(steps) == 2
    for seen in steps:
        moving = [value for value, top in seen if 0 < value < top]
        assert len(moving) >= 2, f"the bar did not move with the bytes: {seen}"
        assert seen[-1][0] == seen[-1][1]
    expect(cards(admin)).to_have_count(before + 2)
    expect(cards(admin).first).to_contain_text(re.compile(rf"(first|second)-{name}\.jpg"))
    assert admin.evaluate("window.stillHere === true")  # no reload happened
    thumb = cards(admin).first.locator("img")
    expect(thumb).to_have_attribute("loading", "lazy")
    assert re.search(
        r"/default/default/img/[0-9a-f-]+\?w=240&h=240&dpr=2", thumb.get_attribute("srcset")
    )


def test_refused_files_show_the_servers_reason(admin: Page) -> None:
    admin.goto(f"/ui/?q={tag()}")
    before = cards(admin).count()
    refused = [
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just some words\n"},
        {"name": "huge.jpg", "mimeType": JPEG, "buffer": b"\xff\xd8\xff" + bytes(11 << 19)},
    ]
    admin.get_by_label("Upload images").set_input_files(refused)
    expect(admin.locator("#uploads > li.failed")).to_have_count(2, timeout=20_000)
    for file in refused:
        answer = admin.request.post(
            "/ui/api/upload", multipart={"file": file}, headers={"X-CSRF-Token": csrf(admin)}
        )
        assert answer.status in (400, 413)
        row = admin.locator("#uploads > li", has_text=file["name"])
        expect(row.get_by_role("alert")).to_have_text(answer.json()["error"])
    expect(admin.locator("#uploads > li", has_text="notes.txt")).to_contain_text("image/png")
    expect(admin.locator("#uploads > li", has_text="huge.jpg")).to_contain_text("5 MB")
    expect(cards(admin)).to_have_count(before)


def test_dropped_and_pasted_images_are_uploaded(admin: Page) -> None:
    name = tag()
    admin.goto(f"/ui/?q={name}")
    payload = base64.b64encode(small((200, 120, 20))).decode()
    for event in ("drop", "paste"):
        admin.evaluate(
            """([event, name, data]) => {
                const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
                const transfer = new DataTransfer();
                transfer.items.add(new File([bytes], name, {type: "image/png"}));
                if (event === "drop") {
                    for (const type of ["dragenter", "dragover", "drop"]) {
                        document.body.dispatchEvent(new DragEvent(type,
                            {bubbles: true, cancelable: true, dataTransfer: transfer}));
                    }
                } else {
                    document.body.dispatchEvent(new ClipboardEvent("paste",
                        {bubbles: true, cancelable: true, clipboardData: transfer}));
                }
            }""",
            [event, f"{event}-{name}.png", payload],
        )
    expect(admin.locator("#uploads > li.done")).to_have_count(2)
    expect(admin.locator("#grid")).to_contain_text(f"drop-{name}.png")
    expect(admin.locator("#grid")).to_contain_text(f"paste-{name}.png")


# -- gallery -------------------------------------------------------------------------------


def test_search_finds_images_by_name(admin: Page) -> None:
    name = tag()
    upload(admin, f"sunset-{name}.png", small((250, 120, 40)))
    upload(admin, f"harbour-{name}.png", small((20, 90, 160)))
    admin.goto("/ui/")
    admin.get_by_label("Search").fill(f"sunset-{name}")
    admin.get_by_label("Search").press("Enter")
    expect(admin).to_have_url(re.compile(rf"\?q=sunset-{name}"))
    expect(cards(admin)).to_have_count(1)
    expect(cards(admin)).to_contain_text(f"sunset-{name}.png")
    thumb = cards(admin).locator(".thumb")  # the image's own colour while the picture loads
    expect(thumb).to_have_attribute("data-placeholder", "#fa7828")
    expect(thumb.locator("img")).to_have_css("background-color", "rgb(250, 120, 40)")
    admin.get_by_label("Search").fill(f"nothing-called-{name}")
    admin.get_by_label("Search").press("Enter")
    expect(cards(admin)).to_have_count(0)
    expect(admin.get_by_text("No image matches these filters.")).to_be_visible()


def test_the_gallery_loads_older_pages_as_you_scroll(admin: Page) -> None:
    name = tag()
    for number in range(31):
        upload(admin, f"page-{name}-{number:02}.png", small((number * 8, 100, 200), 40, 30))
    first_page = admin.request.get(f"/ui/?q=page-{name}").text()
    assert first_page.count('class="card"') == 30
    assert re.search(r'href="/ui/\?q=page-[0-9a-f]+&amp;before=[0-9a-f-]{36}"', first_page)
    admin.goto(f"/ui/?q=page-{name}")
    expect(cards(admin).first).to_contain_text(f"page-{name}-30.png")  # newest first
    admin.get_by_role("link", name="Older images").scroll_into_view_if_needed()
    expect(cards(admin)).to_have_count(31)
    expect(cards(admin).last).to_contain_text(f"page-{name}-00.png")
    ids = cards(admin).evaluate_all("cards => cards.map(c => c.dataset.id)")
    assert len(set(ids)) == 31


# -- the image page ------------------------------------------------------------------------


def test_opening_an_image_shows_its_file_facts(admin: Page) -> None:
    name = tag()
    data = small((10, 200, 120), 320, 240)
    upload(admin, f"facts-{name}.png", data)
    admin.goto(f"/ui/?q=facts-{name}")
    cards(admin).first.get_by_role("link").click()
    expect(admin).to_have_url(re.compile(r"/ui/images/[0-9a-f-]{36}$"))
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"facts-{name}.png")
    facts = admin.locator("dl.meta").first
    expect(facts).to_contain_text("320 \u00d7 240 px")
    expect(facts).to_contain_text("image/png")
    expect(facts).to_contain_text(hashlib.sha256(data).hexdigest())
    expect(facts).to_contain_text(f"{len(data)} bytes")
    expect(admin.locator("#preview")).to_have_attribute("alt", f"facts-{name}.png")
    assert admin.locator("#preview").evaluate("i => i.complete && i.naturalWidth > 0")


def test_clicking_the_preview_sets_the_focal_point_and_the_crops_follow(admin: Page) -> None:
    image_id = upload(admin, f"flag-{tag()}.jpg", two_tone(), JPEG)
    admin.goto(f"/ui/images/{image_id}")
    wide = 'img.crop[data-ratio="16:9"]'
    red, _, blue = mean_colour(admin, wide)
    assert abs(red - blue) < 60, "with no focal point the 16:9 crop is centred: half and half"

    box = admin.locator("#preview").bounding_box()
    assert box is not None
    admin.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.1)
    expect(admin.locator("#focal-status")).to_have_text(
        "Focal point: 50% from the left, 10% from the top. Saved."
    )
    expect(admin.locator("#marker")).to_be_visible()
    expect(admin.locator(wide)).to_have_attribute("data-version", "1")
    red, _, blue = mean_colour(admin, wide)
    assert red > 180 and blue < 60, "a focal point at the top keeps the red half"

    admin.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.9)
    expect(admin.locator(wide)).to_have_attribute("data-version", "2")
    red, _, blue = mean_colour(admin, wide)
    assert blue > 180 and red < 60, "a focal point at the bottom keeps the blue half"

    admin.reload()  # saved, and shown again as a marker
    expect(admin.locator("#marker")).to_be_visible()
    top = admin.locator("#marker").evaluate("m => parseFloat(m.style.top)")
    assert 85 < top < 95
    api = admin.request.get(cdn(image_id) + "?w=320&h=180&crop=true")
    assert api.status == 200


def test_the_focal_point_works_from_the_keyboard(admin: Page) -> None:
    image_id = upload(admin, f"keys-{tag()}.jpg", two_tone(), JPEG)
    admin.goto(f"/ui/images/{image_id}")
    admin.locator("#stage").focus()
    admin.keyboard.press("ArrowUp")
    admin.keyboard.press("ArrowUp")
    expect(admin.locator("#focal-status")).to_have_text(
        "Focal point: 50% from the left, 40% from the top. Saved."
    )
    admin.get_by_role("button", name="Clear focal point").click()
    expect(admin.locator("#focal-status")).to_have_text("No focal point: crops are centred. Saved.")
    expect(admin.locator("#marker")).to_be_hidden()


def test_alias_description_and_tags_are_saved(admin: Page) -> None:
    name = tag()
    image_id = upload(admin, f"edit-{name}.png", small())
    admin.goto(f"/ui/images/{image_id}")
    admin.get_by_label("Alias").fill(f"hero-{name}")
    admin.get_by_label("Description").fill("A green rectangle, for the record")
    admin.get_by_label("Tags").fill("green, test, green")
    admin.get_by_label("Public", exact=True).uncheck()
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_role("status").first).to_have_text("Changes saved.")
    expect(admin.get_by_label("Alias")).to_have_value(f"@hero-{name}")
    expect(admin.get_by_label("Description")).to_have_value("A green rectangle, for the record")
    expect(admin.get_by_label("Tags")).to_have_value("green, test")
    expect(admin.get_by_label("Public", exact=True)).not_to_be_checked()
    assert admin.request.get(f"/default/default/img/@hero-{name}").status == 200

    admin.goto(f"/ui/?q=hero-{name}")  # the search covers aliases (and tags, descriptions)
    expect(cards(admin)).to_have_count(1)
    expect(cards(admin).first).to_contain_text("Private")

    admin.goto(f"/ui/images/{image_id}")
    admin.get_by_label("Alias").fill("no spaces allowed")
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_role("alert")).to_contain_text("Invalid Alias '@no spaces allowed'")
    expect(admin.get_by_label("Alias")).to_have_attribute("aria-invalid", "true")
    expect(admin.get_by_label("Alias")).to_have_value("no spaces allowed")


def test_the_url_builder_builds_copies_and_checks_urls(admin: Page) -> None:
    image_id = upload(admin, f"builder-{tag()}.jpg", two_tone(), JPEG)
    admin.goto(f"/ui/images/{image_id}")
    admin.get_by_label("Width").fill("300")
    admin.get_by_label("Height").fill("200")
    admin.get_by_label("Fit").select_option("cover")
    admin.get_by_label("Format").select_option("webp")
    admin.get_by_label("Quality").fill("70")
    url_field = admin.get_by_label("URL", exact=True)
    expected = f"{cdn(image_id)}?w=300&h=200&fit=cover&format=webp&q=70"
    expect(url_field).to_have_value(re.compile(re.escape(expected) + "$"))
    expect(url_field).to_have_attribute("readonly", "")
    url = url_field.input_value()

    admin.get_by_role("button", name="Copy URL").click()
    expect(admin.locator("#builder-status")).to_have_text("Copied URL.")
    assert clipboard(admin) == url
    admin.get_by_role("button", name="Copy Markdown").click()
    assert clipboard(admin) == f"![{admin.locator('h1').inner_text()}]({url})"
    admin.get_by_role("button", name="Copy HTML").click()
    snippet = clipboard(admin)
    assert snippet.startswith('<img src="') and 'width="300" height="200"' in snippet
    assert "dpr=2&amp;fit=cover&amp;format=webp&amp;q=70 2x" in snippet

    expect(admin.locator("#builder-preview")).to_have_attribute("src", url)
    delivered = admin.request.get(url)
    assert delivered.status == 200 and delivered.headers["content-type"] == "image/webp"

    admin.get_by_label("Width").fill("0")
    expect(admin.locator("#builder-status")).to_have_text(
        "Width: must be an integer from 1 to 8192, got '0'"
    )
    expect(url_field).to_have_attribute("aria-invalid", "true")


def test_signed_projects_get_signed_urls(admin: Page) -> None:
    image_id = upload(admin, f"signed-{tag()}.jpg", two_tone(), JPEG)
    admin.goto("/ui/settings")
    admin.get_by_label("Signing keys").fill("short")
    admin.get_by_role("button", name="Save settings").click()
    expect(admin.get_by_role("alert")).to_contain_text("Signing key on line 1:")
    try:
        admin.get_by_label("Signing keys").fill("a-signing-secret-for-the-ui-tests")
        admin.get_by_role("button", name="Save settings").click()
        expect(admin.get_by_role("status")).to_have_text("Project settings saved.")
        admin.goto(f"/ui/images/{image_id}")
        expect(admin.get_by_text("This project requires signed transform URLs")).to_be_visible()
        admin.get_by_label("Width").fill("120")
        url_field = admin.get_by_label("URL", exact=True)
        expect(url_field).to_have_value(re.compile(r"\?w=120&fit=inside&s=[A-Za-z0-9_-]{43}$"))
        url = url_field.input_value()
        assert admin.request.get(url).status == 200
        assert admin.request.get(url.split("&s=")[0]).status == 403
        assert admin.locator("#preview").evaluate("i => i.complete && i.naturalWidth > 0")
    finally:
        admin.goto("/ui/settings")
        admin.get_by_label("Signing keys").fill("")
        admin.get_by_role("button", name="Save settings").click()
        expect(admin.get_by_role("status")).to_have_text("Project settings saved.")


def test_delete_then_undo(admin: Page) -> None:
    name = tag()
    image_id = upload(admin, f"oops-{name}.png", small((90, 20, 160)))
    admin.goto(f"/ui/images/{image_id}")
    admin.get_by_role("button", name="Delete", exact=True).click()
    expect(admin).to_have_url(re.compile(rf"/ui/\?deleted_id={image_id}$"))
    expect(admin.get_by_role("status")).to_contain_text(f"Deleted “oops-{name}.png”")
    expect(admin.locator(f'#grid > li[data-id="{image_id}"]')).to_have_count(0)
    assert admin.request.get(cdn(image_id)).status == 404

    admin.get_by_role("button", name="Undo").click()
    expect(admin).to_have_url(re.compile(rf"/ui/images/{image_id}\?done=restored$"))
    expect(admin.get_by_role("status").first).to_have_text("Image restored.")
    assert admin.request.get(cdn(image_id)).status == 200
    admin.goto("/ui/")
    expect(admin.locator(f'#grid > li[data-id="{image_id}"]')).to_have_count(1)


def test_delete_permanently_asks_first(admin: Page) -> None:
    image_id = upload(admin, f"gone-{tag()}.png", small((10, 10, 10)))
    admin.goto(f"/ui/images/{image_id}")
    admin.get_by_role("button", name="Delete permanently").click()
    dialog = admin.get_by_role("dialog", name="Delete this image permanently?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert admin.request.get(cdn(image_id)).status == 200

    admin.get_by_role("button", name="Delete permanently").click()
    dialog.get_by_role("button", name="Yes, delete permanently").click()
    expect(admin.get_by_role("status")).to_have_text("Image deleted permanently.")
    assert admin.request.get(cdn(image_id)).status == 404
    admin.goto(f"/ui/images/{image_id}")
    expect(admin.get_by_role("heading", name="Not found")).to_be_visible()


# -- API keys and settings -----------------------------------------------------------------


def test_create_copy_use_and_revoke_a_key(admin: Page) -> None:
    label = f"ci-{tag()}"
    admin.get_by_role("link", name="API keys").click()
    admin.get_by_label("Kind").select_option("public")
    admin.get_by_label("Label").fill(label)
    admin.get_by_role("button", name="Create key").click()
    secret = admin.get_by_label("New key").input_value()
    assert secret.startswith("pk_")
    admin.get_by_role("button", name="Copy key").click()
    expect(admin.locator("#copy-status")).to_have_text("Copied to the clipboard.")
    assert clipboard(admin) == secret
    row = admin.locator("tr", has_text=label)
    expect(row).to_contain_text(secret[:10])
    expect(row).to_contain_text("public")
    headers = {"X-API-Key": secret}
    assert admin.request.get("/api/v1/images", headers=headers).status == 200
    expect(row).to_contain_text("UTC")  # created, and last used once the list is read again

    row.get_by_role("button", name=re.compile(rf"Revoke key {re.escape(secret[:10])}")).click()
    expect(admin.get_by_role("status")).to_contain_text("Key revoked.")
    expect(admin.locator("tr", has_text=label)).to_contain_text("Revoked")
    expect(admin.get_by_label("New key")).to_have_count(0)  # shown once, never again
    assert admin.request.get("/api/v1/images", headers=headers).status == 401


def test_members_see_images_but_change_only_their_own(
    admin: Page, browser: Browser, server: Server
) -> None:
    image_id = upload(admin, f"anns-{tag()}.png", small())
    member = browser.new_context(base_url=server.base).new_page()
    try:
        sign_in(member, MEMBER)
        expect(member.get_by_role("link", name="Settings")).to_have_count(0)
        member.goto(f"/ui/images/{image_id}")
        expect(
            member.get_by_text("Only the owner or an administrator can change this image.")
        ).to_be_visible()
        expect(member.get_by_role("button", name="Save")).to_be_disabled()
        expect(member.get_by_role("button", name="Delete", exact=True)).to_have_count(0)
        forged = member.request.post(f"/ui/images/{image_id}/delete", form={"csrf": csrf(member)})
        assert forged.status == 403
        assert "can change it; you can view it" in forged.text()
        member.goto("/ui/settings")
        expect(member.get_by_role("alert")).to_have_text(
            "Only administrators can change project settings"
        )
        assert member.request.get(cdn(image_id)).status == 200
    finally:
        member.context.close()


def test_settings_round_trip(admin: Page) -> None:
    admin.get_by_role("link", name="Settings").click()
    admin.get_by_label("Presets", exact=True).fill(
        "thumb: w=200&h=200&crop=true\nwide: w=800&h=450&fit=cover"
    )
    admin.get_by_label("AVIF").check()
    admin.get_by_label("Auto format").select_option("on")
    admin.get_by_role("button", name="Save settings").click()
    expect(admin.get_by_role("status")).to_have_text("Project settings saved.")
    expect(admin.get_by_label("Presets", exact=True)).to_have_value(
        "thumb: w=200&h=200&crop=true\nwide: w=800&h=450&fit=cover"
    )
    expect(admin.get_by_label("AVIF")).to_be_checked()
    admin.get_by_label("Presets", exact=True).fill("broken: w=abc")
    admin.get_by_role("button", name="Save settings").click()
    expect(admin.get_by_role("alert")).to_contain_text("preset 'broken' is invalid")
    admin.get_by_label("Presets", exact=True).fill("")
    admin.get_by_label("AVIF").uncheck()
    admin.get_by_label("Auto format").select_option("default")
    admin.get_by_role("button", name="Save settings").click()
    expect(admin.get_by_role("status")).to_have_text("Project settings saved.")


# -- layout --------------------------------------------------------------------------------


def test_pages_fit_a_360_pixel_phone_and_follow_dark_mode(
    admin: Page, browser: Browser, server: Server
) -> None:
    image_id = upload(admin, f"phone-{tag()}.jpg", two_tone(), JPEG)
    phone = browser.new_context(
        base_url=server.base, viewport={"width": 360, "height": 740}, color_scheme="dark"
    ).new_page()
    try:
        sign_in(phone)
        for path in ("/ui/", f"/ui/images/{image_id}", "/ui/keys", "/ui/settings"):
            phone.goto(path)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{path} is {width}px wide on a 360px screen"
        background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(18, 21, 27)"
    finally:
        phone.context.close()
    light = admin.evaluate("getComputedStyle(document.body).backgroundColor")
    assert light == "rgb(246, 247, 249)"
