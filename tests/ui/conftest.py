"""Browser fixtures: one `pixvault serve` and one chromium per test module, a fresh browser
context (cookies, clipboard) per test.

Module scope, not session: while Playwright's sync API is open its event loop counts as
running, and pytest-asyncio refuses to run the async tests of later modules inside it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.support import ADMIN, CHROMIUM, CHROMIUM_ARGS, Server, start_server

if os.path.exists(CHROMIUM):
    from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
else:  # the modules skip themselves; nothing here is used
    Browser = BrowserContext = Page = object  # type: ignore[assignment,misc]

TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("ui"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def new_context(browser: Browser, server: Server, **options: Any) -> BrowserContext:
    options.setdefault("viewport", {"width": 1280, "height": 900})
    made = browser.new_context(base_url=server.base, **options)
    made.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    made.set_default_timeout(TIMEOUT_MS)
    return made


@pytest.fixture
def context(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    made = new_context(browser, server)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def sign_in(page: Page, who: tuple[str, str] = ADMIN) -> None:
    page.goto("/ui/login")
    page.get_by_label("Email").fill(who[0])
    page.get_by_label("Password").fill(who[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Images", level=1)).to_be_visible()


@pytest.fixture(scope="module")
def admin_session(browser: Browser, server: Server) -> dict[str, Any]:
    """The administrator's cookies, from signing in once through the form."""
    made = new_context(browser, server)
    try:
        sign_in(made.new_page())
        return made.storage_state()
    finally:
        made.close()


@pytest.fixture
def admin(browser: Browser, server: Server, admin_session: dict[str, Any]) -> Iterator[Page]:
    """A page signed in as the administrator, on a page without pictures (renders are the
    slow part of a page load; tests that need the gallery open it with their own filter)."""
    made = new_context(browser, server, storage_state=admin_session)
    try:
        page = made.new_page()
        page.goto("/ui/keys")
        expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
        yield page
    finally:
        made.close()
