"""Tail latency of cached hits: a cached derivative and an original at 16 connections, measured
with wrk (a C load generator, Debian's `wrk`) and with the Python one (aiohttp), on one
`pixvault serve` process. The target is the spread, not the speed: p99 <= 4 x p50, so no
request waits behind a stall (a GC pass, a lock, a blocking call on the event loop).
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess

from bench.harness import (
    PHOTO,
    Client,
    Figure,
    Report,
    Servers,
    backend,
    config_label,
    core_for,
    ms,
    pct,
    run_load,
)

CONNECTIONS = 16
SPREAD_TARGET = 4.0
CACHED_QUERY = "w=800&h=600&format=webp"
_UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)


def wrk(url: str, seconds: int) -> tuple[float, float, float]:
    """p50 and p99 in seconds and requests/s, from `wrk --latency` (one thread: the server
    needs the other CPU)."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    found = {int(p): float(v) * _UNIT[u] for p, v, u in _PERCENTILE.findall(out)}
    rate = _RATE.search(out)
    if 50 not in found or 99 not in found or rate is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return found[50], found[99], float(rate.group(1))


async def run(kind: str, report: Report, *, quick: bool, processes: int = 1) -> None:
    seconds, count = (5, 3000) if quick else (10, 8000)
    label = config_label(kind, processes)
    add = report.figures.append
    async with backend(kind, "tail") as be:
        async with core_for(be) as (_core, key, _project):
            pass
        with Servers(be, "tail", processes) as servers:
            async with Client(servers.bases, CONNECTIONS, key) as client:
                image = (await client.upload(PHOTO.read_bytes()))["id"]
                original = f"/default/default/img/{image}"
                paths = {
                    "cached derivative 800x600 webp": f"{original}?{CACHED_QUERY}",
                    "original by id": original,
                }
                for path in paths.values():  # render and warm both before measuring
                    for _ in range(50):
                        await client.get(path)
                for what, path in paths.items():
                    if shutil.which("wrk"):
                        p50, p99, rate = wrk(servers.bases[0] + path, seconds)
                        add(_figure(label, f"{what}, wrk, {rate:.0f} req/s", p50, p99))
                    else:
                        report.notes.append("tail: wrk is not installed (apt-get install wrk)")

                    async def hit(_: int, path: str = path) -> None:
                        await client.get(path)

                    # The client's own full collections would stall its measurement as the
                    # server's did (this process holds every suite's state): frozen meanwhile.
                    gc.collect()
                    gc.freeze()
                    try:
                        load = await run_load(count, CONNECTIONS, hit, time_cap=60)
                    finally:
                        gc.unfreeze()
                    p50, p99 = pct(load.latencies, 50), pct(load.latencies, 99)
                    name = f"{what}, aiohttp, {load.rate:.0f} req/s"
                    add(_figure(label, name, p50, p99, errors=load.errors))
    report.notes.append(
        f"tail/{label}: 1-minute load average {os.getloadavg()[0]:.1f} at the end "
        f"({os.cpu_count()} CPUs): above the CPU count, other processes' timeslices show in p99"
    )


def _figure(label: str, what: str, p50: float, p99: float, errors: int = 0) -> Figure:
    spread = p99 / p50
    return Figure(
        "tail",
        label,
        f"{what}, {CONNECTIONS} conns: p50 {ms(p50)}, p99 {ms(p99)} (ratio: p99/p50)",
        ms(p99),
        ms(p50),
        spread,
        f"p99/p50 <= {SPREAD_TARGET:.0f}",
        spread <= SPREAD_TARGET and errors == 0,
    )
