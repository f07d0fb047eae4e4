"""`python -m bench [--quick] [--only SUITE] [--backend sqlite|postgres|postgres+s3]`.

Runs each suite on SQLite and on PostgreSQL with a local blob directory; the upload and
delivery suites also on PostgreSQL with an S3 bucket (a moto server started for the run), with
one server process and with two behind a round-robin client (the vault suite's 100 MiB upload
runs on SQLite and on PostgreSQL with S3 only). Prints the figures and writes bench/RESULTS.md.
Every figure sits next to a limit measured in the same run, so the ratios (not the absolute
numbers) are what to compare across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import time
import traceback
from collections.abc import Awaitable, Callable

from rich.console import Console
from rich.table import Table

from bench import (
    suite_delivery,
    suite_library,
    suite_operations,
    suite_overload,
    suite_slink,
    suite_tail,
    suite_ui,
    suite_upload,
    suite_vault,
)
from bench.harness import (
    BACKENDS,
    BENCH_DIR,
    WORK,
    Report,
    config_label,
    machine,
    pg_available,
)

SCALE_OUT = [("sqlite", 1), ("postgres", 1), ("postgres+s3", 1), ("postgres+s3", 2)]
# suite -> (runner, the (backend, server processes) configurations it runs on)
SUITES: dict[str, tuple[Callable[..., Awaitable[None]], list[tuple[str, int]]]] = {
    "upload": (suite_upload.run, SCALE_OUT),
    "library": (suite_library.run, [("sqlite", 1), ("postgres", 1)]),
    "delivery": (suite_delivery.run, SCALE_OUT),
    "slink": (suite_slink.run, [("sqlite", 1), ("postgres", 1)]),
    "ui": (suite_ui.run, [("sqlite", 1), ("postgres", 1)]),
    # The 100 MiB upload on sqlite and postgres+s3; the list and delivery on sqlite and postgres.
    "vault": (suite_vault.run, [("sqlite", 1), ("postgres", 1), ("postgres+s3", 1)]),
    "operations": (suite_operations.run, [("sqlite", 1), ("postgres", 1)]),
    "overload": (suite_overload.run, [("sqlite", 1), ("postgres", 1)]),
    "tail": (suite_tail.run, [("sqlite", 1), ("postgres", 1)]),
}
RESULTS = BENCH_DIR / "RESULTS.md"

# Our reading of each miss (from profiling this code with cProfile and the attribution rows);
# printed next to a figure only when that figure misses. Keyed by (suite, text in the measure).
WHY_MISSED: list[tuple[str, str, str]] = [
    (
        "upload",
        "uploads/s",
        "Most of an upload's CPU is the probe (a shrink-on-load decode of the whole file, the "
        "same in the limit); the HTTP side adds multipart parsing of ~1 MB and the client "
        "takes CPU from the server on this two-CPU machine: compare the CPUs busy.",
    ),
    (
        "upload",
        "RSS growth",
        "The probe's sequential libvips decode of the whole image costs ~10 MB by itself "
        "(measured in-process on the same PNG); on S3 the multipart upload adds its 5 MB parts, "
        "two in flight. Much more means the body is held in memory somewhere instead of "
        "streamed to the staging file.",
    ),
    (
        "library",
        "@alias",
        "Over HTTP a lookup adds uvicorn, the key check (memoised for LOOKUP_CACHE_SECONDS) "
        "and JSON; the database side is an index search (plans below).",
    ),
    (
        "library",
        "keyset",  # before "first page": the keyset ratio's measure names the first page too
        "A keyset page is one index range scan from its position whatever its depth "
        "(ix_images_live on SQLite; with one project PostgreSQL walks pk_images backward: "
        "plans below); if the plan is still that scan, a miss is noise in two in-process "
        "p99s on a shared machine.",
    ),
    (
        "library",
        "first page",
        "The total comes from the project's counter, the page from ix_images_live (plans "
        "below); what remains is HTTP, the key check and JSON for 20 rows.",
    ),
    (
        "delivery",
        "cold renders",
        "pixvault's render() alone matches raw libvips (attribution rows); the rest is the "
        "event loop, ~2 ms per cold render on PostgreSQL (per-thread CPU, 300x300 JPEG crop): "
        "the image lookup ~0.4 ms, writing the derivative ~0.35 ms (a new directory per "
        "image, a temporary file and a rename), handing the render to its thread ~0.2 ms, "
        "then HTTP and the access log.",
    ),
    (
        "delivery",
        "cached derivative",
        "3,000 req/CPU-s leaves ~0.33 ms of server CPU per hit; the route itself costs "
        "0.05-0.08 ms in-process (the limit column), the rest is uvicorn, the kernel's "
        "loopback TCP, and the access log (~14 µs per hit).",
    ),
    (
        "slink",
        "sign-in",
        "The argon2id check is most of a sign-in by design (the limit column: the same hash "
        "verified in-process); the rest is HTTP and JSON, the user lookup by login and again by "
        "id, signing the JWT and inserting the refresh token (a write transaction).",
    ),
    (
        "slink",
        "deep cursor",
        "Both pages count every image of the user for meta.total (the attribution row), which "
        "is most of either page at 100,000 images; the cursor page adds its keyset page and a "
        "core.library.list(limit=1) for that total (one more page query and the same COUNT).",
    ),
    (
        "slink",
        "cached /image/",
        "The Slink route adds the extension's format parameter and the view tally (an "
        "in-memory Counter, written once a second); the bare-ASGI row shows the routes' own "
        "costs without uvicorn and the socket.",
    ),
    (
        "ui",
        "deep / first",
        "Both gallery pages are one index range scan from their position (plans below) and the "
        "same 30 cards; if the plan is still that scan, a miss is noise in two p99s on a shared "
        "machine.",
    ),
    (
        "ui",
        "GET /ui/",  # both pages: the first and the ?before= one
        "Beyond the limit's core calls (~3 ms in-process), a gallery page looks up the signed-in "
        "user and their project (three queries: the attribution row, ~2 ms), builds 30 cards (two "
        "thumbnail URLs each through parse_transform, ~0.8 ms) and renders ~25 KB of template "
        "(~1.1 ms; both timed in-process at 20,000 images); the rest is uvicorn, the "
        "middleware and the session cookie's HMAC check.",
    ),
    (
        "vault",
        "(to the same bucket)",  # before "vault upload throughput": the S3 reading
        "On S3 an upload is the receive into the staging file (as on a local directory: "
        "SHA-256, the write, multipart parsing; the attribution row) followed by the same "
        "multipart put to the bucket as the limit, one after the other, so the ratio is "
        "put / (receive + put): the faster the bucket, the lower it goes. moto runs on the "
        "same two CPUs as the server and the client.",
    ),
    (
        "vault",
        "vault upload throughput",
        "The server's CPU alone (~0.20 s per 100 MiB: the measure) bounds an upload to ~500 "
        "MB/s, 1.6x the in-process floor of reading, hashing and writing the same bytes (the "
        "attribution row). cProfile of the server splits it: SHA-256 ~45% (~90 ms, ~1.2 GB/s "
        "on one CPU), the write to the staging file ~15%, python-multipart's boundary search "
        "~12%, the socket receive and uvicorn's per-chunk hand-off most of the rest; the "
        "placement afterwards is a rename. The limit is a plain 1 MiB read/write copy of a "
        "page-cached file (1.5-3 GB/s, no hashing, no parsing): 0.7 of it is beyond SHA-256 "
        "alone on this CPU whenever the copy runs above ~1.7 GB/s. On a busy machine the wall "
        "time also waits for a CPU (compare the server CPU with the wall time).",
    ),
    (
        "vault",
        "RSS growth",
        "The body streams into the staging file in the chunks uvicorn receives (256 KiB); on "
        "S3 the multipart upload adds its 5 MB parts, two in flight. Much more means the body "
        "is held in memory somewhere instead of streamed.",
    ),
    (
        "vault",
        "last (cursor) page",
        "Both pages are one index range scan of ix_images_live from their position (plans "
        "below) and the same 50-asset JSON; if the plan is still that scan, a miss is noise in "
        "two p99s on a shared machine.",
    ),
    (
        "vault",
        "cached /{vault}",
        "Per hit the vault route decodes the vault id from its ULID text (python-ulid's "
        "pure-Python base32) before the memoised project lookup, runs a third memoised lookup "
        "(revocations) and is matched after the native CDN route: ~15-20 µs more than the "
        "native route in-process (cProfile; the bare-ASGI attribution row), the rest of the "
        "hit (uvicorn, the socket, the access log) being the same.",
    ),
    (
        "operations",
        "cold renders with operations",
        "render() itself does the same libvips calls as the limit (same bytes); the rest is "
        "the serving path of any cold render (lookup, writing the derivative, the hand-off to "
        "the render thread, HTTP), as in the delivery suite.",
    ),
    (
        "tail",
        "conns: p50",
        "Server-side stalls found and removed: a full garbage collection over the ~170,000 "
        "objects of the started app (~120 ms; now frozen), an expiring lookup memo's 16 "
        "identical queries (now one shared load), SQLite's busy polling (writers now queue "
        "in-process). What remains at a few tens of ms is the scheduler: the load generator, "
        "the server and everything else on the machine share two CPUs (the load average note).",
    ),
    (
        "overload",
        "",
        "Admitted work runs at full speed and the rest is refused at once; a miss here comes "
        "from CPU the machine's other processes take (the load average note): a render or "
        "upload that ran slower than planned, not a queue.",
    ),
    (
        "delivery",
        "peak RSS",
        "libvips shrink-on-load should keep this small; a miss means the source is being "
        "decoded at full size somewhere.",
    ),
]


def why(suite: str, measure: str) -> str:
    """Our reading of a miss, if we have one for this figure."""
    return next((t for s, key, t in WHY_MISSED if s == suite and key in measure), "")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    parser.add_argument("--only", choices=list(SUITES), help="run one suite")
    parser.add_argument("--backend", choices=BACKENDS, help="run one backend")
    return parser.parse_args()


async def _main(args: argparse.Namespace) -> tuple[Report, float]:
    report = Report()
    started = time.perf_counter()
    backends = [args.backend] if args.backend else list(BACKENDS)
    if any(b.startswith("postgres") for b in backends) and not await pg_available():
        report.notes.append("PostgreSQL was not reachable: its figures are missing.")
        backends = [b for b in backends if not b.startswith("postgres")]
    console = Console()
    for name, (run, configs) in SUITES.items():
        if args.only and name != args.only:
            continue
        for kind, processes in configs:
            if kind not in backends:
                continue
            label = config_label(kind, processes)
            console.print(f"[bold]{name}[/bold] on {label} ...")
            t0 = time.perf_counter()
            try:
                await run(kind, report, quick=args.quick, processes=processes)
            except Exception as exc:  # a failed suite is reported, not hidden
                traceback.print_exc()
                report.notes.append(f"{name}/{label} FAILED: {type(exc).__name__}: {exc}")
            console.print(f"  done in {time.perf_counter() - t0:.1f} s")
    return report, time.perf_counter() - started


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_report(report: Report) -> None:
    """The figures as rich tables, one per suite."""
    console = Console(width=max(Console().width, 180))
    for suite in SUITES:
        rows = [f for f in report.figures if f.suite == suite]
        if not rows:
            continue
        table = Table(title=suite, show_lines=False)
        for column in ("backend", "measure", "value", "limit", "ratio", "target", "result"):
            table.add_column(column, overflow="fold")
        for f in rows:
            colour = {"PASS": "green", "MISS": "red"}.get(f.verdict, "dim")
            table.add_row(
                f.backend, f.measure, f.value, f.limit, _ratio(f.ratio), f.target,
                f"[{colour}]{f.verdict}[/{colour}]",
            )  # fmt: skip
        console.print(table)
    for plan in report.plans:
        scan = "FULL TABLE SCAN" if plan.full_scan else "no full scan"
        console.print(f"[bold]{plan.backend} plan: {plan.query}[/bold] ({scan})\n{plan.text}")
    for note in report.notes:
        console.print(f"note: {note}")


def write_results(report: Report, seconds: float, args: argparse.Namespace) -> None:
    """bench/RESULTS.md: machine, figures with ratios and verdicts, query plans, misses."""
    info = machine()
    mode = "quick" if args.quick else "full"
    if args.only or args.backend:
        mode += f" (only {args.only or 'all suites'} on {args.backend or 'all backends'})"
    out = [
        "# pixvault benchmark results",
        "",
        f"Generated by `python -m bench` ({mode} run, {seconds / 60:.1f} min) on {info['date']}.",
        "",
        f"- Machine: {info['nproc']} CPUs, {info['cpu']}",
        f"- Python {info['python']}, libvips {info['libvips']} (pyvips {info['pyvips']})",
        f"- Code: {info['code']}",
        "- Server: real `pixvault serve --workers 1` processes on 127.0.0.1 (one, or two behind",
        "  a round-robin client where the backend says so); S3 is a moto server on the same",
        "  machine, whose CPU is not counted as the server's; load generators",
        "  (aiohttp, ~0.15 ms of CPU per request) run on the same machine and compete with it",
        "  for the CPUs.",
        "",
        "Each figure is set against a limit measured in the same run; **ratio** = figure / limit",
        "(for latencies a ratio above 1 means slower than in-process). Targets apply to the",
        "figure or ratio named in the target column.",
        "",
        "The cold-render limit is libvips's thumbnail and encoder called directly with",
        "pixvault's own encoder settings (JPEG with optimised Huffman tables, WebP at effort 4,",
        "no metadata), so both sides produce the same bytes. On S3 each cold render also makes",
        "three object-store round trips that the limit does not; those ratios are reported",
        "without a target.",
        "",
        "The vault upload's limit is `core.blobs.put_file` of the same 100 MiB file in-process",
        "(a copy into the blob directory, or a multipart upload to the same bucket); the",
        "operations' limit is libvips doing the same shrink-on-load, operation (blur, sharpen,",
        "rotate) and JPEG encode, checked to produce the same bytes.",
        "",
    ]
    for suite in SUITES:
        rows = [f for f in report.figures if f.suite == suite]
        if not rows:
            continue
        out += [
            f"## {suite}",
            "",
            "| backend | measure | value | limit | ratio | target | result |",
            "|---|---|---|---|---|---|---|",
        ]
        out += [
            f"| {f.backend} | {f.measure} | {f.value} | {f.limit} | {_ratio(f.ratio)} "
            f"| {f.target} | **{f.verdict}** |"
            for f in rows
        ]
        out.append("")
    if report.plans:
        out += ["## Query plans (library, slink, ui and vault, after seeding)", ""]
        for plan in report.plans:
            scan = "**full table scan**" if plan.full_scan else "no full table scan"
            out += [
                f"### {plan.backend}: {plan.query} ({scan})",
                "",
                "```sql",
                plan.sql,
                "```",
                "",
                "```",
                plan.text,
                "```",
                "",
            ]
    misses = [f for f in report.figures if f.ok is False]
    out += ["## Misses", ""]
    if not misses:
        out.append("None: every target was met.")
    for f in misses:
        reading = why(f.suite, f.measure)
        out.append(f"- **{f.suite}/{f.backend}**: {f.measure}: {f.value} vs {f.target}. {reading}")
    out.append("")
    if report.notes:
        out += ["## Notes", ""] + [f"- {n}" for n in report.notes] + [""]
    RESULTS.write_text("\n".join(out))


def main() -> None:
    args = _args()
    WORK.mkdir(parents=True, exist_ok=True)
    report, seconds = asyncio.run(_main(args))
    print_report(report)
    write_results(report, seconds, args)
    Console().print(f"wrote {RESULTS.relative_to(BENCH_DIR.parent)} in {seconds:.0f} s total")
    for leftover in WORK.glob("*-*-*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


if __name__ == "__main__":
    main()
