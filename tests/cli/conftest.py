"""One real `pixvault serve` process (SQLite, local blobs) shared by the client and upload
tests; each test gets a project of its own and a secret key of it."""

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from pixvault.cli import app
from tests.integration.test_crash import Deployment, start_server
from tests.s3 import stop_process
from tests.serve_process import PIXVAULT


@dataclass(frozen=True)
class Tenant:
    path: str  # ORG/PROJECT
    id: str
    key: str  # a secret key of the project


@dataclass
class Remote:
    base: str
    master: str
    env: dict[str, str]  # for `pixvault upload` processes: no PIXVAULT_* of the caller's

    def project(self) -> Tenant:
        """A new project with a secret key of it."""
        slug = f"p{uuid.uuid4().hex[:10]}"
        admin = {"X-API-Key": self.master}
        made = httpx.post(
            f"{self.base}/api/v1/admin/projects",
            json={"org": "cli", "slug": slug},
            headers=admin,
            timeout=30,
        )
        assert made.status_code == 201, made.text
        project_id = made.json()["data"]["id"]
        return Tenant(f"cli/{slug}", project_id, self.key(project_id, "secret"))

    def key(self, project_id: str, kind: str) -> str:
        made = httpx.post(
            f"{self.base}/api/v1/admin/keys",
            json={"kind": kind, "projectId": project_id},
            headers={"X-API-Key": self.master},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        return made.json()["data"]["key"]

    def upload(
        self, *args: str, key: str, server: str | None = None, process: bool = False
    ) -> "Ran":
        """`pixvault upload ARGS`: in this process (fast), or as the real executable."""
        env = {**self.env, "PIXVAULT_KEY": key, "PIXVAULT_SERVER": server or self.base}
        if not process:
            done = CliRunner().invoke(app, ["upload", *args], env=env)
            if done.exception is not None and not isinstance(done.exception, SystemExit):
                raise done.exception
            return Ran(done.exit_code, done.stdout, done.stderr)
        ran = subprocess.run(
            [PIXVAULT, "upload", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Ran(ran.returncode, ran.stdout, ran.stderr)


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="package")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    root = tmp_path_factory.mktemp("remote")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIXVAULT_", "AWS_"))}
    env["PIXVAULT_DATA_DIR"] = str(root / "data")
    deployment = Deployment(root, env)
    made = deployment.cli("keys", "create", "--kind", "master", "--json")
    assert made.returncode == 0, made.stderr
    server = start_server(deployment)
    client_env = {k: v for k, v in env.items() if k != "PIXVAULT_DATA_DIR"} | {"COLUMNS": "200"}
    try:
        yield Remote(server.base, json.loads(made.stdout)["key"], client_env)
    finally:
        stop_process(server.process)


@pytest.fixture
def project(remote: Remote) -> Tenant:
    return remote.project()


def images_of(remote: Remote, key: str) -> list[dict]:
    listed = httpx.get(
        f"{remote.base}/api/v1/images",
        params={"limit": 100},
        headers={"X-API-Key": key},
        timeout=30,
    )
    assert listed.status_code == 200, listed.text
    return listed.json()["data"]


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
