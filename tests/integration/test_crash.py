"""Crash consistency: SIGKILL a real server mid-burst, restart it, and check the invariants.

Every listed image must download and hash to its fileHash, every acknowledged upload must be
listed, and after `gc --grace 0` no blob may remain that no row references. Runs on SQLite +
local storage and on PostgreSQL + S3 (moto).
"""

import asyncio
import hashlib
import json
import os
import signal
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PG_URL
from tests.helpers import jpeg
from tests.s3 import MotoServer, s3_env
from tests.serve_process import PIXVAULT, start_serve

PREFIX = "pv"
KILL_AFTER = 15
IN_FLIGHT = 8


# -- a deployment: environment, blob listing, server processes ------------------------------


@dataclass
class Deployment:
    """One database and one blob store, shared by every process started from it."""

    root: Path
    env: dict[str, str]
    moto: MotoServer | None = None
    bucket: str | None = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PIXVAULT, *args],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def secret_key(self) -> str:
        created = self.cli("keys", "create", "--project", "default/default", "--json")
        assert created.returncode == 0, created.stderr
        return json.loads(created.stdout)["key"]

    def blob_keys(self) -> set[str]:
        """Every blob in the store, as BlobStore keys (independent of pixvault's code)."""
        if self.moto is not None and self.bucket is not None:
            return {k.removeprefix(f"{PREFIX}/") for k in self.moto.blobs(self.bucket, PREFIX)}
        blobs = self.root / "data" / "blobs"
        return {
            str(p.relative_to(blobs))
            for p in blobs.rglob("*")
            if p.is_file() and p.name != ".pixvault-instance.json"  # the store's claim
        }

    def gc(self, *args: str) -> dict[str, Any]:
        done = self.cli("gc", "--json", *args)
        assert done.returncode == 0, done.stderr + done.stdout
        return json.loads(done.stdout)


def make_deployment(
    root: Path, backend: str, schema: str | None, request: pytest.FixtureRequest
) -> Deployment:
    """SQLite + local directory, or PostgreSQL + a fresh moto bucket."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIXVAULT_", "AWS_"))}
    env["PIXVAULT_DATA_DIR"] = str(root / "data")
    # Bursts of up to 50 concurrent uploads probe what a crash or a race leaves behind; load
    # shedding (tests/integration/test_admission.py) is not under test here: admit them all.
    env["PIXVAULT_MAX_IN_FLIGHT"] = "64"
    if backend != "postgres":
        return Deployment(root, env)
    moto: MotoServer = request.getfixturevalue("moto_server")
    bucket = moto.new_bucket()
    assert PG_URL is not None and schema is not None
    env |= {"PIXVAULT_DATABASE_URL": PG_URL, "PIXVAULT_DATABASE_SCHEMA": schema}
    env |= s3_env(moto.endpoint, bucket, PREFIX)
    return Deployment(root, env, moto, bucket)


@pytest.fixture
def deployment(
    tmp_path: Path, backend: str, pg_schema: str | None, request: pytest.FixtureRequest
) -> Deployment:
    return make_deployment(tmp_path, backend, pg_schema, request)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str


def start_server(deployment: Deployment, timeout: float = 30.0) -> Server:
    """`pixvault serve` on a free 127.0.0.1 port; returns once /health answers."""
    log = deployment.root / f"serve-{len(list(deployment.root.glob('serve-*.log')))}.log"
    process, base = start_serve(deployment.env, log, cwd=deployment.root, timeout=timeout)
    return Server(process, base)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Collects started servers and kills every one by PID, whatever the test did."""
    started: list[Server] = []
    try:
        yield started
    finally:
        for server in started:
            if server.process.poll() is None:
                os.kill(server.process.pid, signal.SIGKILL)
                server.process.wait(10)


def api_client(server: Server, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.base,
        headers={"X-API-Key": key},
        timeout=20.0,
        limits=httpx.Limits(max_connections=100),
    )


def picture(n: int) -> bytes:
    """A distinct, not tiny JPEG per n, so uploads take a moment and hashes differ."""
    return jpeg(640 + n, 480, (n * 5 % 256, 255 - n * 3 % 256, 90))


async def upload_one(http: httpx.AsyncClient, data: bytes) -> httpx.Response:
    files = {"file": ("p.jpg", data, "image/jpeg")}
    return await http.post("/api/v1/images/upload", files=files)


async def burst_then_kill(
    calls: list[Callable[[], Awaitable[httpx.Response]]], server: Server
) -> list[httpx.Response | Exception]:
    """Run the calls IN_FLIGHT at a time; SIGKILL the server once KILL_AFTER have answered.
    Bounding what is in flight keeps the kill mid-burst however slow this process is next to
    the server (with all 50 sent at once, a busy test process read the 15th answer only after
    the server had answered every one)."""
    answered = 0
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def run(call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response | Exception:
        nonlocal answered
        async with gate:
            try:
                response = await call()
            except httpx.HTTPError as exc:
                return exc
            answered += 1
            if answered == KILL_AFTER:
                os.kill(server.process.pid, signal.SIGKILL)
            return response

    results = await asyncio.wait_for(asyncio.gather(*(run(c) for c in calls)), timeout=60)
    server.process.wait(10)
    return list(results)


async def listed(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = await http.get("/api/v1/images", params={"limit": 100, "offset": len(items)})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["data"]
        if not body["pagination"]["hasMore"]:
            return items


async def assert_all_download(http: httpx.AsyncClient, images: list[dict[str, Any]]) -> None:
    for image in images:
        got = await http.get(f"/default/default/img/{image['id']}")
        assert got.status_code == 200, (image["id"], got.text)
        assert hashlib.sha256(got.content).hexdigest() == image["fileHash"]


def referenced(images: list[dict[str, Any]]) -> Callable[[str], bool]:
    """Whether a blob key belongs to one of these (live) images."""
    originals = {i["storageKey"] for i in images}
    derived = {f"{i['projectId']}/derived/{i['id']}/" for i in images}
    return lambda key: key in originals or any(key.startswith(p) for p in derived)


def successes(results: list[httpx.Response | Exception], status: int) -> list[httpx.Response]:
    ok = [r for r in results if isinstance(r, httpx.Response) and r.status_code == status]
    assert KILL_AFTER - 1 <= len(ok) < len(results), "the kill should land mid-burst"
    return ok


# -- tests ---------------------------------------------------------------------------------


async def test_uploads_interrupted_by_sigkill(
    deployment: Deployment, servers: list[Server]
) -> None:
    key = deployment.secret_key()
    servers.append(start_server(deployment))
    async with api_client(servers[0], key) as http:
        calls = [lambda n=n: upload_one(http, picture(n)) for n in range(50)]
        results = await burst_then_kill(calls, servers[0])
    acknowledged = {r.json()["data"]["id"] for r in successes(results, 201)}

    servers.append(start_server(deployment))
    async with api_client(servers[1], key) as http:
        images = await listed(http)
        assert acknowledged <= {i["id"] for i in images}
        await assert_all_download(http, images)
        deployment.gc("--grace", "0")
        belongs = referenced(images)
        assert {k for k in deployment.blob_keys() if not belongs(k)} == set()
        assert {i["storageKey"] for i in images} <= deployment.blob_keys()
    if deployment.moto is not None:
        assert not (deployment.root / "data" / "blobs").exists()


async def test_deletes_interrupted_by_sigkill(
    deployment: Deployment, servers: list[Server]
) -> None:
    key = deployment.secret_key()
    servers.append(start_server(deployment))
    async with api_client(servers[0], key) as http:
        made = await asyncio.gather(*(upload_one(http, picture(n)) for n in range(40)))
        ids = [r.json()["data"]["id"] for r in made]
        for image_id in ids:  # a derivative per image, so deletes have a prefix to clear
            assert (await http.get(f"/default/default/img/{image_id}?w=16")).status_code == 200
        calls = [lambda i=i: http.delete(f"/api/v1/images/{i}") for i in ids]
        results = await burst_then_kill(calls, servers[0])
    deleted = {r.json()["data"]["id"] for r in successes(results, 200)}

    servers.append(start_server(deployment))
    async with api_client(servers[1], key) as http:
        images = await listed(http)
        assert not deleted & {i["id"] for i in images}
        for image_id in deleted:
            assert (await http.get(f"/default/default/img/{image_id}")).status_code == 404
        await assert_all_download(http, images)
        deployment.gc("--grace", "0")
        belongs = referenced(images)
        assert {k for k in deployment.blob_keys() if not belongs(k)} == set()
        assert {i["storageKey"] for i in images} <= deployment.blob_keys()
