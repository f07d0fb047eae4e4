"""Starting and stopping real `pixvault serve` processes: one way for every test that needs
the network (integration, fuzzing, crashes, the browser suite)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.s3 import free_port, wait_until_answers

PIXVAULT = str(Path(sys.executable).with_name("pixvault"))


def serve_env(data_dir: Path, tmp_dir: Path | None = None, **settings: str) -> dict[str, str]:
    """This environment without any PIXVAULT_/PROMETHEUS_ setting of the caller's, then the
    data directory and `PIXVAULT_<NAME>` for each of `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIXVAULT_", "PROMETHEUS_"))}
    env["PIXVAULT_DATA_DIR"] = str(data_dir)
    if tmp_dir is not None:
        env["TMPDIR"] = str(tmp_dir)
    return env | {f"PIXVAULT_{name.upper()}": value for name, value in settings.items()}


def start_serve(
    env: dict[str, str],
    log: Path,
    *args: str,
    cwd: Path | None = None,
    timeout: float = 60.0,
) -> tuple[subprocess.Popen[bytes], str]:
    """`pixvault serve ARGS` on a free 127.0.0.1 port, in a session of its own (so it and its
    workers stop together), output to `log`; returns once /health answers, with its base URL."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [PIXVAULT, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    wait_until_answers(process, f"{base}/health", timeout, f"pixvault serve {' '.join(args)}")
    return process, base


def stop_serve(process: subprocess.Popen[bytes]) -> None:
    """TERM to the server's session (its workers too), KILL if it lingers past 30 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
