"""Upload: uploads/s of a ~1 MB JPEG over HTTP vs the same uploads through the core directly.

The in-process run is the limit: same probe, hash, blob write and row insert, minus HTTP and
multipart parsing. The ratio says how much the HTTP surface costs.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pyvips

from bench.harness import (
    PHOTO,
    WORK,
    Client,
    Figure,
    Load,
    Report,
    Servers,
    backend,
    config_label,
    core_for,
    own_cpu_seconds,
    run_load,
)
from pixvault.services.library import NewUpload

TARGET = 0.70
CONCURRENCY = 4
WARMUP = 5


def upload_jpeg() -> bytes:
    """The bench photo re-encoded to about 1 MB (cached in bench/.work)."""
    path = WORK / "upload_1mb.jpg"
    if not path.exists():
        image = pyvips.Image.new_from_file(str(PHOTO))
        best = b""
        for quality in range(60, 100):
            best = image.jpegsave_buffer(Q=quality)
            if len(best) >= 1_000_000:
                break
        WORK.mkdir(parents=True, exist_ok=True)
        path.write_bytes(best)
    return Path(path).read_bytes()


async def run(kind: str, report: Report, *, quick: bool, processes: int = 1) -> None:
    """In-process and HTTP rounds take turns, so the machine's drift hits figure and limit
    alike; each side's rate is its uploads over its summed wall time."""
    count, rounds = (40, 1) if quick else (60, 3)
    data = upload_jpeg()
    limit, http = Load([], 0.0, 0), Load([], 0.0, 0)
    limit_cpu = http_cpu = 0.0
    async with backend(kind, "upload") as be, core_for(be) as (core, key, project):

        async def direct(_: int) -> None:
            await core.library.upload_bytes(project, data, NewUpload(), core.native_uploads)

        with Servers(be, "upload", processes) as server:
            async with Client(server.bases, CONCURRENCY, key) as client:

                async def over_http(_: int) -> None:
                    await client.upload(data)

                for i in range(WARMUP):
                    await direct(i)
                    await over_http(i)
                for _ in range(rounds):
                    cpu0 = own_cpu_seconds()
                    limit = limit.plus(await run_load(count, CONCURRENCY, direct))
                    limit_cpu += own_cpu_seconds() - cpu0
                    cpu0 = server.cpu()
                    http = http.plus(await run_load(count, CONCURRENCY, over_http))
                    http_cpu += server.cpu() - cpu0
    limit_cpu /= max(1, len(limit.latencies))
    http_cpu /= max(1, len(http.latencies))

    ratio = http.rate / limit.rate
    size_kb = len(data) / 1000
    report.figures.append(
        Figure(
            "upload",
            config_label(kind, processes),
            f"uploads/s, {size_kb:.0f} KB JPEG, {CONCURRENCY} concurrent, {rounds} interleaved "
            f"rounds of {count} "
            f"(CPU/upload: server {http_cpu * 1000:.1f} ms, in-process {limit_cpu * 1000:.1f} ms; "
            f"CPUs busy: server {http_cpu * http.rate:.2f}, in-process "
            f"{limit_cpu * limit.rate:.2f})",
            f"{http.rate:.1f}/s" + (f" ({http.errors} errors)" if http.errors else ""),
            f"{limit.rate:.1f}/s",
            ratio,
            f"ratio >= {TARGET:.2f}",
            ratio >= TARGET and http.errors == 0,
        )
    )


if __name__ == "__main__":  # pragma: no cover - manual runs
    r = Report()
    t = time.perf_counter()
    asyncio.run(run("sqlite", r, quick=True))
    print(r.figures, time.perf_counter() - t)
