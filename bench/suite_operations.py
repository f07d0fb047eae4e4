"""Operations: cold renders with imgbt's operations (blur, sharpen, rotate) per server
CPU-second, against libvips called directly doing the same work with pixvault's encoder settings.

The limit is thumbnail (shrink-on-load to the size pixvault plans), the operation with the
sigma pixvault maps the parameter to (`blur_sigma`: gaussblur sigma 0.5 + blur/5, 2.5 for
blur=10; `sharpen_sigma`: sharpen sigma 0.5 + sharpen/20, 1.5 for sharpen=20, libvips' other
defaults; `rot` d90 after shrinking into the box's quarter turn), and `jpegsave` at Q=80 with
JPEG_OPTIONS, in this process; a check that both sides produce the same bytes runs first.
Requests go to the native CDN URL (the vault suite compares the vault path with it), every GET
naming a new derivative, so each one renders.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pyvips

from bench.harness import (
    PHOTO,
    Client,
    Figure,
    Report,
    Server,
    backend,
    core_for,
    run_load,
)
from bench.suite_delivery import UNLIMITED_RENDERS, raw_cpu_seconds, render_fn_cpu_seconds
from pixvault.domain.transform import parse_transform
from pixvault.imaging.render import (
    DEFAULT_QUALITY,
    JPEG_OPTIONS,
    Encoders,
    blur_sigma,
    render,
    sharpen_sigma,
)

COLD_TARGET = 0.80
WARM_RENDERS = 8  # per variant, before cold renders are measured
BOX = (800, 600)
BLUR, SHARPEN, ROTATE = 10, 20, 90


def _jpeg(image: pyvips.Image) -> bytes:
    return image.jpegsave_buffer(Q=DEFAULT_QUALITY, **JPEG_OPTIONS)


def _inside(data: bytes, *, turned: bool = False) -> pyvips.Image:
    """Shrink-on-load to the size fitting BOX (on the axes after a quarter turn if `turned`),
    rounded to whole pixels and forced, as pixvault's plan does (an unforced thumbnail would
    keep one scale for both axes and differ in the last pixel row)."""
    header = pyvips.Image.new_from_buffer(data, "", access="sequential")
    width, height = (header.height, header.width) if turned else (header.width, header.height)
    scale = min(1.0, BOX[0] / width, BOX[1] / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    load = (size[1], size[0]) if turned else size
    return pyvips.Image.thumbnail_buffer(data, load[0], height=load[1], size="force")


# name -> (query string, raw pyvips equivalent).
VARIANTS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    f"blur={BLUR}": (
        f"w={BOX[0]}&h={BOX[1]}&format=jpeg&blur={BLUR}",
        lambda d: _jpeg(_inside(d).gaussblur(blur_sigma(BLUR))),
    ),
    f"sharpen={SHARPEN}": (
        f"w={BOX[0]}&h={BOX[1]}&format=jpeg&sharpen={SHARPEN}",
        lambda d: _jpeg(_inside(d).sharpen(sigma=sharpen_sigma(SHARPEN))),
    ),
    f"rt={ROTATE}": (
        f"w={BOX[0]}&h={BOX[1]}&format=jpeg&rt={ROTATE}",
        lambda d: _jpeg(_inside(d, turned=True).rot("d90")),
    ),
}


def same_bytes(photo: bytes) -> dict[str, bool]:
    """Whether pixvault's render() and the raw limit produce identical files, per variant."""
    out = {}
    for name, (query, work) in VARIANTS.items():
        spec = parse_transform([tuple(p.split("=", 1)) for p in query.split("&")])  # type: ignore[misc]
        ours = render(photo, spec, output_format="jpeg", focal=None).data
        out[name] = ours == work(photo)
    return out


def encoder_figures(kind: str, photo: bytes, renders: int) -> list[Figure]:
    """AVIF at the default effort (0, libvips' quality 50) against WebP at effort 4 (q80)
    through pixvault's own render(), in this process: CPU per 800x600 render and bytes; and
    what AVIF's effort 4 would cost instead."""

    def per_render(fmt: str, encoders: Encoders, n: int) -> tuple[float, int]:
        spec = parse_transform([("w", str(BOX[0])), ("h", str(BOX[1])), ("format", fmt)])
        render(photo, spec, output_format=fmt, focal=None, encoders=encoders)  # warm
        started = time.process_time()
        for _ in range(n):
            out = render(photo, spec, output_format=fmt, focal=None, encoders=encoders)
        return (time.process_time() - started) / n, len(out.data)

    avif, avif_bytes = per_render("avif", Encoders(), renders)
    webp, webp_bytes = per_render("webp", Encoders(), renders)
    slow, slow_bytes = per_render("avif", Encoders(avif_effort=4), 1)
    return [
        Figure(
            "operations",
            kind,
            f"encode 800x600: AVIF effort 0 ({avif_bytes // 1024} KB) vs WebP effort 4 "
            f"({webp_bytes // 1024} KB), CPU per render (n={renders})",
            f"{avif * 1000:.0f} ms",
            f"{webp * 1000:.0f} ms (webp)",
            avif / webp,
            "ratio <= 1.5",
            avif / webp <= 1.5,
        ),
        Figure(
            "operations",
            kind,
            f"encode 800x600: AVIF effort 4 ({slow_bytes // 1024} KB) vs effort 0 "
            "(why the default effort is 0)",
            f"{slow * 1000:.0f} ms",
            f"{avif * 1000:.0f} ms (effort 0)",
            slow / avif,
        ),
    ]


async def run(kind: str, report: Report, *, quick: bool, processes: int = 1) -> None:
    """Server and raw limit take turns per variant and round, so the machine's drift hits
    figure and limit alike; renders run on 2 connections (the machine's two CPUs)."""
    assert processes == 1, "the operations suite runs one server process"
    copies, rounds = (4, 1) if quick else (12, 3)
    photo = PHOTO.read_bytes()
    add = report.figures.append
    identical = same_bytes(photo)
    if kind == "sqlite":  # encoders do not depend on the backend
        report.figures.extend(encoder_figures(kind, photo, 3 if quick else 8))
    async with backend(kind, "operations", **UNLIMITED_RENDERS) as be:
        async with core_for(be) as (_core, key, _project):
            pass  # migrate, create the default project and a key before the server starts
        with Server(be, "operations") as server:
            async with Client(server.base, 2, key) as client:
                ids = [(await client.upload(photo))["id"] for _ in range(copies * rounds)]
                warm = (await client.upload(photo))["id"]
                for quality in range(70, 70 + WARM_RENDERS):
                    for query, _work in VARIANTS.values():
                        await client.get(f"/default/default/img/{warm}?{query}&q={quality}")
                totals = {name: [0.0, 0, 0.0, 0] for name in VARIANTS}  # server s, n, raw s, n
                errors = 0
                for r in range(rounds):
                    batch = ids[r * copies : (r + 1) * copies]
                    for name, (query, work) in VARIANTS.items():

                        async def cold(
                            i: int, query: str = query, batch: list[str] = batch
                        ) -> None:
                            await client.get(f"/default/default/img/{batch[i]}?{query}")

                        entry = totals[name]
                        cpu0 = server.cpu()
                        load = await run_load(len(batch), 2, cold)
                        entry[0] += server.cpu() - cpu0
                        entry[1] += len(load.latencies)
                        errors += load.errors
                        entry[2] += raw_cpu_seconds(photo, work, len(batch))
                        entry[3] += len(batch)
    n = copies * rounds
    server_per = raw_per = 0.0
    for name, (query, _work) in VARIANTS.items():
        server_s, server_n, raw_s, raw_n = totals[name]
        server_rate, raw_rate = server_n / server_s, raw_n / raw_s
        own = n / render_fn_cpu_seconds(photo, query, n)
        server_per += 1 / server_rate
        raw_per += 1 / raw_rate
        same = "same bytes" if identical[name] else "NOT the same bytes"
        add(
            Figure(
                "operations",
                kind,
                f"cold render {BOX[0]}x{BOX[1]} inside + {name}, jpeg, renders per CPU-second "
                f"(n={server_n}; raw libvips: {same}; pixvault render() in-process "
                f"{own:.1f}/cpu-s)",
                f"{server_rate:.1f}/cpu-s",
                f"{raw_rate:.1f}/cpu-s",
                server_rate / raw_rate,
            )
        )
    server_per /= len(VARIANTS)
    raw_per /= len(VARIANTS)
    ratio = raw_per / server_per
    add(
        Figure(
            "operations",
            kind,
            f"cold renders with operations, all {len(VARIANTS)} variants, {rounds} interleaved "
            f"rounds (CPU per render: server {server_per * 1000:.1f} ms, raw "
            f"{raw_per * 1000:.1f} ms; errors {errors})",
            f"{1 / server_per:.1f}/cpu-s",
            f"{1 / raw_per:.1f}/cpu-s",
            ratio,
            f"ratio >= {COLD_TARGET:.2f}",
            ratio >= COLD_TARGET and errors == 0 and all(identical.values()),
        )
    )
