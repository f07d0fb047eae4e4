"""Vault (imgbt) surface: a 100 MiB file through `POST /v1/assets`, the asset list at 100,000
assets (the first page and a cursor page at the very end), and vault-path delivery of a cached
derivative beside the native CDN URL of the same image, on one `pixvault serve` process.

Limits, measured in the same run: the upload against `core.blobs.put_file` of the same file
into the same blob store in-process (a copy on a local directory, a multipart upload to the
same bucket on S3); a list page against the `core.library.page` call the route makes; vault
delivery against the native CDN URL of the same image, in interleaved rounds on the same server.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bench.harness import (
    PHOTO,
    WORK,
    Backend,
    Client,
    Figure,
    Plan,
    Report,
    RssSampler,
    Server,
    backend,
    core_for,
    ms,
    own_cpu_seconds,
    pct,
    proc_status_kb,
)
from bench.suite_library import explain_statements, seed
from bench.suite_slink import bare_rates, delivery_rounds, interleaved
from pixvault.db.queries.images import keyset_page
from pixvault.db.tables import images
from pixvault.domain.ids import from_prefixed_ulid
from pixvault.domain.models import ASSET_PREFIX
from pixvault.domain.paging import ImageFilter, Keyset
from pixvault.http.vaults.assets import cursor_token
from pixvault.services.core import Core

# -- upload
BIG_BYTES = 100 * 1024 * 1024  # exactly the default PIXVAULT_VAULT_MAX_UPLOAD_BYTES
UPLOAD_TARGET = 0.70  # HTTP MB/s / put_file MB/s
UPLOAD_GROWTH_TARGET_MB = 32
SAMPLE_SECONDS = 0.005
CHUNK = 256 * 1024  # what uvicorn hands the app per receive() on loopback
BIG_FOLDERS = ("bench", "uploads", "big")
# -- list
ROWS = 100_000
PAGE = 50  # the route's default limit
LIST_RATIO_TARGET = 1.5  # last page p99 / first page p99
FOLDERS = ("bench", "library", "all")
# -- delivery
DELIVERY_TARGET = 0.90  # vault-path cached hits per server CPU-second / native
PHOTO_FOLDERS = ("media", "photos", "web")
PHOTO_NAME = "photo.jpg"
VAULT_HIT = "/{vault}/media/photos/web/photo.jpg?w=300"
NATIVE_HIT = "/default/default/img/{id}?w=300"

# Which parts run where: the upload on a local directory (SQLite) and on S3 (PostgreSQL and
# moto); the list and delivery on each database with local blobs.
UPLOAD_ON = ("sqlite", "postgres+s3")
LIST_ON = DELIVERY_ON = ("sqlite", "postgres")


def vault_cursor(secret: str, vault_id: str, image_id: uuid.UUID) -> str:
    """The list cursor as the server hands it out (the surface's own token, with its MAC)."""
    return cursor_token(secret, vault_id, image_id)


def image_id_of(asset: str) -> uuid.UUID:
    found = from_prefixed_ulid(asset, ASSET_PREFIX)
    if found is None:
        raise RuntimeError(f"not an asset id: {asset!r}")
    return found


# -- upload --------------------------------------------------------------------------------


def big_file() -> Path:
    """100 MiB of pseudo-random bytes (no file type to detect, nothing to compress), cached in
    bench/.work; written under a temporary name first so a killed run leaves no torn file."""
    path = WORK / "vault_100mib.bin"
    if not path.exists() or path.stat().st_size != BIG_BYTES:
        WORK.mkdir(parents=True, exist_ok=True)
        rng = random.Random(4)
        partial = path.with_suffix(".partial")
        with partial.open("wb") as file:
            for start in range(0, BIG_BYTES, 8 << 20):
                file.write(rng.randbytes(min(8 << 20, BIG_BYTES - start)))
        os.replace(partial, path)
    return path


async def vault_upload(
    be: Backend, core: Core, key: str, project: Any, kind: str, *, count: int
) -> list[Figure]:
    """`count` uploads of the 100 MiB file to a fresh server at its default vault limit (warmed
    with two spilled 2 MB uploads), each with its VmRSS sampled; the limit,
    `core.blobs.put_file` of the same file (a copy: no `consume`), takes turns with them."""
    big = big_file()
    size = big.stat().st_size
    small = random.Random(5).randbytes(2_000_000)
    growths: list[int] = []  # kB, per upload, as are peaks and baselines
    peaks: list[int] = []
    baselines: list[int] = []
    assets: list[str] = []
    samples = 0
    http_seconds = limit_seconds = server_cpu = client_cpu = floor_cpu = hash_cpu = 0.0
    bearer = {"Authorization": f"Bearer {key}"}
    with Server(be, "vault-upload") as server:
        async with Client(server.base, 1, headers=bearer) as client:
            for i in range(2):  # the spill path, a temporary file and its placement
                warm = await client.upload_asset(small, BIG_FOLDERS, f"warm-{i}.bin")
                assets.append(warm["id"])
            warm_key = "bench/vault-limit-warm.bin"
            await core.blobs.put_file(warm_key, str(big))
            await core.blobs.delete(warm_key)
            hwm_before = proc_status_kb(server.pid, "VmHWM")
            for i in range(count):
                cpu0, own0 = server.cpu(), own_cpu_seconds()
                t0 = time.perf_counter()
                with RssSampler(server.pid, SAMPLE_SECONDS) as rss:
                    stored = await client.upload_asset(big, BIG_FOLDERS, f"big-{i}.bin")
                http_seconds += time.perf_counter() - t0
                server_cpu += server.cpu() - cpu0
                client_cpu += own_cpu_seconds() - own0  # the client and the RSS sampler
                growths.append(rss.growth_kb)
                peaks.append(rss.peak_kb)
                baselines.append(rss.baseline_kb)
                samples += rss.samples
                if stored["size"] != size or stored["width"] is not None:
                    raise RuntimeError(f"the 100 MiB upload was stored as {stored}")
                assets.append(stored["id"])
                content_type = stored["content_type"]

                limit_key = f"bench/vault-limit-{i}.bin"
                t0 = time.perf_counter()
                await core.blobs.put_file(limit_key, str(big))
                limit_seconds += time.perf_counter() - t0
                await core.blobs.delete(limit_key)

                floor, hashing = byte_floor(big, core.library.spool_dir)
                floor_cpu += floor / count
                hash_cpu += hashing / count
            hwm = (hwm_before, proc_status_kb(server.pid, "VmHWM"))
    for asset in assets:  # keep the blob store (moto's memory on S3) lean for what follows
        await core.library.delete(project, image_id_of(asset))

    worst = max(range(count), key=lambda i: growths[i])
    growth_mb = growths[worst] / 1024
    each = ", ".join(f"{g / 1024:.1f}" for g in growths)
    http_rate = count * size / http_seconds / 1e6
    limit_rate = count * size / limit_seconds / 1e6
    ratio = http_rate / limit_rate
    where = "a copy into the blob directory" if be.blobs_are_local else "to the same bucket"
    per_mib = server_cpu * 1e3 / count / (size / 2**20)
    hash_rate = size / hash_cpu / 1e6
    caveat = (
        f", which by itself caps the throughput ratio at {hash_rate / limit_rate:.2f}"
        if be.blobs_are_local
        else "; the server's CPU also covers the multipart upload to the bucket, which the "
        "floor does not"
    )
    return [
        Figure(
            "vault",
            kind,
            f"vault upload throughput, 100 MiB of random bytes ({content_type}) through POST "
            f"/v1/assets (Bearer sk_, default limit), request to response, n={count} (server "
            f"CPU {server_cpu / count:.2f} s/upload, {per_mib:.1f} ms/MiB; client "
            f"{client_cpu / count:.2f} s) vs "
            f"core.blobs.put_file of the same file in-process ({where})",
            f"{http_rate:.0f} MB/s",
            f"{limit_rate:.0f} MB/s",
            ratio,
            f"ratio >= {UPLOAD_TARGET:.2f}",
            ratio >= UPLOAD_TARGET,
        ),
        Figure(
            "vault",
            kind,
            f"server RSS growth while the 100 MiB file streams in (POST /v1/assets, fresh "
            f"server, VmRSS every {SAMPLE_SECONDS * 1000:.0f} ms, {samples} samples, worst of "
            f"{count} ({each} MB): baseline {baselines[worst] / 1024:.0f} MB, peak "
            f"{peaks[worst] / 1024:.0f} MB; VmHWM {hwm[0] / 1024:.0f} -> {hwm[1] / 1024:.0f} MB)",
            f"{growth_mb:.1f} MB",
            f"{size / 2**20:.0f} MiB (the whole file)",
            growths[worst] * 1024 / size,
            f"growth < {UPLOAD_GROWTH_TARGET_MB} MB",
            growth_mb < UPLOAD_GROWTH_TARGET_MB,
        ),
        Figure(
            "vault",
            kind,
            "attribution: server CPU per 100 MiB upload vs the per-byte floor in-process (read "
            f"in {CHUNK // 1024} KiB chunks, SHA-256, write to a staging file; SHA-256 alone "
            f"{hash_cpu * 1000:.0f} ms, i.e. {hash_rate:.0f} MB/s on one CPU{caveat})",
            f"{server_cpu / count * 1000:.0f} ms",
            f"{floor_cpu * 1000:.0f} ms",
            server_cpu / count / floor_cpu,
        ),
    ]


def byte_floor(big: Path, directory: str | None) -> tuple[float, float]:
    """What every streamed upload must do per byte, in-process: read the file in the 256 KiB
    chunks the server receives, hash them (SHA-256) and write them to a staging file, as
    StagedFile does. CPU seconds of the whole and of the hash alone."""
    chunk = bytearray(CHUNK)
    view = memoryview(chunk)
    digest = hashlib.sha256()
    hashing = 0.0
    if directory:
        os.makedirs(directory, exist_ok=True)
    cpu0 = own_cpu_seconds()
    with big.open("rb", buffering=0) as source, tempfile.NamedTemporaryFile(dir=directory) as out:
        while n := source.readinto(chunk):
            h0 = own_cpu_seconds()
            digest.update(view[:n])
            hashing += own_cpu_seconds() - h0
            out.write(view[:n])
        out.flush()
    return own_cpu_seconds() - cpu0, hashing


# -- list ----------------------------------------------------------------------------------


async def seed_assets(core: Core, project: Any, rows: int) -> float:
    """`rows` assets in one folder, unique file names, via suite_library's bulk insert; the one
    real upload they share gets a folder path too, so every row is a vault asset."""

    def folders(n: int) -> dict[str, Any]:
        partition, collection, channel = FOLDERS
        return {
            "partition": partition,
            "collection": collection,
            "channel": channel,
            "filename": f"asset-{n:06d}.jpg",
        }

    seconds = await seed(core, project, rows, folders)
    async with core.db.write() as conn:
        await conn.execute(
            update(images)
            .where(images.c.project_id == project.id, images.c.partition.is_(None))
            .values({**folders(-1), "filename": "original.jpg"})
        )
    return seconds


async def last_page_cursor(core: Core, project: Any) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """The position whose older page is the last one (the 51st-oldest asset), and the ids of
    that page, read through the core and checked."""
    oldest = await core.library.page(
        project, limit=PAGE + 1, start=Keyset(direction="newer"), max_limit=200
    )
    if len(oldest.items) != PAGE + 1:
        raise RuntimeError(f"expected {PAGE + 1} oldest assets, got {len(oldest.items)}")
    position = max(image.id for image in oldest.items)
    last = await core.library.page(
        project, limit=PAGE, start=Keyset(position, "older"), max_limit=200
    )
    if len(last.items) != PAGE or last.has_more:
        raise RuntimeError(f"the page older than {position} is not the last page")
    return position, [image.id for image in last.items]


async def check_list(
    client: Client,
    secret: str,
    vault_id: str,
    cursor: str,
    last_ids: list[uuid.UUID],
    rows: int,
) -> None:
    """The first page hands out a cursor in the format we build; the cursor page is the last."""
    first = json.loads(await client.get(f"/v1/assets?limit={PAGE}"))
    data = first["data"]
    expected = vault_cursor(secret, vault_id, image_id_of(data[-1]["id"]))
    if len(data) != PAGE or not first["has_more"] or first["cursor"] != expected:
        raise RuntimeError(f"unexpected first page: {len(data)} items, cursor {first['cursor']}")
    deep = json.loads(await client.get(f"/v1/assets?limit={PAGE}&cursor={cursor}"))
    ids = [image_id_of(item["id"]) for item in deep["data"]]
    if ids != last_ids or deep["has_more"] or deep["cursor"] is not None:
        raise RuntimeError(f"the cursor page is not the last of {rows:,}")


async def list_plans(core: Core, kind: str, project_id: Any, position: Any) -> list[Plan]:
    statements = {
        f"vault list first page (keyset_page, limit {PAGE})": keyset_page(
            project_id, ImageFilter(), PAGE, Keyset()
        ),
        f"vault list cursor page (keyset_page, limit {PAGE}, the last page)": keyset_page(
            project_id, ImageFilter(), PAGE, Keyset(position, "older")
        ),
    }
    return await explain_statements(core, kind, statements)


def list_figures(kind: str, t: dict[str, list[float]], rows: int) -> list[Figure]:
    n = len(t["http first"])
    first, last = pct(t["http first"], 99), pct(t["http last"], 99)
    in_first, in_last = pct(t["core first"], 99), pct(t["core last"], 99)
    ratio = last / first
    return [
        Figure(
            "vault",
            kind,
            f"GET /v1/assets?limit={PAGE} (Bearer sk_, first page of {rows:,} assets) p99 "
            f"(n={n}, p50 {ms(pct(t['http first'], 50))})",
            ms(first),
            f"{ms(in_first)} (core.library.page, in-process)",
            first / in_first,
        ),
        Figure(
            "vault",
            kind,
            f"GET /v1/assets?limit={PAGE}&cursor=... (the {PAGE} oldest of {rows:,}) p99 "
            f"(n={n}, p50 {ms(pct(t['http last'], 50))})",
            ms(last),
            f"{ms(in_last)} (core.library.page from the cursor, in-process)",
            last / in_last,
        ),
        Figure(
            "vault",
            kind,
            "vault list last (cursor) page p99 vs first page p99 (over HTTP)",
            ms(last),
            ms(first),
            ratio,
            f"ratio <= {LIST_RATIO_TARGET:g}",
            ratio <= LIST_RATIO_TARGET,
        ),
    ]


async def list_pages(
    core: Core, server: Server, key: str, project: Any, kind: str, rows: int, turns: int
) -> list[Figure]:
    position, last_ids = await last_page_cursor(core, project)
    secret = await core.tokens.signing_key()
    cursor = vault_cursor(secret, project.vault_id, position)
    bearer = {"Authorization": f"Bearer {key}"}
    async with Client(server.base, 1, headers=bearer) as client:
        await check_list(client, secret, project.vault_id, cursor, last_ids, rows)
        lib, start = core.library, Keyset(position, "older")

        async def http_first(_: int) -> None:
            await client.get(f"/v1/assets?limit={PAGE}")

        async def http_last(_: int) -> None:
            await client.get(f"/v1/assets?limit={PAGE}&cursor={cursor}")

        async def core_first(_: int) -> None:
            await lib.page(project, limit=PAGE, start=Keyset(), max_limit=200)

        async def core_last(_: int) -> None:
            await lib.page(project, limit=PAGE, start=start, max_limit=200)

        probes = {
            "http first": http_first,
            "http last": http_last,
            "core first": core_first,
            "core last": core_last,
        }
        timed = await interleaved(probes, turns, 60)
    return list_figures(kind, timed, rows)


# -- delivery ------------------------------------------------------------------------------


async def vault_delivery(
    core: Core, server: Server, key: str, project: Any, kind: str, hits: int, rounds: int
) -> list[Figure]:
    """The bench photo uploaded through the vault API; its vault path and its native id URL
    are the same core image and the same derivative, hit in interleaved rounds."""
    bearer = {"Authorization": f"Bearer {key}"}
    async with Client(server.base, 1, headers=bearer) as client:
        asset = await client.upload_asset(PHOTO, PHOTO_FOLDERS, PHOTO_NAME, "image/jpeg")
    image_id = str(image_id_of(asset["id"]))
    paths = {
        "vault": VAULT_HIT.format(vault=project.vault_id),
        "native": NATIVE_HIT.format(id=image_id),
    }
    async with Client(server.base, 8) as client:  # public delivery: no key
        bodies = {}
        for name, path in paths.items():
            for _ in range(20):  # render once, then warm the hit path
                bodies[name] = await client.get(path)
        if bodies["vault"] != bodies["native"]:
            raise RuntimeError("the vault path and the native URL answered different bytes")
        measured = await delivery_rounds(client, server, paths, hits, rounds)
    bare = await bare_rates(core, image_id, paths, min(hits, 1000), rounds)

    vault_all, vault_rates, vault_lat, vault_err = measured["vault"]
    native_all, native_rates, native_lat, native_err = measured["native"]
    # Medians of the rounds, as suite_slink: a burst of other work during one round moves a
    # median less than a sum.
    vault, native = statistics.median(vault_rates), statistics.median(native_rates)
    ratio = vault / native
    size = len(bodies["vault"]) / 1000
    return [
        Figure(
            "vault",
            kind,
            f"cached {VAULT_HIT.format(vault='{vault}')} vs native {NATIVE_HIT} ({size:.0f} KB "
            f"each), same server and image, 8 conns, {rounds} interleaved rounds of {hits} "
            f"each, median round (over all rounds {vault_all:.0f} vs {native_all:.0f}; p99 "
            f"{ms(pct(vault_lat, 99))} vs {ms(pct(native_lat, 99))}; errors "
            f"{vault_err}+{native_err})",
            f"{vault:.0f} req/server-cpu-s",
            f"{native:.0f} req/server-cpu-s (native)",
            ratio,
            f"ratio >= {DELIVERY_TARGET:.2f}",
            ratio >= DELIVERY_TARGET and vault_err + native_err == 0,
        ),
        Figure(
            "vault",
            kind,
            "attribution: the same two routes in-process as bare ASGI (no socket, no uvicorn), "
            "vault path vs native",
            f"{bare['vault']:.0f}/cpu-s",
            f"{bare['native']:.0f}/cpu-s (native)",
            bare["vault"] / bare["native"],
        ),
    ]


# -- the suite -----------------------------------------------------------------------------


async def run(kind: str, report: Report, *, quick: bool, processes: int = 1) -> None:
    """One server process: memory, a page and the delivery ratio are per process."""
    assert processes == 1, "the vault suite runs one server process"
    rows = 20_000 if quick else ROWS
    uploads = 1 if quick else 3
    # A page of 50 assets costs ~5-8 ms over HTTP, ~3 ms in-process: 800 turns of the four
    # probes take ~15 s; a p99 of 800 samples (the 8th-worst) moves less with a burst of other work.
    turns = 100 if quick else 800
    hits, hit_rounds = (600, 2) if quick else (1000, 8)
    async with backend(kind, "vault") as be, core_for(be) as (core, key, project):
        if kind in UPLOAD_ON:
            report.figures.extend(await vault_upload(be, core, key, project, kind, count=uploads))
        if kind not in LIST_ON + DELIVERY_ON:
            return
        seconds = await seed_assets(core, project, rows)
        position, _ = await last_page_cursor(core, project)
        report.plans.extend(await list_plans(core, kind, project.id, position))
        with Server(be, "vault") as server:
            report.figures.extend(
                await list_pages(core, server, key, project, kind, rows + 1, turns)
            )
            report.figures.extend(
                await vault_delivery(core, server, key, project, kind, hits, hit_rounds)
            )
    report.notes.append(
        f"vault/{kind}: seeded {rows:,} assets (one folder, unique file names) in {seconds:.1f} s."
    )
