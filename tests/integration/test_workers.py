"""`pixvault serve --workers N`: the workers share one port, and so one /metrics."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.s3 import free_port, wait_until_answers

PIXVAULT = str(Path(sys.executable).with_name("pixvault"))
HEALTH = re.compile(
    r'^pixvault_http_requests_total\{method="GET",route="/health",status="200"\} (\S+)$', re.M
)


def test_metrics_answer_for_every_worker(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIXVAULT_", "PROMETHEUS_"))}
    env |= {"PIXVAULT_DATA_DIR": str(tmp_path / "data"), "TMPDIR": str(tmp_path)}
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [PIXVAULT, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(process, f"{base}/health", 60, "pixvault serve --workers 2")
        before = _health_count(base)
        for _ in range(60):  # a new connection each: the kernel spreads them over the workers
            response = httpx.get(f"{base}/health", headers={"Connection": "close"})
            assert response.status_code == 200
        # Whichever worker answers the scrape, it counts every worker's requests.
        for _ in range(4):
            assert _health_count(base) >= before + 60
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    assert list(tmp_path.glob("pixvault-metrics-*")) == []


def _health_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", headers={"Connection": "close"}).text
    found = HEALTH.search(text)
    return float(found.group(1)) if found else 0.0
