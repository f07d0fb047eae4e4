"""Misconfiguration ends in a line or two saying what is wrong and what to change, on stderr
with exit status 1 — never a traceback — and `pixvault check` reports every dependency."""

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import PG_URL
from tests.serve_process import PIXVAULT


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "PIXVAULT_DATABASE_URL"}
    environment |= {"PIXVAULT_DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run(
        [PIXVAULT, *args], env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def refused(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PIXVAULT_DATABASE_URL": "mysql://u@h/db"}, ("PIXVAULT_DATABASE_URL", "postgresql://")),
        ({"PIXVAULT_PORT": "eighty"}, ("PIXVAULT_PORT", "eighty")),
        ({"PIXVAULT_DATA_DIR": "/etc/passwd/data"}, ("PIXVAULT_DATA_DIR",)),
        (
            {"PIXVAULT_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/pixvault"},
            ("connection refused", "PIXVAULT_DATABASE_URL"),
        ),
    ],
)
def test_misconfiguration_is_one_line_that_names_the_fix(tmp_path, env, expected):
    refused(run(tmp_path, "init", **env), *expected)


@pytest.mark.skipif(not PG_URL, reason="needs PIXVAULT_TEST_DATABASE_URL")
def test_a_database_that_does_not_exist_says_how_to_create_it(tmp_path):
    missing = PG_URL.rsplit("/", 1)[0] + "/nope_" + uuid.uuid4().hex[:8]
    refused(run(tmp_path, "init", PIXVAULT_DATABASE_URL=missing), "does not exist", "createdb")


@pytest.mark.skipif(not PG_URL, reason="needs PIXVAULT_TEST_DATABASE_URL")
def test_a_configured_schema_is_created_on_first_use(tmp_path):
    schema = "fresh_" + uuid.uuid4().hex[:8]
    env = {"PIXVAULT_DATABASE_URL": PG_URL, "PIXVAULT_DATABASE_SCHEMA": schema}
    try:
        assert run(tmp_path, "init", **env).returncode == 0
        checked = run(tmp_path, "check", **env)
        assert checked.returncode == 0, checked.stderr
    finally:
        subprocess.run(
            ["psql", PG_URL, "-c", f"DROP SCHEMA IF EXISTS {schema} CASCADE"],
            capture_output=True,
            check=False,
        )


def test_check_reports_every_dependency(tmp_path):
    fresh = run(tmp_path, "check")
    refused(fresh, "pixvault migrate")  # no schema yet: says what to run
    assert run(tmp_path, "init").returncode == 0
    ready = run(tmp_path, "check")
    assert ready.returncode == 0, ready.stderr
    for name in ("database", "schema", "storage"):
        assert f"ok    {name}" in ready.stdout
