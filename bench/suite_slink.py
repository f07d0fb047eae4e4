"""Slink surface: what a sign-in costs the server beside argon2 alone, the signed-in history
list at 100,000 images (the first page and a cursor page at the very end), and Slink delivery
of a cached derivative beside the native CDN URL, on one `pixvault serve` process.

Limits, measured in the same run: a sign-in against `HASHER.verify` of the user's own stored
hash in this process (the password check is most of a sign-in, by design); a history page
against the same core calls the route makes (`core.library.list`, `core.library.page`) with the
same filter; Slink delivery against the native CDN URL of the same image, in interleaved rounds
on the same server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select

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
    own_cpu_seconds,
    pct,
    run_load,
)
from bench.suite_delivery import cached_limit
from bench.suite_library import explain_statements, last_page_position, seed
from pixvault.db.queries.images import keyset_page, offset_page, total
from pixvault.db.tables import users
from pixvault.domain.paging import ImageFilter, Keyset, Order
from pixvault.services.core import Core
from pixvault.services.users import HASHER

ROWS = 100_000
PAGE = 20
EMAIL = "bench@example.com"
USERNAME = "bench"
PASSWORD = "bench-password-1234"
LOGIN_CPU_TARGET_MS = 50.0
CURSOR_RATIO_TARGET = 1.5  # deep cursor page p99 / first page p99
DELIVERY_TARGET = 0.90  # Slink cached hits per server CPU-second / native
SLINK_HIT = "/image/{id}.jpg?width=300"
NATIVE_HIT = "/default/default/img/{id}?w=300"

Probe = Callable[[int], Awaitable[None]]


def argon2_label() -> str:
    return (
        f"argon2id t={HASHER.time_cost}, m={HASHER.memory_cost / 1024:g} MiB, "
        f"p={HASHER.parallelism}"
    )


def slink_cursor(timestamp: int, image_id: str) -> str:
    """Slink's cursor as the server hands it out: base64url (unpadded) JSON {timestamp, id}
    of the last item of the previous page."""
    raw = json.dumps({"timestamp": timestamp, "id": image_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# -- sign-in -------------------------------------------------------------------------------


async def login_cost(
    client: Client, server: Server, stored: str, count: int, rounds: int
) -> tuple[float, float, list[float]]:
    """Server CPU per successful sign-in and `HASHER.verify` CPU per call in this process,
    in interleaved rounds of sequential calls; with the sign-ins' wall latencies."""
    payload = {"username": USERNAME, "password": PASSWORD}
    for _ in range(3):  # the signing key, the first refresh-token insert, warm code paths
        await client.post_json("/api/auth/login", payload)
    HASHER.verify(stored, PASSWORD)
    per_round = max(1, count // rounds)
    server_cpu = verify_cpu = 0.0
    latencies: list[float] = []
    for _ in range(rounds):
        cpu0 = server.cpu()
        for _ in range(per_round):
            t0 = time.perf_counter()
            pair = await client.post_json("/api/auth/login", payload)
            latencies.append(time.perf_counter() - t0)
            if not pair.get("access_token"):
                raise RuntimeError(f"sign-in answered no access token: {pair}")
        server_cpu += server.cpu() - cpu0
        cpu0 = own_cpu_seconds()
        for _ in range(per_round):
            if not HASHER.verify(stored, PASSWORD):
                raise RuntimeError("the stored hash does not verify the bench password")
        verify_cpu += own_cpu_seconds() - cpu0
    n = per_round * rounds
    return server_cpu / n, verify_cpu / n, latencies


def login_figures(kind: str, server: float, verify: float, latencies: list[float]) -> Figure:
    return Figure(
        "slink",
        kind,
        f"POST /api/auth/login, server CPU per sign-in, {argon2_label()} "
        f"(n={len(latencies)} sequential; wall p50 {ms(pct(latencies, 50))}, "
        f"p99 {ms(pct(latencies, 99))}; besides the hash: {ms(server - verify)})",
        ms(server),
        f"{ms(verify)} (HASHER.verify in-process)",
        server / verify,
        f"<= {LOGIN_CPU_TARGET_MS:g} ms",
        server * 1000 <= LOGIN_CPU_TARGET_MS,
    )


# -- history -------------------------------------------------------------------------------


async def interleaved(probes: dict[str, Probe], count: int, cap: float) -> dict[str, list[float]]:
    """`count` turns of every probe, the one going first rotating each turn, so the machine's
    drift and any warm-cache advantage hit them all alike; after 20 warm-up turns."""
    names = list(probes)
    for i in range(20):
        for name in names:
            await probes[name](i)
    out: dict[str, list[float]] = {name: [] for name in names}
    deadline = time.perf_counter() + cap
    for i in range(count):
        if time.perf_counter() > deadline:
            break
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            t0 = time.perf_counter()
            await probes[name](i)
            out[name].append(time.perf_counter() - t0)
    return out


async def sequential(count: int, one: Probe) -> list[float]:
    await one(0)
    out = []
    for i in range(count):
        t0 = time.perf_counter()
        await one(i)
        out.append(time.perf_counter() - t0)
    return out


def history_figures(
    kind: str, t: dict[str, list[float]], counted: list[float], rows: int
) -> list[Figure]:
    n = len(t["http first"])
    first, deep = pct(t["http first"], 99), pct(t["http deep"], 99)
    in_first, in_deep = pct(t["core first"], 99), pct(t["core deep"], 99)
    count_p50, in_first_p50 = pct(counted, 50), pct(t["core first"], 50)
    ratio = deep / first
    return [
        Figure(
            "slink",
            kind,
            f"GET /api/images/history/1?limit={PAGE} (JWT, first page of {rows:,} own images) "
            f"p99 (n={n}, p50 {ms(pct(t['http first'], 50))})",
            ms(first),
            f"{ms(in_first)} (core.library.list, owner filter, in-process)",
            first / in_first,
        ),
        Figure(
            "slink",
            kind,
            f"GET /api/images/history/1?limit={PAGE}&cursor=... (the {PAGE} oldest of {rows:,}) "
            f"p99 (n={n}, p50 {ms(pct(t['http deep'], 50))})",
            ms(deep),
            f"{ms(in_deep)} (core.library.page + list(limit=1) for the total, in-process)",
            deep / in_deep,
        ),
        Figure(
            "slink",
            kind,
            "history deep cursor page p99 vs first page p99 (over HTTP)",
            ms(deep),
            ms(first),
            ratio,
            f"ratio <= {CURSOR_RATIO_TARGET:g}",
            ratio <= CURSOR_RATIO_TARGET,
        ),
        Figure(
            "slink",
            kind,
            f"attribution: meta.total alone (COUNT of the owner's {rows:,} images, run by "
            f"every history page) in-process p50 (n={len(counted)}), against the in-process "
            "first page p50",
            ms(count_p50),
            ms(in_first_p50),
            count_p50 / in_first_p50,
        ),
    ]


async def check_history(client: Client, cursor: str, last_ids: list[str], rows: int) -> None:
    """The first page hands out the cursor we would build; the cursor page is the last one."""
    first = json.loads(await client.get(f"/api/images/history/1?limit={PAGE}"))
    data, meta = first["data"], first["meta"]
    tail = data[-1]
    expected = slink_cursor(tail["attributes"]["createdAt"]["timestamp"], tail["id"])
    if len(data) != PAGE or meta.get("total") != rows or meta.get("nextCursor") != expected:
        raise RuntimeError(f"unexpected first history page: {len(data)} items, meta {meta}")
    deep = json.loads(await client.get(f"/api/images/history/1?limit={PAGE}&cursor={cursor}"))
    ids = [item["id"] for item in deep["data"]]
    if ids != last_ids or deep["meta"].get("nextCursor") or deep["meta"].get("total") != rows:
        raise RuntimeError(f"the cursor page is not the last page: meta {deep['meta']}")


async def history_plans(
    core: Core, kind: str, project_id: Any, only: ImageFilter, position: Any
) -> list[Plan]:
    statements = {
        "Slink history first page (offset_page, owner filter, offset 0)": offset_page(
            project_id, only, PAGE, 0, Order()
        ),
        "Slink history cursor page (keyset_page, owner filter, the last page)": keyset_page(
            project_id, only, PAGE, Keyset(position)
        ),
        "Slink history meta.total (total: count of the owner's images)": total(project_id, only),
    }
    return await explain_statements(core, kind, statements)


# -- delivery ------------------------------------------------------------------------------


async def delivery_rounds(
    client: Client, server: Server, paths: dict[str, str], count: int, rounds: int
) -> dict[str, tuple[float, list[float], list[float], int]]:
    """Cached hits on 8 connections, the two URLs taking turns round by round (and turns at
    going first): per URL, hits per server CPU-second over all rounds, the per-round rates,
    the latencies and errors."""
    done = {name: [0, 0.0, [], [], 0] for name in paths}  # hits, cpu, rates, latencies, errors
    names = list(paths)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            path = paths[name]

            async def hit(_: int, path: str = path) -> None:
                await client.get(path)

            cpu0 = server.cpu()
            load = await run_load(count, 8, hit, time_cap=60)
            cpu = server.cpu() - cpu0
            entry = done[name]
            entry[0] += len(load.latencies)
            entry[1] += cpu
            entry[2].append(len(load.latencies) / cpu)
            entry[3] += load.latencies
            entry[4] += load.errors
    return {n: (e[0] / e[1], e[2], e[3], e[4]) for n, e in done.items()}


async def bare_rates(
    core: Core, image_id: str, paths: dict[str, str], count: int, rounds: int
) -> dict[str, float]:
    """Both URLs through the app in-process as bare ASGI, in interleaved rounds: hits per CPU
    second of this process, over all rounds."""
    spent = dict.fromkeys(paths, 0.0)
    names = list(paths)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            path, _, query = paths[name].partition("?")
            spent[name] += count / await cached_limit(core, image_id, count, path=path, query=query)
    return {name: count * rounds / seconds for name, seconds in spent.items()}


def delivery_figures(
    kind: str,
    measured: dict[str, tuple[float, list[float], list[float], int]],
    sizes: dict[str, int],
    bare: dict[str, float],
    count: int,
    rounds: int,
) -> list[Figure]:
    slink_all, slink_rates, slink_lat, slink_err = measured["slink"]
    native_all, native_rates, native_lat, native_err = measured["native"]
    # Medians of the rounds, as suite_delivery's cached hits: a burst of other work on the
    # machine during one round moves a median less than a sum.
    slink, native = statistics.median(slink_rates), statistics.median(native_rates)
    ratio = slink / native
    spread = f"over all rounds {slink_all:.0f} vs {native_all:.0f}"
    return [
        Figure(
            "slink",
            kind,
            f"cached {SLINK_HIT} ({sizes['slink'] / 1000:.0f} KB) vs native {NATIVE_HIT} "
            f"({sizes['native'] / 1000:.0f} KB), same server and image, 8 conns, {rounds} "
            f"interleaved rounds of {count} each, median round ({spread}; p99 "
            f"{ms(pct(slink_lat, 99))} vs {ms(pct(native_lat, 99))}; errors "
            f"{slink_err}+{native_err})",
            f"{slink:.0f} req/server-cpu-s",
            f"{native:.0f} req/server-cpu-s (native)",
            ratio,
            f"ratio >= {DELIVERY_TARGET:.2f}",
            ratio >= DELIVERY_TARGET and slink_err + native_err == 0,
        ),
        Figure(
            "slink",
            kind,
            "attribution: the same two routes in-process as bare ASGI (no socket, no uvicorn), "
            "Slink vs native",
            f"{bare['slink']:.0f}/cpu-s",
            f"{bare['native']:.0f}/cpu-s (native)",
            bare["slink"] / bare["native"],
        ),
    ]


# -- the suite -----------------------------------------------------------------------------


async def run(kind: str, report: Report, *, quick: bool, processes: int = 1) -> None:
    """One server process: a sign-in and a page are per request, and the delivery ratio
    compares two URLs on the same process."""
    assert processes == 1, "the slink suite runs one server process"
    rows = 20_000 if quick else ROWS
    logins, login_rounds = (20, 2) if quick else (80, 4)
    # A history page costs ~15-40 ms at 100,000 images (the total is a COUNT), so the turns
    # are fewer than the library suite's keyset pairs: 120 turns of four probes, ~20 s.
    turns = 60 if quick else 120
    counts = 30 if quick else 60
    hits, hit_rounds = (600, 2) if quick else (1000, 8)
    add = report.figures.append
    async with backend(kind, "slink") as be, core_for(be) as (core, key, project):
        user = await core.users.create(EMAIL, PASSWORD, project, username=USERNAME)
        async with core.db.read() as conn:
            stored = await conn.scalar(select(users.c.password_hash).where(users.c.id == user.id))

        def owned(n: int) -> dict[str, Any]:
            return {"owner_id": user.id, "is_public": n % 2 == 0}

        seconds = await seed(core, project, rows, owned)
        only = ImageFilter(owner_id=user.id)
        position = await last_page_position(core, project, only)
        last = await core.library.page(project, only, limit=PAGE, start=Keyset(position))
        oldest_21st = await core.library.get(project, position)
        cursor = slink_cursor(int(oldest_21st.created_at.timestamp()), str(position))
        report.plans.extend(await history_plans(core, kind, project.id, only, position))

        with Server(be, "slink") as server:
            async with Client(server.base, 1) as client:
                server_cpu, verify_cpu, latencies = await login_cost(
                    client, server, stored, logins, login_rounds
                )
                token = (
                    await client.post_json(
                        "/api/auth/login", {"username": EMAIL, "password": PASSWORD}
                    )
                )["access_token"]
            add(login_figures(kind, server_cpu, verify_cpu, latencies))

            bearer = {"Authorization": f"Bearer {token}"}
            async with Client(server.base, 1, headers=bearer) as client:
                await check_history(client, cursor, [str(i.id) for i in last.items], rows)
                lib, start = core.library, Keyset(position)

                async def http_first(_: int) -> None:
                    await client.get(f"/api/images/history/1?limit={PAGE}")

                async def http_deep(_: int) -> None:
                    await client.get(f"/api/images/history/1?limit={PAGE}&cursor={cursor}")

                async def core_first(_: int) -> None:
                    await lib.list(project, only, limit=PAGE, offset=0, order=Order())  # type: ignore[arg-type]

                async def core_deep(_: int) -> None:
                    await lib.page(project, only, limit=PAGE, start=start)  # type: ignore[arg-type]
                    await lib.list(project, only, limit=1)  # type: ignore[arg-type]

                async def count(_: int) -> None:
                    async with core.db.read() as conn:
                        await conn.scalar(total(project.id, only))

                probes = {
                    "http first": http_first,
                    "http deep": http_deep,
                    "core first": core_first,
                    "core deep": core_deep,
                }
                timed = await interleaved(probes, turns, 60)
                counted = await sequential(counts, count)
            report.figures.extend(history_figures(kind, timed, counted, rows))

            async with Client(server.base, 8, key) as client:
                image_id = (await client.upload(PHOTO.read_bytes()))["id"]
                paths = {
                    "slink": SLINK_HIT.format(id=image_id),
                    "native": NATIVE_HIT.format(id=image_id),
                }
                sizes = {}
                for name, path in paths.items():
                    for _ in range(20):  # render once, then warm the hit path
                        sizes[name] = len(await client.get(path))
                measured = await delivery_rounds(client, server, paths, hits, hit_rounds)
                await asyncio.sleep(1.5)  # the server writes view counts once a second
                views = (await core.library.get(project, uuid.UUID(image_id))).views  # type: ignore[arg-type]
            bare = await bare_rates(core, image_id, paths, min(hits, 1000), hit_rounds)
            report.figures.extend(delivery_figures(kind, measured, sizes, bare, hits, hit_rounds))
    served = 20 + len(measured["slink"][2])
    report.notes.append(
        f"slink/{kind}: seeded {rows:,} images of one user in {seconds:.1f} s; the Slink "
        f"delivery rounds served {served:,} Slink hits and the image's row counted "
        f"{views:,} views after the once-a-second flush."
    )
