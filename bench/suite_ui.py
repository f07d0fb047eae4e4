"""Web UI gallery: 100,000 images in default/default, a user signed in over HTTP with the real
session cookie, then the gallery's first page (`GET /ui/`) and a deep page (`GET /ui/?before=ID`,
the page holding the 30 oldest images, with the cursor built as pages.py builds its "older"
link), on one `pixvault serve` process and one connection.

The limit of each page is the same core calls the page makes, in-process and with the same
filter and page size: `core.library.page` from the same position and `core.library.list(limit=1)`
for the count the gallery shows. The ratio is then HTTP, the session cookie's check, the visit's
user and project lookups (timed in-process too: the attribution row) and the template (30
cards, each with its thumbnail URLs).
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from sqlalchemy import Select

from bench.harness import Client, Figure, Report, Server, backend, core_for, ms, pct
from bench.suite_library import explain_statements, seed
from bench.suite_slink import Probe, interleaved
from pixvault.db.queries.images import keyset_page
from pixvault.domain.paging import ImageFilter, Keyset
from pixvault.services.core import Core
from pixvault.web.pages import PAGE_SIZE
from pixvault.web.session import COOKIE, CSRF_FIELD

ROWS = 100_000
EMAIL = "ui-bench@example.com"
USERNAME = "uibench"
PASSWORD = "ui-bench-password-1234"
PAGE_P99_MS = 50.0  # both gallery pages, over HTTP
DEPTH_RATIO_TARGET = 1.5  # deep page p99 / first page p99
PROJECT = "default/default"
ONLY = ImageFilter()  # the gallery with no filter chosen (pages._filters of an empty query)

_CSRF = re.compile(rf'name="{CSRF_FIELD}" value="([^"]+)"')
_CARD = re.compile(r'<li class="card[^"]*" data-id="([0-9a-f-]{36})"')
_OLDER = re.compile(r'<a href="([^"]+)" rel="next" data-older>')
_COUNT = re.compile(r'<p class="count">([\d,]+) images? in ')


def gallery_url(before: Any) -> str:
    """The "older" link as pages._gallery_url builds it with no filter chosen."""
    return "/ui/?" + urlencode({"before": str(before)})


def filename(n: int) -> dict[str, Any]:
    return {"filename": f"photo-{n:06d}.jpg"}


async def deep_position(core: Core, project: Any) -> Any:
    """The position whose older page is the last one: the id of the 31st-oldest image (read
    through the core as the first "newer" page from no position), checked: the gallery page
    older than it holds exactly the 30 oldest images and no "older" link."""
    oldest = await core.library.page(
        project, ONLY, limit=PAGE_SIZE + 1, start=Keyset(direction="newer")
    )
    if len(oldest.items) != PAGE_SIZE + 1:
        raise RuntimeError(f"expected {PAGE_SIZE + 1} oldest images, got {len(oldest.items)}")
    position = max(image.id for image in oldest.items)
    last = await core.library.page(project, ONLY, limit=PAGE_SIZE, start=Keyset(position))
    if len(last.items) != PAGE_SIZE or last.has_more:
        raise RuntimeError(
            f"the page older than {position} is not the last one: "
            f"{len(last.items)} items, has_more={last.has_more}"
        )
    return position


async def sign_in(base: str) -> str:
    """The UI's sign-in as a browser does it: the login form (which sets the anonymous
    session cookie and carries its CSRF token), then the form posted back with the cookie.
    Returns the signed-in session cookie the server set.

    aiohttp's cookie jar ignores cookies from an IP address, so the cookie is carried by hand."""
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "/ui/login") as response:
            page = await response.text()
            if response.status != 200 or COOKIE not in response.cookies:
                raise RuntimeError(f"GET /ui/login: HTTP {response.status}, no {COOKIE} cookie")
            anonymous = response.cookies[COOKIE].value
        found = _CSRF.search(page)
        if not found:
            raise RuntimeError("the sign-in form carries no CSRF token")
        form = {CSRF_FIELD: found.group(1), "next": "", "email": EMAIL, "password": PASSWORD}
        async with http.post(
            base + "/ui/login",
            data=form,
            headers={"Cookie": f"{COOKIE}={anonymous}"},
            allow_redirects=False,
        ) as response:
            await response.read()
            where = response.headers.get("Location")
            if response.status != 303 or where != "/ui/" or COOKIE not in response.cookies:
                raise RuntimeError(f"POST /ui/login: HTTP {response.status} to {where!r}")
            return response.cookies[COOKIE].value


async def check_pages(
    client: Client, deep_url: str, first_ids: list[str], last_ids: list[str], images: int
) -> None:
    """The signed-in gallery shows the core's pages: the first one with the count and an
    "older" link in the format we build, the deep one the 30 oldest and no "older" link."""
    first = (await client.get("/ui/")).decode()
    ids, older, count = _CARD.findall(first), _OLDER.search(first), _COUNT.search(first)
    if ids != first_ids or count is None or int(count.group(1).replace(",", "")) != images:
        raise RuntimeError(
            f"unexpected first gallery page (signed in?): {len(ids)} cards, "
            f"count {count and count.group(1)!r}"
        )
    if older is None or older.group(1) != gallery_url(first_ids[-1]):
        raise RuntimeError(f"the first page's older link is {older and older.group(1)!r}")
    deep = (await client.get(deep_url)).decode()
    if _CARD.findall(deep) != last_ids or _OLDER.search(deep):
        raise RuntimeError("the deep gallery page is not the last page")


async def gallery_plans(core: Core, kind: str, project_id: Any, position: Any) -> list[Any]:
    statements: dict[str, Select[Any]] = {
        f"UI gallery first page (keyset_page, limit {PAGE_SIZE}, no position)": keyset_page(
            project_id, ONLY, PAGE_SIZE, Keyset()
        ),
        f"UI gallery deep page (keyset_page, limit {PAGE_SIZE}, the {PAGE_SIZE} oldest)": (
            keyset_page(project_id, ONLY, PAGE_SIZE, Keyset(position))
        ),
    }
    return await explain_statements(core, kind, statements)


def gallery_figures(kind: str, t: dict[str, list[float]], images: int) -> list[Figure]:
    n = len(t["http first"])
    first, deep = pct(t["http first"], 99), pct(t["http deep"], 99)
    in_first, in_deep = pct(t["core first"], 99), pct(t["core deep"], 99)
    limit = "(core.library.page + list(limit=1) for the count, in-process)"
    ratio = deep / first
    return [
        Figure(
            "ui",
            kind,
            f"GET /ui/ (gallery first page, {PAGE_SIZE} of {images:,}, session cookie) p99 "
            f"(n={n}, p50 {ms(pct(t['http first'], 50))})",
            ms(first),
            f"{ms(in_first)} {limit}",
            first / in_first,
            f"p99 <= {PAGE_P99_MS:g} ms",
            first * 1000 <= PAGE_P99_MS,
        ),
        Figure(
            "ui",
            kind,
            f"GET /ui/?before=... (the {PAGE_SIZE} oldest of {images:,}, session cookie) p99 "
            f"(n={n}, p50 {ms(pct(t['http deep'], 50))})",
            ms(deep),
            f"{ms(in_deep)} {limit}",
            deep / in_deep,
            f"p99 <= {PAGE_P99_MS:g} ms",
            deep * 1000 <= PAGE_P99_MS,
        ),
        Figure(
            "ui",
            kind,
            "gallery deep / first: deep page p99 vs first page p99 (over HTTP)",
            ms(deep),
            ms(first),
            ratio,
            f"ratio <= {DEPTH_RATIO_TARGET:g}",
            ratio <= DEPTH_RATIO_TARGET,
        ),
        Figure(
            "ui",
            kind,
            f"attribution: the visit's lookups alone (core.users.get + core.projects.get, run by "
            f"every signed-in page) in-process p50 (n={len(t['visit lookups'])}), against the "
            "in-process first page's core calls p50",
            ms(pct(t["visit lookups"], 50)),
            ms(pct(t["core first"], 50)),
            pct(t["visit lookups"], 50) / pct(t["core first"], 50),
        ),
    ]


async def run(kind: str, report: Report, *, quick: bool, processes: int = 1) -> None:
    """Latency is per request, so one server process is the configuration that matters."""
    assert processes == 1, "the ui suite runs one server process"
    rows = 20_000 if quick else ROWS
    # A gallery page costs ~10 ms over HTTP: 400 turns of the five probes take ~10-15 s, and
    # p99 is then the 4th-worst of 400 samples.
    turns = 100 if quick else 400
    async with backend(kind, "ui") as be, core_for(be) as (core, _key, _):
        project = await core.projects.by_path(PROJECT)
        user = await core.users.create(EMAIL, PASSWORD, project, username=USERNAME, admin=True)
        seconds = await seed(core, project, rows, filename)
        images = rows + 1  # the seeded rows and the one real upload they share
        position = await deep_position(core, project)
        deep_url = gallery_url(position)
        lib, start = core.library, Keyset(position)
        first_ids = [str(i.id) for i in (await lib.page(project, ONLY, limit=PAGE_SIZE)).items]
        last = await lib.page(project, ONLY, limit=PAGE_SIZE, start=start)
        report.plans.extend(await gallery_plans(core, kind, project.id, position))

        with Server(be, "ui") as server:
            t0 = time.perf_counter()
            cookie = await sign_in(server.base)
            signing_in = time.perf_counter() - t0
            async with Client(server.base, 1, headers={"Cookie": f"{COOKIE}={cookie}"}) as client:
                await check_pages(
                    client, deep_url, first_ids, [str(i.id) for i in last.items], images
                )

                async def http_first(_: int) -> None:
                    await client.get("/ui/")

                async def http_deep(_: int) -> None:
                    await client.get(deep_url)

                async def core_first(_: int) -> None:
                    await lib.page(project, ONLY, limit=PAGE_SIZE, start=Keyset())
                    await lib.list(project, ONLY, limit=1)

                async def core_deep(_: int) -> None:
                    await lib.page(project, ONLY, limit=PAGE_SIZE, start=start)
                    await lib.list(project, ONLY, limit=1)

                async def visit_lookups(_: int) -> None:
                    # What visit_of adds for a signed-in cookie: the user, then their project.
                    member = await core.users.get(user.id)
                    await core.projects.get(member.project_ids[0])

                probes: dict[str, Probe] = {
                    "http first": http_first,
                    "http deep": http_deep,
                    "core first": core_first,
                    "core deep": core_deep,
                    "visit lookups": visit_lookups,
                }
                timed = await interleaved(probes, turns, 60)
    report.figures.extend(gallery_figures(kind, timed, images))
    report.notes.append(
        f"ui/{kind}: seeded {rows:,} images with filenames in {seconds:.1f} s; signed in over "
        f"HTTP (login form, then the form posted with its CSRF token) in {signing_in:.2f} s; "
        f"the deep page is {deep_url.replace(str(position), '<id of the 31st-oldest image>')}."
    )
