"""Delivery: cold renders per server CPU-second vs raw pyvips, cached hits, and peak memory.

Cold renders are compared per CPU-second (not per wall second) so the client sharing the
machine does not distort the ratio: the limit is the bare libvips thumbnail+encode of the same
work in this process, the figure is everything the server spends per render.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pyvips

from bench.harness import (
    PHOTO,
    WORK,
    Client,
    Figure,
    Report,
    Server,
    backend,
    core_for,
    ms,
    own_cpu_seconds,
    pct,
    proc_status_kb,
    run_load,
)
from pixvault.app import create_app
from pixvault.domain.transform import parse_transform
from pixvault.imaging.render import render
from pixvault.services.core import Core

COLD_TARGET = 0.90
CACHED_TARGET = 3000.0  # requests per server CPU-second
MEMORY_TARGET_MB = 300
BIG_SIZE = (8660, 5773)
MAX_UPLOAD = "100000000"

# name -> (query string, raw pyvips equivalent)
VARIANTS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "800x600 inside, jpeg": (
        "w=800&h=600&format=jpeg",
        lambda d: pyvips.Image.thumbnail_buffer(d, 800, height=600).jpegsave_buffer(Q=80),
    ),
    "800x600 inside, webp": (
        "w=800&h=600&format=webp",
        lambda d: pyvips.Image.thumbnail_buffer(d, 800, height=600).webpsave_buffer(Q=80, effort=4),
    ),
    "300x300 crop, jpeg": (
        "w=300&h=300&crop=true&format=jpeg",
        lambda d: pyvips.Image.thumbnail_buffer(d, 300, height=300, crop="centre").jpegsave_buffer(
            Q=80
        ),
    ),
    "300x300 crop, webp": (
        "w=300&h=300&crop=true&format=webp",
        lambda d: pyvips.Image.thumbnail_buffer(d, 300, height=300, crop="centre").webpsave_buffer(
            Q=80, effort=4
        ),
    ),
}
CACHED_QUERY = "w=800&h=600&format=webp"


def raw_renders_per_cpu_second(data: bytes, work: Callable[[bytes], bytes], count: int) -> float:
    """The limit: bare libvips doing the same resize+encode, per CPU-second of this process."""
    pyvips.cache_set_max(0)  # every call must really decode and encode
    work(data)
    cpu0 = own_cpu_seconds()
    for _ in range(count):
        work(data)
    return count / (own_cpu_seconds() - cpu0)


def render_fn_per_cpu_second(data: bytes, query: str, count: int) -> float:
    """pixvault's render() alone: splits the gap into imaging choices vs the serving path."""
    pyvips.cache_set_max(0)
    spec = parse_transform([tuple(p.split("=", 1)) for p in query.split("&")])

    def work() -> None:
        render(data, spec, output_format=spec.format or "jpeg", focal=None)

    work()
    cpu0 = own_cpu_seconds()
    for _ in range(count):
        work()
    return count / (own_cpu_seconds() - cpu0)


def big_jpeg() -> bytes:
    """A 50 MP JPEG (8660x5773) made from the bench photo, cached in bench/.work."""
    path = WORK / "photo_8660x5773.jpg"
    if not path.exists():
        photo = pyvips.Image.new_from_file(str(PHOTO))
        big = photo.resize(BIG_SIZE[0] / photo.width, vscale=BIG_SIZE[1] / photo.height)
        WORK.mkdir(parents=True, exist_ok=True)
        big.jpegsave(str(path), Q=85)
    return path.read_bytes()


async def cached_limit(core: Core, image_id: str, count: int) -> float:
    """The same app called in-process as bare ASGI (no socket, no uvicorn, no client): the
    route's own CPU per hit, which is all the server could do without the HTTP layer."""
    app = create_app(core.settings, core=core)
    path = f"/default/default/img/{image_id}"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": CACHED_QUERY.encode(),
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"in-process hit answered {message['status']}")

    async def hit() -> None:
        await app(dict(scope), receive, send)

    await hit()
    cpu0 = own_cpu_seconds()
    for _ in range(count):
        await hit()
    return count / (own_cpu_seconds() - cpu0)


async def run(kind: str, report: Report, *, quick: bool) -> None:
    copies = 6 if quick else 32
    n_cached, n_original = (600, 200) if quick else (3000, 1000)
    photo = PHOTO.read_bytes()
    add = report.figures.append
    async with backend(kind, "delivery", PIXVAULT_MAX_UPLOAD_BYTES=MAX_UPLOAD) as be:
        async with core_for(be) as (_core, key, _project):
            pass  # migrate, create the default project and a key before the server starts
        with Server(be, "delivery") as server:
            async with Client(server.base, 8, key) as client:
                ids = [(await client.upload(photo))["id"] for _ in range(copies)]
                # Warm the server first (render threads, connections, code paths): the
                # figures are its steady state, as the raw limit's are.
                warm = (await client.upload(photo))["id"]
                for query, _work in VARIANTS.values():
                    await client.get(f"/default/default/img/{warm}?{query}")

                # Cold renders: each image id is a new derivative key, so every GET renders.
                total_http = total_raw = 0.0
                server_rates: dict[str, float] = {}
                for name, (query, work) in VARIANTS.items():

                    async def cold(i: int, query: str = query) -> None:
                        await client.get(f"/default/default/img/{ids[i]}?{query}")

                    cpu0 = server.cpu()
                    load = await run_load(copies, 2, cold)
                    server_cpu = server.cpu() - cpu0
                    http_rate = len(load.latencies) / server_cpu
                    server_rates[name] = http_rate
                    raw_rate = raw_renders_per_cpu_second(photo, work, copies)
                    total_http += server_cpu / max(1, len(load.latencies))
                    total_raw += 1 / raw_rate
                    add(
                        Figure(
                            "delivery",
                            kind,
                            f"cold render {name}, renders per CPU-second (n={copies})",
                            f"{http_rate:.1f}/cpu-s",
                            f"{raw_rate:.1f}/cpu-s",
                            http_rate / raw_rate,
                            "-",
                            None if load.errors == 0 else False,
                        )
                    )
                ratio = total_raw / total_http
                add(
                    Figure(
                        "delivery",
                        kind,
                        "cold renders, all four variants (CPU per render: server "
                        f"{total_http / 4 * 1000:.1f} ms, raw {total_raw / 4 * 1000:.1f} ms)",
                        f"{4 / total_http:.1f}/cpu-s",
                        f"{4 / total_raw:.1f}/cpu-s",
                        ratio,
                        f"ratio >= {COLD_TARGET:.2f}",
                        ratio >= COLD_TARGET,
                    )
                )

                total_own = 0.0
                for name, (query, _work) in VARIANTS.items():
                    own_rate = render_fn_per_cpu_second(photo, query, copies)
                    total_own += 1 / own_rate
                    add(
                        Figure(
                            "delivery",
                            kind,
                            f"cold render {name}: server vs pixvault's own render() in-process "
                            "(attribution: no HTTP, DB or storage)",
                            f"{server_rates[name]:.1f}/cpu-s",
                            f"{own_rate:.1f}/cpu-s",
                            server_rates[name] / own_rate,
                        )
                    )

                report.notes.append(
                    f"delivery/{kind}: CPU per cold render, mean of the four variants: raw libvips "
                    f"{total_raw / 4 * 1000:.1f} ms, pixvault render() in-process "
                    f"{total_own / 4 * 1000:.1f} ms, whole server request "
                    f"{total_http / 4 * 1000:.1f} ms."
                )

                # Cached derivative and original, 8 connections, bounded count and time.
                for label, url, count, target in (
                    ("cached derivative 800x600 webp", f"{ids[0]}?{CACHED_QUERY}", n_cached, True),
                    ("original by id", ids[0], n_original, False),
                ):

                    async def hit(_: int, url: str = url) -> None:
                        await client.get(f"/default/default/img/{url}")

                    body = len(await client.get(f"/default/default/img/{url}"))
                    cpu0 = server.cpu()
                    load = await run_load(count, 8, hit, time_cap=60)
                    per_cpu = len(load.latencies) / (server.cpu() - cpu0)
                    limit, ratio_, ok, target_text = "-", None, None, "-"
                    if target:
                        async with core_for(be) as (core, _k, _project):
                            lim = await cached_limit(core, ids[0], min(count, 2000))
                        limit = f"{lim:.0f}/cpu-s (route in-process, bare ASGI)"
                        ratio_ = per_cpu / lim
                        ok = per_cpu >= CACHED_TARGET and load.errors == 0
                        target_text = f">= {CACHED_TARGET:.0f} req/server-cpu-s"
                    add(
                        Figure(
                            "delivery",
                            kind,
                            f"{label} ({body / 1000:.0f} KB), 8 conns, n={len(load.latencies)}: "
                            f"{load.rate:.0f} req/s wall, p99 {ms(pct(load.latencies, 99))}",
                            f"{per_cpu:.0f} req/server-cpu-s",
                            limit,
                            ratio_,
                            target_text,
                            ok,
                        )
                    )

        # Peak memory: upload the 50 MP JPEG, then a fresh process renders it once.
        big = big_jpeg()
        with Server(be, "big-upload") as server:
            r = httpx.post(
                f"{server.base}/api/v1/images/upload",
                headers={"X-API-Key": key},
                files={"file": ("big.jpg", big)},
                timeout=120,
            )
            r.raise_for_status()
            big_id = r.json()["data"]["id"]
        with Server(be, "big-render") as server:
            before = proc_status_kb(server.pid, "VmHWM")
            r = httpx.get(f"{server.base}/default/default/img/{big_id}?w=1024", timeout=120)
            r.raise_for_status()
            peak = proc_status_kb(server.pid, "VmHWM")
        add(
            Figure(
                "delivery",
                kind,
                f"peak RSS (VmHWM) of a fresh server rendering {BIG_SIZE[0]}x{BIG_SIZE[1]} "
                f"({len(big) / 1e6:.1f} MB JPEG) to w=1024 (idle peak {before / 1024:.0f} MB)",
                f"{peak / 1024:.0f} MB",
                "-",
                None,
                f"<= {MEMORY_TARGET_MB} MB",
                peak / 1024 <= MEMORY_TARGET_MB,
            )
        )


if __name__ == "__main__":  # pragma: no cover - manual runs
    rep = Report()
    t = time.perf_counter()
    asyncio.run(run("sqlite", rep, quick=True))
    for f in rep.figures:
        print(f.measure, f.value, f.limit, f.ratio, f.verdict)
    print(time.perf_counter() - t)
