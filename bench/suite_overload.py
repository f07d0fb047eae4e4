"""Overload: a fixed request rate the server sustains, then three times that rate for 15 s,
then the first rate again, on one `pixvault serve` process (open loop: requests are sent on
schedule whatever the answers, as real visitors do, and latency counts from the scheduled
moment).

The load is heavy work: three cold renders (each a new derivative) to one upload. The
sustainable rate is half the closed-loop capacity measured first on the same mix. While it
runs, a cached derivative and /health are asked for ten times a second each, to show that
cheap routes stay responsive. Targets (issue 14): during the overload every request is
answered (a success or 429) within 2 s and goodput stays ≥ 80% of the sustainable rate;
within 5 s after it, p99 is back within 2x of before.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass

import aiohttp
import pyvips

from bench.harness import PHOTO, Client, Figure, Report, Server, backend, core_for, ms, pct

BASE_SECONDS, OVER_SECONDS, AFTER_SECONDS = 10.0, 15.0, 10.0
OVERLOAD = 3.0
ANSWER_WITHIN = 2.0
GOODPUT_TARGET = 0.80
RECOVERY_AFTER = 5.0
RECOVERY_TARGET = 2.0
PROBE_RATE = 10.0
SHED = {429}
SUCCESS = {200, 201}
UNLIMITED_RENDERS = {"PIXVAULT_COLD_RENDERS_PER_MINUTE": "0"}


@dataclass
class Sent:
    i: int
    at: float  # scheduled moment, seconds from the start
    latency: float | None  # None: no answer (timeout or connection error)
    status: int | None


def _photo(width: int) -> bytes:
    return pyvips.Image.thumbnail_buffer(PHOTO.read_bytes(), width).jpegsave_buffer(Q=85)


class Mix:
    """Request i of the heavy mix: a cold render of a transform never asked for before, or
    (every fourth) an upload."""

    def __init__(self, session: aiohttp.ClientSession, base: str, image: str, upload: bytes):
        self.session = session
        self.base = base
        self.image = image
        self.upload = upload
        self.renders = 0

    async def __call__(self, i: int) -> int:
        if i % 4 == 3:
            form = aiohttp.FormData()
            form.add_field("file", self.upload, filename="o.jpg", content_type="image/jpeg")
            async with self.session.post(f"{self.base}/api/v1/images/upload", data=form) as r:
                await r.read()
                return r.status
        self.renders += 1
        width, quality = 100 + self.renders % 400, 50 + self.renders // 400 % 45
        url = f"{self.base}/default/default/img/{self.image}?w={width}&q={quality}&format=jpeg"
        async with self.session.get(url) as r:
            await r.read()
            return r.status


async def open_loop(
    one, rate_at, seconds: float, *, timeout: float = 10.0, index: list[int] | None = None
) -> list[Sent]:
    """Send `one(i)` on schedule at `rate_at(t)` requests/s for `seconds`; wait for all."""
    index = index if index is not None else [0]
    results: list[Sent] = []
    tasks = []
    start = time.perf_counter()

    async def send(i: int, at: float) -> None:
        try:
            status = await asyncio.wait_for(one(i), timeout)
            results.append(Sent(i, at, time.perf_counter() - start - at, status))
        except (TimeoutError, aiohttp.ClientError, OSError):
            results.append(Sent(i, at, None, None))

    t = 0.0
    while t < seconds:
        delay = start + t - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(send(index[0], t)))
        index[0] += 1
        t += 1 / rate_at(t)
    await asyncio.gather(*tasks)
    return results


async def capacity(mix: Mix, seconds: float, index: list[int]) -> float:
    """Closed loop, 4 connections: heavy requests completed per second."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            i = index[0]
            index[0] += 1
            if await mix(i) in SUCCESS:
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(4)))
    return done / (time.perf_counter() - started)


async def run(kind: str, report: Report, *, quick: bool, processes: int = 1) -> None:
    scale = 0.5 if quick else 1.0
    base_s, over_s, after_s = BASE_SECONDS * scale, OVER_SECONDS, AFTER_SECONDS
    add = report.figures.append
    async with backend(kind, "overload", **UNLIMITED_RENDERS) as be:
        async with core_for(be) as (_core, key, _project):
            pass
        with Server(be, "overload") as server:
            async with Client(server.base, 8, key) as setup:
                image = (await setup.upload(_photo(1200)))["id"]
                cached = f"{server.base}/default/default/img/{image}?w=640&format=webp"
                await setup.get(cached.removeprefix(server.base))
            connector = aiohttp.TCPConnector(limit=512)
            async with aiohttp.ClientSession(
                connector=connector, headers={"X-API-Key": key}
            ) as session:
                mix = Mix(session, server.base, image, _photo(640))
                index = [0]
                await capacity(mix, 2, index)  # warm up
                sustainable = 0.5 * await capacity(mix, 5, index)
                total = base_s + over_s + after_s

                def rate_at(t: float) -> float:
                    return sustainable * (OVERLOAD if base_s <= t < base_s + over_s else 1.0)

                async def probe(url: str) -> list[Sent]:
                    async def get(_: int) -> int:
                        async with session.get(url) as r:
                            await r.read()
                            return r.status

                    return await open_loop(get, lambda _: PROBE_RATE, total)

                heavy, hits, health = await asyncio.gather(
                    open_loop(mix, rate_at, total, index=index),
                    probe(cached),
                    probe(f"{server.base}/health"),
                )
    label = kind
    report.notes.append(
        f"overload/{label}: 1-minute load average {os.getloadavg()[0]:.1f} at the end "
        f"({os.cpu_count()} CPUs)"
    )
    base = [s for s in heavy if s.at < base_s and s.status in SUCCESS]
    over = [s for s in heavy if base_s <= s.at < base_s + over_s]
    end = base_s + over_s
    after = [
        s for s in heavy if end + RECOVERY_AFTER <= s.at < end + after_s and s.status in SUCCESS
    ]
    statuses = Counter(s.status for s in over)
    answered = [
        s
        for s in over
        if s.latency is not None and s.latency <= ANSWER_WITHIN and s.status in SUCCESS | SHED
    ]
    goodput = sum(1 for s in over if s.status in SUCCESS) / over_s
    base_p99 = pct([s.latency for s in base], 99)
    after_p99 = pct([s.latency for s in after], 99) if after else float("inf")
    shown = ", ".join(f"{k or 'no answer'}: {v}" for k, v in sorted(statuses.items(), key=str))
    in_time = {s.i for s in answered}
    late = [s for s in over if s.i not in in_time]
    uploads_late = sum(1 for s in late if s.i % 4 == 3)
    slowest = max((s.latency for s in over if s.latency is not None), default=0.0)
    shown += (
        f"; slowest {slowest:.2f} s; late: {len(late) - uploads_late} renders, "
        f"{uploads_late} uploads"
    )
    add(
        Figure(
            "overload",
            label,
            f"3x overload for {over_s:.0f} s after {base_s:.0f} s at {sustainable:.0f} req/s "
            f"(half the closed-loop capacity; 3 cold renders : 1 upload): answered (success "
            f"or 429) within {ANSWER_WITHIN:.0f} s ({shown})",
            f"{len(answered)} of {len(over)}",
            "-",
            len(answered) / len(over),
            "all",
            len(answered) == len(over),
        )
    )
    add(
        Figure(
            "overload",
            label,
            f"goodput during the overload vs the sustainable rate ({sustainable:.0f} req/s)",
            f"{goodput:.1f} req/s",
            f"{sustainable:.1f} req/s",
            goodput / sustainable,
            f">= {GOODPUT_TARGET:.0%}",
            goodput >= GOODPUT_TARGET * sustainable,
        )
    )
    add(
        Figure(
            "overload",
            label,
            f"p99 {RECOVERY_AFTER:.0f}-{after_s:.0f} s after the overload vs before it",
            ms(after_p99),
            ms(base_p99),
            after_p99 / base_p99,
            f"<= {RECOVERY_TARGET:.0f}x",
            after_p99 <= RECOVERY_TARGET * base_p99,
        )
    )
    for what, sent in (("cached derivative", hits), ("/health", health)):
        during = [s for s in sent if base_s <= s.at < base_s + over_s]
        ok = [s.latency for s in during if s.status == 200 and s.latency is not None]
        add(
            Figure(
                "overload",
                label,
                f"{what} at {PROBE_RATE:.0f}/s during the overload: p50 "
                f"{ms(pct(ok, 50)) if ok else '-'}, answered 200",
                f"p99 {ms(pct(ok, 99)) if ok else '-'}",
                f"{len(ok)} of {len(during)}",
            )
        )
