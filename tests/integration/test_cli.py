"""The `pixvault` command's exact JSON contract, run as a real process."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.serve_process import PIXVAULT


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIXVAULT_DATA_DIR": str(tmp_path / "data")}
    env.pop("PIXVAULT_DATABASE_URL", None)
    return subprocess.run(
        [PIXVAULT, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_init_is_idempotent_and_prints_the_first_key_once(tmp_path):
    first = run(tmp_path, "init")
    assert first.returncode == 0, first.stderr
    assert "sk_" in first.stdout
    second = run(tmp_path, "init")
    assert second.returncode == 0
    assert "sk_" not in second.stdout


def test_projects_and_keys_json_contract(tmp_path):
    created = run(tmp_path, "projects", "create", "acme/site", "--json")
    assert created.returncode == 0, created.stderr
    project = json.loads(created.stdout)
    assert set(project) == {"id", "org", "slug", "vaultId"}
    assert (project["org"], project["slug"]) == ("acme", "site")
    key = json.loads(run(tmp_path, "keys", "create", "--project", "acme/site", "--json").stdout)
    assert set(key) == {"id", "key", "kind", "projectId"}
    assert key["kind"] == "secret" and key["key"].startswith("sk_")
    assert key["projectId"] == project["id"]
    public = json.loads(
        run(
            tmp_path, "keys", "create", "--project", "acme/site", "--kind", "public", "--json"
        ).stdout
    )
    assert public["key"].startswith("pk_")
    master = json.loads(run(tmp_path, "keys", "create", "--kind", "master", "--json").stdout)
    assert master["key"].startswith("mk_") and master["projectId"] is None
    revoked = run(tmp_path, "keys", "revoke", key["id"])
    assert revoked.returncode == 0
    assert "yes" in run(tmp_path, "keys", "list").stdout


def test_errors_are_reported_without_a_traceback(tmp_path):
    duplicate = run(tmp_path, "projects", "create", "api/site", "--json")
    assert duplicate.returncode == 1
    assert "reserved" in duplicate.stderr  # errors go to stderr, so --json output stays clean
    assert duplicate.stdout == ""
    assert "Traceback" not in duplicate.stderr


def test_users_and_user_keys_json_contract(tmp_path):
    created = run(
        tmp_path, "users", "create", "--email", "Ann@Example.com", "--password", "s3cret-pw",
        "--username", "ann", "--display-name", "Ann A", "--admin", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    user = json.loads(created.stdout)
    assert set(user) == {"id", "email", "username", "displayName", "projectId"}
    assert (user["email"], user["username"], user["displayName"]) == (
        "ann@example.com", "ann", "Ann A",
    )  # fmt: skip
    again = run(tmp_path, "users", "create", "--email", "ann@example.com", "--password", "x1y2z3")
    assert again.returncode == 1
    assert "already registered" in again.stderr
    key = json.loads(
        run(
            tmp_path, "keys", "create", "--user", "ann@example.com", "--kind", "secret", "--json"
        ).stdout
    )
    assert key["key"].startswith("sk_")
    assert (key["userId"], key["projectId"]) == (user["id"], user["projectId"])
    listed = json.loads(run(tmp_path, "users", "list", "--json").stdout)
    assert [u["email"] for u in listed] == ["ann@example.com"]
    assert listed[0]["admin"] is True
    deleted = run(tmp_path, "users", "delete", "ann@example.com")
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(run(tmp_path, "users", "list", "--json").stdout) == []
    missing = run(tmp_path, "users", "delete", "ann@example.com")
    assert missing.returncode == 1
    assert "not found" in missing.stderr


# The server's heavy imports, by what they cost a command that does not need them.
DATABASE = ("sqlalchemy", "pixvault.services", "pixvault.db")
SERVER = ("alembic", "uvicorn", "fastapi", "jinja2", "pixvault.app", "pixvault.server")


def _loaded_after(tmp_path: Path, *args: str) -> tuple[str, set[str]]:
    """Run `pixvault ARGS` in a fresh interpreter: what it printed, and which of the heavy
    modules (DATABASE, SERVER, pyvips) it had loaded by the end."""
    heavy = (*DATABASE, *SERVER, "pyvips")
    probe = (
        "import sys\n"
        "from pixvault.cli_launch import main\n"
        f"sys.argv = ['pixvault', *{list(args)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('HEAVY', ','.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    env = {**os.environ, "PIXVAULT_DATA_DIR": str(tmp_path / "data")}
    env.pop("PIXVAULT_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    printed, loaded = done.stdout.rsplit("HEAVY ", 1)
    return printed, set(filter(None, loaded.strip().split(",")))


def test_upload_starts_without_the_servers_imports(tmp_path):
    """`pixvault upload` only talks HTTP: the executable runs it without loading the
    database, migrations or pyvips (a second or more of start-up)."""
    printed, loaded = _loaded_after(tmp_path, "upload", "--help")
    assert "Usage: pixvault upload" in printed
    assert loaded == set()
    listed = run(tmp_path, "--help")
    assert listed.returncode == 0 and "upload" in listed.stdout


def test_help_loads_neither_the_server_nor_the_database(tmp_path):
    printed, loaded = _loaded_after(tmp_path, "--help")
    assert "Usage: pixvault" in printed and "serve" in printed
    assert loaded == set()


def test_commands_on_a_current_database_load_neither_the_server_nor_alembic(tmp_path):
    """Only `serve` loads the web app, and only a database behind this version loads
    Alembic: a command on a current one reads the revision with one query."""
    assert run(tmp_path, "init").returncode == 0
    printed, loaded = _loaded_after(tmp_path, "projects", "list", "--json")
    assert json.loads(printed)[0]["path"] == "default/default"
    assert "sqlalchemy" in loaded
    assert loaded.isdisjoint(SERVER)
