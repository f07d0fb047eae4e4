"""`pixvault serve --workers N`: the workers share one port, and so one /metrics, and a key
revoked from the command line is refused by every one of them at once."""

import json
import re
import subprocess

import httpx

from tests.conftest import PG_URL
from tests.serve_process import PIXVAULT, serve_env, start_serve, stop_serve

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


def test_a_key_revoked_with_the_cli_is_refused_at_once_by_every_worker(tmp_path, pg_schema):
    """`pixvault keys revoke` while `serve --workers 2` holds the key in both workers' memos
    (kept for 300 s here), then requests at once, each on a new connection so that both
    workers answer: every one is 401. Before the key epoch they alternated 401 and 200."""
    database = {} if pg_schema is None else {"database_url": PG_URL, "database_schema": pg_schema}
    env = serve_env(tmp_path / "data", tmp_path, lookup_cache_seconds="300", **database)
    process, base = start_serve(env, tmp_path / "serve.log", "--workers", "2")
    try:
        created = _cli(env, "keys", "create", "--project", "default/default", "--json")
        key = json.loads(created.stdout)
        before = [_status(base, key["key"]) for _ in range(30)]
        assert before == [200] * 30
        _cli(env, "keys", "revoke", key["id"])
        after = [_status(base, key["key"]) for _ in range(30)]
        assert after == [401] * 30
    finally:
        stop_serve(process)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [PIXVAULT, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done


def _status(base: str, key: str) -> int:
    headers = {"X-API-Key": key, "Connection": "close"}
    return httpx.get(f"{base}/api/v1/images", headers=headers).status_code
