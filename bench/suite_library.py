"""Library: 100,000 images seeded with bulk SQL, then alias lookups and list pages over HTTP,
and keyset (cursor) pages in-process.

The limit is the same service call made in-process (`resolve`, `list`), so the ratio isolates
the HTTP, auth and JSON cost; the query plans show whether the database side scales. Keyset
pages have no HTTP route yet: they are timed through `core.library.page` at the start and at
the very end of the list, where an offset page would scan every row before it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Select, insert, text, update

from bench.harness import (
    PHOTO,
    Client,
    Figure,
    Plan,
    Report,
    Server,
    backend,
    core_for,
    ms,
    pct,
)
from pixvault.db.queries.images import LIVE_BY_ALIAS, keyset_page, offset_page, total
from pixvault.db.rows import now
from pixvault.db.tables import images, projects
from pixvault.domain.ids import new_id
from pixvault.domain.paging import ImageFilter, Keyset
from pixvault.services.core import Core
from pixvault.services.library import NewUpload

ROWS = 100_000
BATCH = 5_000
ALIAS_P99_MS = 5.0
FIRST_PAGE_P99_MS = 20.0
DEEP_OFFSET = 90_000
PAGE = 20
KEYSET_RATIO_TARGET = 1.5  # last page p99 / first page p99: the same cost at any depth


async def seed(
    core: Core,
    project: Any,
    rows: int,
    columns: Callable[[int], dict[str, Any]] | None = None,
) -> float:
    """Insert `rows` images pointing at one real blob; every 10th gets alias @img-N.
    `columns(n)` sets more columns of row n (an owner, `is_public`)."""
    original = await core.library.upload_bytes(
        project, PHOTO.read_bytes(), NewUpload(), core.native_uploads
    )
    started = time.perf_counter()
    moment = now()
    base = {
        "project_id": project.id,
        "flow_id": None,
        "source": "uploaded",
        "storage_key": original.storage_key,
        "mime_type": original.mime_type,
        "size": original.size,
        "width": original.width,
        "height": original.height,
        "sha256": original.sha256,
        "meta": {},
        "tags": [],
        "filename": "seed.jpg",
        "created_at": moment,
        "updated_at": moment,
    }
    for start in range(0, rows, BATCH):
        batch = [
            {
                **base,
                "id": new_id(),
                "alias": f"@img-{n}" if n % 10 == 0 else None,
                **(columns(n) if columns else {}),
            }
            for n in range(start, min(rows, start + BATCH))
        ]
        async with core.db.write() as conn:
            await conn.execute(insert(images), batch)
            # Bulk rows bypass the library, so keep the project's counter in step here.
            await conn.execute(
                update(projects)
                .where(projects.c.id == project.id)
                .values(live_images=projects.c.live_images + len(batch))
            )
    if not core.db.is_sqlite:
        # Autovacuum would analyse a table that just grew by 100k rows within a minute.
        async with core.db.write() as conn:
            await conn.execute(text("ANALYZE images"))
    return time.perf_counter() - started


def _statements(project_id: Any, position: Any) -> dict[str, Select[Any]]:
    """The statements the core runs for an alias lookup, list pages and their totals, taken
    from pixvault.db.queries.images (not re-typed here), with their parameters bound."""
    return {
        "alias lookup (LIVE_BY_ALIAS)": LIVE_BY_ALIAS.params(project_id=project_id, ref="@img-500"),
        "first list page (offset_page, offset 0)": offset_page(project_id, ImageFilter(), PAGE, 0),
        "keyset page (keyset_page, older than the last page's position)": keyset_page(
            project_id, ImageFilter(), PAGE, Keyset(position)
        ),
        "list total (total: project counter)": total(project_id, ImageFilter()),
        "flow list total (total, flow filter)": total(project_id, ImageFilter(flow_id=new_id())),
    }


async def explain(core: Core, project: Any, kind: str, position: Any) -> list[Plan]:
    """EXPLAIN QUERY PLAN (SQLite) / EXPLAIN (PostgreSQL) for the hot library queries."""
    return await explain_statements(core, kind, _statements(project.id, position))


async def explain_statements(
    core: Core, kind: str, statements: dict[str, Select[Any]]
) -> list[Plan]:
    """The plans of these statements, as the database prints them."""
    plans = []
    async with core.db.read() as conn:
        for name, query in statements.items():
            sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
            if core.db.is_sqlite:
                rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)).all()
                lines = [str(r[-1]) for r in rows]
                full = any(line.startswith("SCAN images") and "INDEX" not in line for line in lines)
            else:
                rows = (await conn.exec_driver_sql("EXPLAIN " + sql)).all()
                lines = [str(r[0]) for r in rows]
                full = any("Seq Scan on images" in line for line in lines)
            plans.append(Plan(kind, name, " ".join(sql.split()), "\n".join(lines), full))
    return plans


Probe = Callable[[int], Awaitable[None]]


async def _timed(count: int, one: Probe, cap: float) -> list[float]:
    """Sequential latencies, at most `count` requests or `cap` seconds."""
    out: list[float] = []
    deadline = time.perf_counter() + cap
    for i in range(count):
        if time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        await one(i)
        out.append(time.perf_counter() - t0)
    return out


async def _latencies(
    alias: Probe, first: Probe, deep: Probe, counts: tuple[int, int, int]
) -> dict[str, list[float]]:
    """Warm up, then time the three lookups; the same protocol for the limit and for HTTP."""
    for i in range(20):
        await alias(i)
        await first(i)
    n_alias, n_page, n_deep = counts
    return {
        "alias": await _timed(n_alias, alias, 60),
        "first": await _timed(n_page, first, 60),
        "deep": await _timed(n_deep, deep, 40),
    }


async def last_page_position(core: Core, project: Any, only: ImageFilter = ImageFilter()) -> Any:
    """The position whose older page is the last one: the id of the 21st-oldest image.

    Read through the core itself (the 21 oldest images are the first "newer" page from no
    position; the newest of them, whatever order the page lists them in), then checked: the
    page older than it holds exactly the 20 oldest images."""
    oldest = await core.library.page(project, only, limit=PAGE + 1, start=Keyset(direction="newer"))
    if len(oldest.items) != PAGE + 1:
        raise RuntimeError(f"expected {PAGE + 1} oldest images, got {len(oldest.items)}")
    position = max(image.id for image in oldest.items)
    last = await core.library.page(project, only, limit=PAGE, start=Keyset(position, "older"))
    if len(last.items) != PAGE or last.has_more:
        raise RuntimeError(
            f"the keyset page older than {position} is not the last page: "
            f"{len(last.items)} items, has_more={last.has_more}"
        )
    return position


async def _keyset_latencies(first: Probe, last: Probe, count: int) -> dict[str, list[float]]:
    """`count` pairs of the first and the last keyset page, taking turns (and turns at going
    first), so the machine's drift and any warm-cache advantage hit both alike."""
    for i in range(20):
        await first(i)
        await last(i)
    out: dict[str, list[float]] = {"first": [], "last": []}
    pair = [("first", first), ("last", last)]
    deadline = time.perf_counter() + 60
    for i in range(count):
        if time.perf_counter() > deadline:
            break
        for name, probe in pair if i % 2 == 0 else pair[::-1]:
            t0 = time.perf_counter()
            await probe(i)
            out[name].append(time.perf_counter() - t0)
    return out


def _keyset_figures(
    kind: str, keyset: dict[str, list[float]], offsets: dict[str, list[float]], images: int
) -> list[Figure]:
    """Keyset first and last page p99, each beside the in-process offset page holding the
    same rows, then the last page against the first: the cost must not grow with depth."""
    first, last = pct(keyset["first"], 99), pct(keyset["last"], 99)
    at_first, at_end = pct(offsets["first"], 99), pct(offsets["end"], 99)
    n = len(keyset["first"])
    ratio = last / first
    return [
        Figure(
            "library",
            kind,
            f"keyset first page p99, in-process core.library.page (n={n})",
            ms(first),
            f"{ms(at_first)} (offset page, offset 0)",
            first / at_first,
        ),
        Figure(
            "library",
            kind,
            f"keyset last page p99 (the {PAGE} oldest of {images:,}), in-process (n={n})",
            ms(last),
            f"{ms(at_end)} (offset page, offset {images - PAGE:,}, n={len(offsets['end'])})",
            last / at_end,
        ),
        Figure(
            "library",
            kind,
            "keyset last page p99 vs first page p99 (same cost at the end as at the start)",
            ms(last),
            ms(first),
            ratio,
            f"ratio <= {KEYSET_RATIO_TARGET:g}",
            ratio <= KEYSET_RATIO_TARGET,
        ),
    ]


async def run(kind: str, report: Report, *, quick: bool, processes: int = 1) -> None:
    """Latency is per request, so one server process is the configuration that matters."""
    assert processes == 1, "the library suite runs one server process"
    rows = 20_000 if quick else ROWS
    deep = DEEP_OFFSET * rows // ROWS
    counts = (100, 100, 30) if quick else (500, 500, 150)
    # A keyset page costs ~2 ms in-process; the ratio of two p99s needs many samples to be
    # steadier than the machine (1,000 pairs: about 0.8-1.1 when the machine is busy).
    keyset_pairs = 300 if quick else 1000
    rng = random.Random(7)
    aliases = [f"@img-{rng.randrange(0, rows, 10)}" for _ in range(counts[0])]
    async with backend(kind, "library") as be:
        async with core_for(be) as (core, key, project):
            seconds = await seed(core, project, rows)
            images_total = rows + 1  # the seeded rows and the one real upload they share
            position = await last_page_position(core, project)
            report.plans.extend(await explain(core, project, kind, position))

            async def in_alias(i: int) -> None:
                await core.library.resolve(project, aliases[i])  # type: ignore[arg-type]

            async def in_first(_: int) -> None:
                await core.library.list(project, limit=20, offset=0)  # type: ignore[arg-type]

            async def in_deep(_: int) -> None:
                await core.library.list(project, limit=20, offset=deep)  # type: ignore[arg-type]

            limits = await _latencies(in_alias, in_first, in_deep, counts)

            lib, start_last, end = core.library, Keyset(position, "older"), images_total - PAGE

            async def keyset_first(_: int) -> None:
                await lib.page(project, limit=PAGE, start=Keyset())  # type: ignore[arg-type]

            async def keyset_last(_: int) -> None:
                await lib.page(project, limit=PAGE, start=start_last)  # type: ignore[arg-type]

            async def offset_end(_: int) -> None:
                await lib.list(project, limit=PAGE, offset=end)  # type: ignore[arg-type]

            keyset = await _keyset_latencies(keyset_first, keyset_last, keyset_pairs)
            offsets = {"first": limits["first"], "end": await _timed(counts[2], offset_end, 40)}

        with Server(be, "library") as server:
            async with Client(server.base, 1, key) as client:

                async def get(url: str) -> None:
                    await client.get(url)

                async def h_alias(i: int) -> None:
                    await get(f"/api/v1/images/{aliases[i]}")

                async def h_first(_: int) -> None:
                    await get("/api/v1/images?limit=20&offset=0")

                async def h_deep(_: int) -> None:
                    await get(f"/api/v1/images?limit=20&offset={deep}")

                measured = await _latencies(h_alias, h_first, h_deep, counts)

    report.notes.append(
        f"library/{kind}: seeded {rows:,} rows in {seconds:.1f} s "
        f"({rows // BATCH} statements of {BATCH:,} rows)."
    )
    labels = {
        "alias": ("GET /images/@alias", ALIAS_P99_MS),
        "first": ("GET /images?limit=20 (first page)", FIRST_PAGE_P99_MS),
        "deep": (f"GET /images?limit=20&offset={deep:,}", None),
    }
    for name, (label, target_ms) in labels.items():
        http, limit = measured[name], limits[name]
        for q in (50, 99):
            value = pct(http, q)
            ok = None
            target = "-"
            if q == 99 and target_ms is not None:
                ok = value * 1000 <= target_ms
                target = f"p99 <= {target_ms:g} ms"
            report.figures.append(
                Figure(
                    "library",
                    kind,
                    f"{label} p{q} (n={len(http)})",
                    ms(value),
                    ms(pct(limit, q)),
                    value / pct(limit, q),
                    target,
                    ok,
                )
            )
    report.figures.extend(_keyset_figures(kind, keyset, offsets, images_total))


if __name__ == "__main__":  # pragma: no cover - manual runs
    r = Report()
    asyncio.run(run("sqlite", r, quick=True))
    for f in r.figures:
        print(f)
    for p in r.plans:
        print(p)
    print(r.notes)
