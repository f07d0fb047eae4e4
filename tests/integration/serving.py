"""A real `pixvault serve` process on a scratch SQLite data directory, for the tests where the
network matters (slow clients, disconnects, admission, the metrics port)."""

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.serve_process import PIXVAULT, serve_env, start_serve, stop_serve


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
    data_dir = tmp_path / "data"
    env = serve_env(data_dir, tmp_path, **settings)
    log = tmp_path / "serve.log"
    process, base = start_serve(env, log)
    try:
        yield Served(base, urlsplit(base).port or 0, data_dir, log, env)
    finally:
        stop_serve(process)
