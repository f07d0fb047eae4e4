"""The management commands as people meet them: lists (tables and --json), errors, revoking
keys by a prefix of their id, and --help."""

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pixvault.cli import app


@pytest.fixture
def pv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run `pixvault ARGS` in-process on a fresh SQLite instance under tmp_path."""
    for name in [n for n in os.environ if n.startswith("PIXVAULT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PIXVAULT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no .env of the checkout's
    runner = CliRunner()

    def run(*args: str, code: int = 0, columns: int = 80) -> Result:
        result = runner.invoke(app, list(args), env={"COLUMNS": str(columns)})
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    run("init")
    return run


def made_key(pv, *args: str) -> dict:
    return json.loads(pv("keys", "create", *args, "--json").stdout)


def test_projects_list_json_shows_ids_and_paths(pv):
    created = json.loads(pv("projects", "create", "acme-corporation/main-website", "--json").stdout)
    listed = json.loads(pv("projects", "list", "--json").stdout)
    assert [p["path"] for p in listed] == ["default/default", "acme-corporation/main-website"]
    assert listed[1] == {
        "id": created["id"],
        "org": "acme-corporation",
        "slug": "main-website",
        "path": "acme-corporation/main-website",
        "vaultId": created["vaultId"],
    }


def test_keys_list_json_names_each_keys_project(pv):
    pv("projects", "create", "acme/site")
    key = made_key(pv, "--project", "acme/site", "--label", "deploy")
    master = made_key(pv, "--kind", "master")
    listed = {k["id"]: k for k in json.loads(pv("keys", "list", "--json").stdout)}
    assert len(listed) == 3  # and the first key `init` made
    assert listed[key["id"]]["project"] == "acme/site"
    assert listed[key["id"]]["projectId"] == key["projectId"]
    assert (listed[key["id"]]["label"], listed[key["id"]]["revokedAt"]) == ("deploy", None)
    assert listed[master["id"]]["project"] is None
    only = json.loads(pv("keys", "list", "--project", "acme/site", "--json").stdout)
    assert [k["id"] for k in only] == [key["id"]]


def test_users_list_json_names_their_projects(pv):
    pv("users", "create", "--email", "ann@example.com", "--password", "s3cret-pw")
    [user] = json.loads(pv("users", "list", "--json").stdout)
    assert user["projects"] == ["default/default"]


def test_tables_show_whole_ids_and_project_paths_in_80_columns(pv):
    pv("projects", "create", "acme-corporation/main-website")
    key = made_key(pv, "--project", "acme-corporation/main-website", "--label", "a long label")
    project = json.loads(pv("projects", "list", "--json").stdout)[1]
    keys_table = pv("keys", "list").stdout
    assert key["id"] in keys_table
    assert "acme-corporation/main-website" in keys_table
    assert key["projectId"] not in keys_table  # the project's name, not its id
    projects_table = pv("projects", "list").stdout
    assert project["id"] in projects_table and project["vaultId"] in projects_table
    pv("users", "create", "--email", "a-rather-long-address@example.com", "--password", "pw1234")
    user = json.loads(pv("users", "list", "--json").stdout)[0]
    users_table = pv("users", "list").stdout
    assert user["id"] in users_table and "default/default" in users_table


def test_revoke_by_a_unique_prefix_of_the_id(pv):
    key = made_key(pv, "--label", "doomed", "--project", "default/default")
    others = [k["id"] for k in json.loads(pv("keys", "list", "--json").stdout)]
    # The shortest start of the id no other key's id shares (UUIDv7 ids share their time).
    length = next(n for n in range(1, 37) if sum(i.startswith(key["id"][:n]) for i in others) == 1)
    revoked = pv("keys", "revoke", key["id"][:length])
    assert revoked.stdout.strip() == f"Revoked key {key['id']}"
    listed = {k["id"]: k for k in json.loads(pv("keys", "list", "--json").stdout)}
    assert listed[key["id"]]["revokedAt"] is not None
    assert sum(k["revokedAt"] is not None for k in listed.values()) == 1


def test_revoke_without_dashes_and_in_capitals(pv):
    key = made_key(pv, "--project", "default/default")
    done = json.loads(pv("keys", "revoke", key["id"].replace("-", "").upper(), "--json").stdout)
    assert (done["id"], done["alreadyRevoked"]) == (key["id"], False)


def test_revoke_by_an_ambiguous_prefix_is_refused_naming_the_matches(pv):
    first = made_key(pv, "--project", "default/default")
    second = made_key(pv, "--project", "default/default")
    shared = next(
        first["id"][:n] for n in range(36, 0, -1) if second["id"].startswith(first["id"][:n])
    )
    refused = pv("keys", "revoke", shared, code=1)
    assert refused.stdout == ""
    line = refused.stderr.strip()
    assert line.startswith(f"error: Key id prefix {shared!r} matches ")
    assert first["id"] in line and second["id"] in line
    assert line.endswith("give more of the id")
    assert all(k["revokedAt"] is None for k in json.loads(pv("keys", "list", "--json").stdout))


def test_revoke_by_an_unknown_prefix_is_refused(pv):
    refused = pv("keys", "revoke", "ffff", code=1)
    assert refused.stderr.strip() == (
        "error: No API key id is or starts with 'ffff'; list the keys for it"
    )


def test_revoke_by_something_not_hex_is_refused(pv):
    refused = pv("keys", "revoke", "sk_abc", code=1)
    assert refused.stderr.strip() == (
        "error: keyId must be a key id or the start of one (hex digits), got 'sk_abc'"
    )


def test_revoking_twice_says_it_was_already_revoked_and_succeeds(pv):
    key = made_key(pv, "--project", "default/default")
    pv("keys", "revoke", key["id"])
    again = pv("keys", "revoke", key["id"])
    assert again.stdout.startswith(f"Key {key['id']} was already revoked (at ")
    as_json = json.loads(pv("keys", "revoke", key["id"], "--json").stdout)
    assert as_json["alreadyRevoked"] is True
    listed = {k["id"]: k for k in json.loads(pv("keys", "list", "--json").stdout)}
    assert as_json["revokedAt"] == listed[key["id"]]["revokedAt"]  # the first revocation's


def test_errors_of_list_commands_go_to_stderr_with_exit_1(pv):
    missing = pv("keys", "list", "--project", "nope/none", "--json", code=1)
    assert missing.stdout == ""
    assert missing.stderr.startswith("error: ") and "nope/none" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_help_shows_defaults_and_environment_variables(pv):
    upload = pv("upload", "--help", columns=250).stdout
    for shown in (
        "[env var: PIXVAULT_SERVER]",
        "[default: http://127.0.0.1:8000]",
        "[env var: PIXVAULT_KEY]",
        "[env var: PIXVAULT_UPLOAD_CONCURRENCY]",
        "[default: 4]",
    ):
        assert shown in " ".join(upload.split()), shown
    keys = " ".join(pv("keys", "create", "--help", columns=250).stdout.split())
    assert "[default: secret]" in keys
    top = " ".join(pv("--help", columns=250).stdout.split())
    assert "PIXVAULT_DATA_DIR (default ./data)" in top and "PIXVAULT_DATABASE_URL" in top
    serve = " ".join(pv("serve", "--help", columns=250).stdout.split())
    assert "(default: PIXVAULT_PORT, else 8000)" in serve and "[default: 1]" in serve
    gc = " ".join(pv("gc", "--help", columns=250).stdout.split())
    assert "(default: PIXVAULT_GC_GRACE_SECONDS, else 1h)" in gc


def test_a_malformed_project_path_is_one_line_not_a_traceback(pv):
    refused = pv("projects", "create", "noslash", "--json", code=1)
    assert refused.stdout == ""
    assert refused.stderr.strip() == "error: Expected ORG/PROJECT, got 'noslash'"
