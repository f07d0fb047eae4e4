"""A real `pixvault serve` process on a scratch SQLite data directory, for the tests where the
network matters (slow clients, disconnects, admission, the metrics port)."""

import json
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.test_cli import PIXVAULT
from tests.s3 import free_port, wait_until_answers


@dataclass
class Served:
    base: str
    port: int
    data_dir: Path
    log: Path
    env: dict[str, str]

    def secret_key(self) -> str:
        created = subprocess.run(
            [PIXVAULT, "keys", "create", "--project", "default/default", "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(created.stdout)["key"]

    def access_log(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{") and '"pixvault.access"' in line:
                lines.append(json.loads(line))
        return lines

    def image_rows(self) -> int:
        with sqlite3.connect(self.data_dir / "pixvault.db") as db:
            return db.execute("SELECT count(*) FROM images").fetchone()[0]

    def files_under(self, name: str) -> list[Path]:
        root = self.data_dir / name
        # Dot files are the store's own (its instance marker), not uploads.
        found = root.rglob("*") if root.exists() else []
        return [p for p in found if p.is_file() and not p.name.startswith(".")]


@contextmanager
def serving(tmp_path: Path, **settings: str) -> Iterator[Served]:
    """`pixvault serve` with `PIXVAULT_<NAME>` set from `settings`, stopped by its own PID."""
    port = free_port()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIXVAULT_", "PROMETHEUS_"))}
    env |= {"PIXVAULT_DATA_DIR": str(data_dir), "TMPDIR": str(tmp_path)}
    env |= {f"PIXVAULT_{name.upper()}": value for name, value in settings.items()}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [PIXVAULT, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(process, f"{base}/health", 60, "pixvault serve")
        yield Served(base, port, data_dir, log, env)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
