"""A real `pixvault serve` for the browser tests, its users, and pictures made for them."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pyvips

from tests.serve_process import PIXVAULT, serve_env, start_serve, stop_serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN = ("ann@example.com", "ann-s3cret-pw")
MEMBER = ("bob@example.com", "bob-s3cret-pw")


@dataclass
class Server:
    base: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def cli(self, *args: str) -> str:
        return cli(self.env, *args)

    def stop(self) -> None:
        stop_serve(self.process)


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PIXVAULT, *args], env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"pixvault {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def start_server(root: Path, **settings: str) -> Server:
    """Users first (the CLI initialises the data directory), then `pixvault serve`."""
    env = serve_env(root / "data", root, **settings)
    for (email, password), admin in ((ADMIN, True), (MEMBER, False)):
        extra = ["--admin"] if admin else []
        json.loads(
            cli(env, "users", "create", "--email", email, "--password", password, *extra, "--json")
        )
    log = root / "serve.log"
    process, base = start_serve(env, log)
    return Server(base, env, process, log)


# -- pictures ------------------------------------------------------------------------------


def _solid(width: int, height: int, color: tuple[int, int, int]) -> pyvips.Image:
    return pyvips.Image.black(width, height).new_from_image(list(color)).cast("uchar")


def two_tone(width: int = 600, height: int = 600) -> bytes:
    """Top half red, bottom half blue: a focal crop shows which half it keeps."""
    top = _solid(width, height // 2, (220, 30, 30))
    bottom = _solid(width, height - height // 2, (30, 60, 220))
    return top.join(bottom, "vertical").jpegsave_buffer(Q=92)


def noisy(width: int = 1000, height: int = 800, seed: int = 0) -> bytes:
    """A JPEG of noise (about 1.6 MB): big enough for the upload to take several steps."""
    bands = [pyvips.Image.gaussnoise(width, height, sigma=60, mean=120 + seed) for _ in range(3)]
    return bands[0].bandjoin(bands[1:]).cast("uchar").jpegsave_buffer(Q=95)


def small(
    color: tuple[int, int, int] = (40, 160, 90), width: int = 320, height: int = 240
) -> bytes:
    return _solid(width, height, color).pngsave_buffer()
