"""`pixvault serve --workers N`: the workers share one port, and so one /metrics."""

import re

import httpx

from tests.serve_process import serve_env, start_serve, stop_serve

HEALTH = re.compile(
    r'^pixvault_http_requests_total\{method="GET",route="/health",status="200"\} (\S+)$', re.M
)


def test_metrics_answer_for_every_worker(tmp_path):
    env = serve_env(tmp_path / "data", tmp_path)
    process, base = start_serve(env, tmp_path / "serve.log", "--workers", "2")
    try:
        before = _health_count(base)
        for _ in range(60):  # a new connection each: the kernel spreads them over the workers
            response = httpx.get(f"{base}/health", headers={"Connection": "close"})
            assert response.status_code == 200
        # Whichever worker answers the scrape, it counts every worker's requests.
        for _ in range(4):
            assert _health_count(base) >= before + 60
    finally:
        stop_serve(process)
    assert list(tmp_path.glob("pixvault-metrics-*")) == []


def _health_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", headers={"Connection": "close"}).text
    found = HEALTH.search(text)
    return float(found.group(1)) if found else 0.0
