"""Shared plumbing: scratch backends, real `pixvault serve` processes, /proc readings, stats.

Every figure is compared with a limit measured in the same run on the same machine, so the
ratios stay meaningful whatever hardware runs the suite.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from pixvault.config import Settings
from pixvault.services.core import Core, build_core, initialise
from tests.s3 import MotoServer, s3_env, start_moto

BENCH_DIR = Path(__file__).resolve().parent
WORK = BENCH_DIR / ".work"
PHOTO = BENCH_DIR / "photo_2400x1600.jpg"
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
CLK_TCK = os.sysconf("SC_CLK_TCK")
# sqlite and postgres keep blobs in a local directory; postgres+s3 is the scale-out shape:
# PostgreSQL and an S3 bucket on a moto server started for the run.
BACKENDS = ("sqlite", "postgres", "postgres+s3")


# -- results -------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure, its same-run limit, and the verdict against its target."""

    suite: str
    backend: str
    measure: str
    value: str
    limit: str = "-"
    ratio: float | None = None
    target: str = "-"
    ok: bool | None = None

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "MISS", None: "info"}[self.ok]


@dataclass
class Plan:
    """A query plan as the database printed it."""

    backend: str
    query: str
    sql: str
    text: str
    full_scan: bool


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- stats ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile; with 500 samples p99 is the 5th-worst, not an interpolation."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


# -- machine -------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """What the figures were measured on; ratios travel, absolute numbers do not."""
    import pyvips

    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "libvips": ".".join(str(pyvips.version(i)) for i in range(3)),
        "pyvips": pyvips.__version__,
        "code": _code_version(),
    }


def _code_version() -> str:
    """The commit measured, and whether the working tree differed from it (read-only git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"{head}" + (f" plus uncommitted changes to {len(dirty)} files" if dirty else "")


# -- /proc ---------------------------------------------------------------------------------


def proc_cpu_seconds(pid: int) -> float:
    """utime+stime of the process plus its reaped children, from /proc/PID/stat."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): utime/stime/cutime/cstime are fields 14-17.
    return sum(int(v) for v in fields[11:15]) / CLK_TCK


def proc_status_kb(pid: int, key: str) -> int:
    """A kB figure (VmHWM, VmRSS) from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def own_cpu_seconds() -> float:
    return time.process_time()


class RssSampler:
    """Samples another process's VmRSS every `interval` seconds in a background thread, from
    `with` to its end: `baseline_kb` is the reading on entry, `peak_kb` the largest seen.

    VmHWM would say the same only if the process had never been bigger before; sampling sees
    the peak of this window alone (a spike shorter than the interval can slip through)."""

    def __init__(self, pid: int, interval: float = 0.005):
        self.pid = pid
        self.interval = interval
        self.baseline_kb = 0
        self.peak_kb = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    @property
    def growth_kb(self) -> int:
        return self.peak_kb - self.baseline_kb

    def _read(self) -> None:
        self.peak_kb = max(self.peak_kb, proc_status_kb(self.pid, "VmRSS"))
        self.samples += 1

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(OSError, KeyError):
                self._read()

    def __enter__(self) -> RssSampler:
        self.baseline_kb = self.peak_kb = proc_status_kb(self.pid, "VmRSS")
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(OSError, KeyError):
            self._read()  # the reading at the end of the window


# -- backends ------------------------------------------------------------------------------


@dataclass
class Backend:
    """A fresh database (SQLite file or PostgreSQL schema) and blob store (local or S3)."""

    kind: str
    data_dir: Path
    schema: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def blobs_are_local(self) -> bool:
        return not self.kind.endswith("+s3")

    @property
    def database_url(self) -> str | None:
        return PG_URL if self.kind.startswith("postgres") else None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIXVAULT_")}
        env["PIXVAULT_DATA_DIR"] = str(self.data_dir)
        if self.database_url:
            env["PIXVAULT_DATABASE_URL"] = self.database_url
        if self.schema:
            env["PIXVAULT_DATABASE_SCHEMA"] = self.schema
        env.update(self.extra_env)
        return env

    def settings(self) -> Settings:
        values = {k.removeprefix("PIXVAULT_").lower(): v for k, v in self.extra_env.items()}
        return Settings(
            _env_file=None,
            data_dir=self.data_dir,
            database_url=self.database_url,
            database_schema=self.schema,
            **values,
        )


async def pg_available() -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect(PG_URL, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


@contextlib.asynccontextmanager
async def backend(kind: str, label: str, **extra_env: str) -> AsyncIterator[Backend]:
    """A scratch backend: its schema is dropped afterwards, its directory at the end of the run.

    Deleting thousands of files between suites would slow the next suite's file creations:
    ext4 skips recently freed inodes when it allocates, scanning past them for minutes, and
    that kernel time would land on the next server's CPU."""
    token = secrets.token_hex(4)
    data_dir = WORK / f"{label}-{kind.replace('+', '-')}-{token}"
    data_dir.mkdir(parents=True)
    schema = f"bench_{label}_{token}" if kind.startswith("postgres") else None
    if kind.endswith("+s3"):
        moto = _moto()
        extra_env = {**s3_env(moto.endpoint, moto.new_bucket()), **extra_env}
    if schema:
        await _pg(f'CREATE SCHEMA "{schema}"')
    try:
        yield Backend(kind, data_dir, schema, dict(extra_env))
    finally:
        if schema:
            await _pg(f'DROP SCHEMA "{schema}" CASCADE')


async def _pg(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def core_for(be: Backend) -> AsyncIterator[tuple[Core, str, object]]:
    """An initialised in-process core, its default project and a fresh secret key."""
    core = build_core(be.settings())
    try:
        result = await initialise(core)
        issued = await core.keys.issue("secret", result.project.id, label="bench")
        yield core, issued.secret, result.project
    finally:
        await core.close()


def config_label(kind: str, processes: int) -> str:
    """How a (backend, server processes) configuration reads in tables."""
    return kind if processes == 1 else f"{kind}, {processes} processes"


_MOTO: list[MotoServer] = []


def _moto() -> MotoServer:
    """One moto S3 server for the whole run, stopped by its PID when the bench exits."""
    if not _MOTO:
        _MOTO.append(start_moto())
        atexit.register(_MOTO[0].stop)
    return _MOTO[0]


# -- servers -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pixvault_command() -> str:
    beside = Path(sys.executable).parent / "pixvault"
    return str(beside) if beside.exists() else (shutil.which("pixvault") or "pixvault")


class Server:
    """One real `pixvault serve --workers 1` process on 127.0.0.1, stopped by its own PID.

    `env` adds to (or overrides) the backend's environment for this process alone, e.g.
    `{"PIXVAULT_MAX_UPLOAD_BYTES": "134217728"}`."""

    def __init__(self, be: Backend, name: str, env: dict[str, str] | None = None):
        self.be = be
        self.env = dict(env or {})
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = be.data_dir / f"server-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60) -> Server:
        args = [_pixvault_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [*args, "--workers", "1"],
                env={**self.be.env(), **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early; see {self.log_path}")
            try:
                if httpx.get(self.base + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not come up in {timeout}s; see {self.log_path}")

    def cpu(self) -> float:
        return proc_cpu_seconds(self.pid)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class Servers:
    """`count` separate `pixvault serve` processes on one backend: a load balancer's view."""

    def __init__(self, be: Backend, name: str, count: int):
        self.members = [Server(be, f"{name}-{i}") for i in range(count)]

    @property
    def bases(self) -> list[str]:
        return [member.base for member in self.members]

    def cpu(self) -> float:
        return sum(member.cpu() for member in self.members)

    def __enter__(self) -> Servers:
        try:
            for member in self.members:
                member.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        for member in self.members:
            member.stop()


# -- load ----------------------------------------------------------------------------------


@dataclass
class Load:
    """Outcome of a bounded load run: per-request latencies and the wall time."""

    latencies: list[float]
    wall: float
    errors: int

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def plus(self, other: Load) -> Load:
        """Two runs as one: their requests over their summed wall time."""
        return Load(
            self.latencies + other.latencies, self.wall + other.wall, self.errors + other.errors
        )


async def run_load(
    count: int,
    concurrency: int,
    one: Callable[[int], Awaitable[None]],
    *,
    time_cap: float = 120,
) -> Load:
    """Run `one(i)` for i < count on `concurrency` workers; stop early after `time_cap` s."""
    latencies: list[float] = []
    errors = 0
    next_index = 0
    start = time.perf_counter()
    deadline = start + time_cap

    async def worker() -> None:
        nonlocal next_index, errors
        while next_index < count and time.perf_counter() < deadline:
            i = next_index
            next_index += 1
            t0 = time.perf_counter()
            try:
                await one(i)
            except Exception:
                errors += 1
                continue
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Load(latencies, time.perf_counter() - start, errors)


class Client:
    """The load generator: aiohttp over keep-alive connections to 127.0.0.1, taking the
    servers in turn per request (round robin, as a load balancer would).

    It shares the two CPUs with the servers it measures, so it must be lean: httpx spends
    ~1 ms of CPU per request, aiohttp ~0.15 ms.
    """

    def __init__(
        self,
        bases: str | list[str],
        connections: int,
        key: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ):
        self._bases = [bases] if isinstance(bases, str) else list(bases)
        self._turn = 0
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            headers={**({"X-API-Key": key} if key else {}), **(headers or {})},
            timeout=aiohttp.ClientTimeout(total=120),
        )

    def _url(self, path: str) -> str:
        self._turn += 1
        return self._bases[self._turn % len(self._bases)] + path

    async def get(self, path: str) -> bytes:
        async with self._session.get(self._url(path)) as response:
            body = await response.read()
            _raise_for_status(response.status, path, body)
            return body

    async def post_json(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        async with self._session.post(self._url(path), json=payload) as response:
            body = await response.read()
            _raise_for_status(response.status, path, body)
            return json.loads(body)

    async def upload(self, data: bytes, filename: str = "bench.jpg") -> dict[str, Any]:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=filename, content_type="image/jpeg")
        async with self._session.post(self._url("/api/v1/images/upload"), data=form) as response:
            body = await response.read()
            _raise_for_status(response.status, "upload", body)
            return json.loads(body)["data"]

    async def upload_file(self, path: Path, content_type: str) -> dict[str, Any]:
        """Upload a file from disk: aiohttp streams it into the body in small chunks, so the
        client never holds the whole file."""
        with path.open("rb") as file:
            form = aiohttp.FormData()
            form.add_field("file", file, filename=path.name, content_type=content_type)
            url = self._url("/api/v1/images/upload")
            async with self._session.post(url, data=form) as response:
                body = await response.read()
                _raise_for_status(response.status, "upload", body)
                return json.loads(body)["data"]

    async def upload_asset(
        self,
        source: Path | bytes,
        folders: tuple[str, str, str],
        filename: str,
        content_type: str = "application/octet-stream",
    ) -> dict[str, Any]:
        """`POST /v1/assets` as imgbt's SDK sends it: the file part first, then partition,
        collection and channel; a file on disk is streamed in small chunks. Authenticate with
        `headers={"Authorization": "Bearer sk_…"}`. Returns the asset record."""
        with contextlib.ExitStack() as stack:
            body = source if isinstance(source, bytes) else stack.enter_context(source.open("rb"))
            form = aiohttp.FormData()
            form.add_field("file", body, filename=filename, content_type=content_type)
            for name, value in zip(("partition", "collection", "channel"), folders, strict=True):
                form.add_field(name, value)
            async with self._session.post(self._url("/v1/assets"), data=form) as response:
                answer = await response.read()
                _raise_for_status(response.status, "vault upload", answer)
                return json.loads(answer)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._session.close()


def _raise_for_status(status: int, what: str, body: bytes) -> None:
    if status >= 400:
        raise RuntimeError(f"{what}: HTTP {status}: {body[:200]!r}")
