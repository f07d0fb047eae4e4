"""Library: 100,000 images seeded with bulk SQL, then alias lookups and list pages over HTTP.

The limit is the same service call made in-process (`resolve`, `list`), so the ratio isolates
the HTTP, auth and JSON cost; the query plans show whether the database side scales.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, insert, select, text, update

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
from pixvault.db.rows import now
from pixvault.db.tables import images, projects
from pixvault.domain.ids import new_id
from pixvault.services.core import Core
from pixvault.services.library import NewUpload, live

ROWS = 100_000
BATCH = 5_000
ALIAS_P99_MS = 5.0
FIRST_PAGE_P99_MS = 20.0
DEEP_OFFSET = 90_000


async def seed(core: Core, project: Any, rows: int) -> float:
    """Insert `rows` images pointing at one real blob; every 10th gets alias @img-N."""
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
            {**base, "id": new_id(), "alias": f"@img-{n}" if n % 10 == 0 else None}
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


def _queries(project_id: Any) -> dict[str, Any]:
    """The statements LibraryService runs for an alias lookup, a first page and its totals."""
    where = [images.c.project_id == project_id, images.c.deleted_at.is_(None)]
    return {
        "alias lookup": select(images).where(live(project_id), images.c.alias == "@img-500"),
        "first list page": select(images)
        .where(*where)
        .order_by(images.c.id.desc())
        .limit(20)
        .offset(0),
        "list total (project counter)": select(projects.c.live_images).where(
            projects.c.id == project_id
        ),
        "flow list total": select(func.count())
        .select_from(images)
        .where(*where, images.c.flow_id == new_id()),
    }


async def explain(core: Core, project: Any, kind: str) -> list[Plan]:
    """EXPLAIN QUERY PLAN (SQLite) / EXPLAIN (PostgreSQL) for the hot library queries."""
    plans = []
    async with core.db.read() as conn:
        for name, query in _queries(project.id).items():
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


async def run(kind: str, report: Report, *, quick: bool, processes: int = 1) -> None:
    """Latency is per request, so one server process is the configuration that matters."""
    assert processes == 1, "the library suite runs one server process"
    rows = 20_000 if quick else ROWS
    deep = DEEP_OFFSET * rows // ROWS
    counts = (100, 100, 30) if quick else (500, 500, 150)
    rng = random.Random(7)
    aliases = [f"@img-{rng.randrange(0, rows, 10)}" for _ in range(counts[0])]
    async with backend(kind, "library") as be:
        async with core_for(be) as (core, key, project):
            seconds = await seed(core, project, rows)
            report.plans.extend(await explain(core, project, kind))

            async def in_alias(i: int) -> None:
                await core.library.resolve(project, aliases[i])  # type: ignore[arg-type]

            async def in_first(_: int) -> None:
                await core.library.list(project, limit=20, offset=0)  # type: ignore[arg-type]

            async def in_deep(_: int) -> None:
                await core.library.list(project, limit=20, offset=deep)  # type: ignore[arg-type]

            limits = await _latencies(in_alias, in_first, in_deep, counts)

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


if __name__ == "__main__":  # pragma: no cover - manual runs
    r = Report()
    asyncio.run(run("sqlite", r, quick=True))
    for f in r.figures:
        print(f)
    for p in r.plans:
        print(p)
    print(r.notes)
