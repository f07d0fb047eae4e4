"""Upload: uploads/s of a ~1 MB JPEG over HTTP vs the same uploads through the core directly,
and the server's memory and throughput while a ~100 MB PNG streams in.

The in-process run is the limit: same probe, hash, blob write and row insert, minus HTTP and
multipart parsing. The ratio says how much the HTTP surface costs.

Uploads stream through a staging file, so a 100 MB body should cost the server about a network
chunk of RAM, not the file: a fresh server's VmRSS is sampled every 5 ms while one arrives.
Its throughput is set against copying the same file into the blob store in-process.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pyvips

from bench.harness import (
    PHOTO,
    WORK,
    Backend,
    Client,
    Figure,
    Load,
    Report,
    RssSampler,
    Server,
    Servers,
    backend,
    config_label,
    core_for,
    own_cpu_seconds,
    proc_status_kb,
    run_load,
)
from pixvault.services.core import Core
from pixvault.services.library import NewUpload

TARGET = 0.70
CONCURRENCY = 4
WARMUP = 5

BIG_SIDE = 5800  # 5800x5800 RGB, stored uncompressed: ~101 MB, 34 MP (the limit is 100 MP)
BIG_MAX_UPLOAD = 128 * 1024 * 1024
STREAM_GROWTH_TARGET_MB = 32
STREAM_THROUGHPUT_TARGET = 0.5  # reported, not judged yet
SAMPLE_SECONDS = 0.005


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


def upload_png() -> Path:
    """A valid ~100 MB PNG of noise (deflate level 0, so its size is its pixels), cached in
    bench/.work; written under a temporary name first so a killed run leaves no torn file."""
    path = WORK / f"upload_{BIG_SIDE}x{BIG_SIDE}.png"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        # A noise tile repeated: level 0 stores every byte whatever the content, and full-size
        # noise would take ~10 s to generate.
        tile = BIG_SIDE // 10
        bands = [pyvips.Image.gaussnoise(tile, tile, mean=128, sigma=48) for _ in "rgb"]
        image = bands[0].bandjoin(bands[1:]).cast("uchar").replicate(10, 10)
        partial = path.with_suffix(".partial.png")
        image.pngsave(str(partial), compression=0, filter="none")
        os.replace(partial, path)
    return path


async def streaming_upload(
    be: Backend, core: Core, key: str, project: Any, label: str, *, count: int
) -> list[Figure]:
    """`count` uploads of the big PNG to a fresh server (warmed with two small uploads), each
    with its VmRSS sampled; the limit, `core.blobs.put_file` of the same file, takes turns."""
    big = upload_png()
    size = big.stat().st_size
    small_png = pyvips.Image.black(64, 64, bands=3).pngsave_buffer()
    growths: list[int] = []  # kB, per upload, as are peaks and baselines
    peaks: list[int] = []
    baselines: list[int] = []
    ids: list[str] = []
    samples = 0
    http_seconds = limit_seconds = server_cpu = 0.0
    env = {"PIXVAULT_MAX_UPLOAD_BYTES": str(BIG_MAX_UPLOAD)}
    with Server(be, "stream", env=env) as server:
        async with Client(server.base, 1, key) as client:
            # Warm the paths a first upload would: a spilled (>1 MB) JPEG and a PNG.
            await client.upload(upload_jpeg())
            await client.upload(small_png, "small.png")
            hwm_before = proc_status_kb(server.pid, "VmHWM")
            for i in range(count):
                cpu0 = server.cpu()
                t0 = time.perf_counter()
                with RssSampler(server.pid, SAMPLE_SECONDS) as rss:
                    stored = await client.upload_file(big, "image/png")
                http_seconds += time.perf_counter() - t0
                server_cpu += server.cpu() - cpu0
                growths.append(rss.growth_kb)
                peaks.append(rss.peak_kb)
                baselines.append(rss.baseline_kb)
                samples += rss.samples
                if (stored["fileSize"], stored["mimeType"]) != (size, "image/png"):
                    raise RuntimeError(f"the big upload was stored as {stored}")
                ids.append(stored["id"])

                limit_key = f"bench/stream-limit-{i}.png"
                t0 = time.perf_counter()
                await core.blobs.put_file(limit_key, str(big))
                limit_seconds += time.perf_counter() - t0
                await core.blobs.delete(limit_key)
            hwm = (hwm_before, proc_status_kb(server.pid, "VmHWM"))
    for image_id in ids:  # keep the blob store (moto's memory on S3) lean for what follows
        await core.library.delete(project, uuid.UUID(image_id))

    worst = max(range(count), key=lambda i: growths[i])
    growth_mb = growths[worst] / 1024
    each = ", ".join(f"{g / 1024:.1f}" for g in growths)
    http_rate = count * size / http_seconds / 1e6
    limit_rate = count * size / limit_seconds / 1e6
    size_mb = size / 1e6
    return [
        Figure(
            "upload",
            label,
            f"server RSS growth while a {size_mb:.0f} MB PNG streams in (POST "
            f"/api/v1/images/upload, fresh server, VmRSS every {SAMPLE_SECONDS * 1000:.0f} ms, "
            f"{samples} samples, worst of {count} ({each} MB): baseline "
            f"{baselines[worst] / 1024:.0f} MB, peak {peaks[worst] / 1024:.0f} MB; VmHWM "
            f"{hwm[0] / 1024:.0f} -> {hwm[1] / 1024:.0f} MB)",
            f"{growth_mb:.1f} MB",
            f"{size_mb:.0f} MB (the whole file)",
            growth_mb * 1024 * 1024 / size,
            f"growth < {STREAM_GROWTH_TARGET_MB} MB",
            growth_mb < STREAM_GROWTH_TARGET_MB,
        ),
        Figure(
            "upload",
            label,
            f"upload throughput, {size_mb:.0f} MB PNG over HTTP, request to response, n={count} "
            f"(server CPU {server_cpu / count:.2f} s/upload) vs core.blobs.put_file of the same "
            "file in-process",
            f"{http_rate:.0f} MB/s",
            f"{limit_rate:.0f} MB/s",
            http_rate / limit_rate,
            f"ratio >= {STREAM_THROUGHPUT_TARGET:.2f} (info only)",
            None,
        ),
    ]


async def run(kind: str, report: Report, *, quick: bool, processes: int = 1) -> None:
    """In-process and HTTP rounds take turns, so the machine's drift hits figure and limit
    alike; each side's rate is its uploads over its summed wall time."""
    count, rounds = (40, 1) if quick else (60, 3)
    data = upload_jpeg()
    limit, http = Load([], 0.0, 0), Load([], 0.0, 0)
    limit_cpu = http_cpu = 0.0
    streamed: list[Figure] = []
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
        if processes == 1:  # memory is per process: one server is the configuration
            streamed = await streaming_upload(
                be, core, key, project, config_label(kind, processes), count=1 if quick else 2
            )
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
    report.figures.extend(streamed)


if __name__ == "__main__":  # pragma: no cover - manual runs
    r = Report()
    t = time.perf_counter()
    asyncio.run(run("sqlite", r, quick=True))
    print(r.figures, time.perf_counter() - t)
