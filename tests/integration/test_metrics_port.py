"""/metrics on a port of its own (METRICS_PORT): served there, for one worker and for several,
and no longer on the public port, where it is an unknown path in the native envelope."""

import time

import httpx

from tests.integration.serving import serving
from tests.s3 import free_port
from tests.serve_process import serve_env, start_serve, stop_serve

HEALTH_COUNT = 'pixvault_http_requests_total{method="GET",route="/health",status="200"}'


def test_metrics_move_to_their_own_port(tmp_path):
    metrics_port = free_port()
    with serving(tmp_path, metrics_port=str(metrics_port)) as served:
        for _ in range(3):
            assert httpx.get(f"{served.base}/health").status_code == 200
        public = httpx.get(f"{served.base}/metrics")
        private = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        spec = httpx.get(f"{served.base}/openapi.json").json()
    assert "/metrics" not in spec["paths"]  # the docs list only what this port answers
    assert "/health" in spec["paths"]
    assert public.status_code == 404
    assert public.json() == {
        "success": False,
        "error": {
            "code": "NOT_FOUND",
            "message": "No endpoint answers GET /metrics; see /docs for the API",
        },
    }
    assert private.status_code == 200
    assert private.headers["content-type"].startswith("text/plain")
    line = next(x for x in private.text.splitlines() if x.startswith(HEALTH_COUNT))
    assert float(line.split()[-1]) >= 3


def test_without_a_metrics_port_the_main_port_serves_them(tmp_path):
    with serving(tmp_path) as served:
        answer = httpx.get(f"{served.base}/metrics")
        spec = httpx.get(f"{served.base}/openapi.json").json()
    assert "/metrics" in spec["paths"]
    assert answer.status_code == 200
    assert "pixvault_http_requests_total" in answer.text


def test_the_metrics_port_counts_every_worker(tmp_path):
    metrics_port = free_port()
    env = serve_env(tmp_path / "data", tmp_path, METRICS_PORT=str(metrics_port))
    process, base = start_serve(env, tmp_path / "serve.log", "--workers", "2")
    try:
        for _ in range(40):  # a new connection each: the kernel spreads them over the workers
            assert httpx.get(f"{base}/health", headers={"Connection": "close"}).status_code == 200
        counted = 0.0
        deadline = time.monotonic() + 10
        while counted < 40 and time.monotonic() < deadline:  # a loaded machine may lag
            text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
            lines = [x for x in text.splitlines() if x.startswith(HEALTH_COUNT)]
            counted = float(lines[0].split()[-1]) if lines else 0.0
            time.sleep(0.2)
    finally:
        stop_serve(process)
    assert counted >= 40
