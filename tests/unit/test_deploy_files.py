"""The Dockerfile, compose.yaml and systemd units refer only to things that exist.

No Docker engine runs here, so the image is not built: what can be proven without one is.
Every file the image copies exists and passes .dockerignore; every `PIXVAULT_*` variable
they set is a setting and its value is accepted; every command they run is a `pixvault`
command with options it takes; the image's health check, run for real against a `pixvault
serve` process, passes while it is ready and fails when it is gone; compose's services,
volumes, credentials, bucket and ports agree with each other; the units pass
`systemd-analyze verify`.
"""

import fnmatch
import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import typer
import yaml

from pixvault.app import create_app
from pixvault.cli import app as cli_app
from pixvault.config import Settings
from tests.s3 import free_port, stop_process, wait_until_answers

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ["pixvault.service", "pixvault-gc.service", "pixvault-gc.timer"]


# -- reading the files ---------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    joined = re.sub(r"\\\n(\s*#.*\n)*", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), " ".join(rest.split())))
    return found


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile()
    last = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last:]


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list), f"use the exec form (a JSON list): {arguments}"
    return value


def docker_env(arguments: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in shlex.split(arguments))


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def interpolated(value: object) -> str:
    """A compose value as compose sees it with no .env: `${VAR:-default}` → default, `$$` → $."""
    text = str(value)
    assert re.search(r"\$\{[^}]*\}", re.sub(r"\$\{\w+:-[^}]*\}", "", text)) is None, text
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text).replace("$$", "$")


def service_env(service: dict[str, Any]) -> dict[str, str]:
    return {k: interpolated(v) for k, v in service.get("environment", {}).items()}


def unit(name: str) -> dict[str, list[tuple[str, str]]]:
    """Sections of a systemd unit as lists of (key, value): keys may repeat."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in (DEPLOY / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
        else:
            assert current is not None, f"{name}: {line!r} before any section"
            key, sep, value = line.partition("=")
            assert sep, f"{name}: {line!r} is not KEY=VALUE"
            current.append((key, value))
    return sections


# -- what they must refer to ---------------------------------------------------------------


def assert_settings(env: dict[str, str], where: str) -> None:
    """Every PIXVAULT_* variable is a setting, and Settings accepts the values given."""
    ours = {k: v for k, v in env.items() if k.startswith("PIXVAULT_")}
    for name in ours:
        field = name.removeprefix("PIXVAULT_").lower()
        assert field in Settings.model_fields, f"{where}: {name} is not a pixvault setting"
    settings = Settings(
        _env_file=None, **{k.removeprefix("PIXVAULT_").lower(): v for k, v in ours.items()}
    )
    for name, value in ours.items():
        got = getattr(settings, name.removeprefix("PIXVAULT_").lower())
        assert str(got).lower() == value.lower() or str(got) == str(Path(value)), (name, got)


def assert_pixvault_command(argv: list[str], where: str) -> None:
    """`argv` is `pixvault COMMAND [OPTIONS]` that the command line parses."""
    program, *args = argv
    assert Path(program).name == "pixvault", f"{where}: runs {program}, not pixvault"
    group = typer.main.get_command(cli_app)
    context = group.make_context("pixvault", list(args), resilient_parsing=False)
    name, command, rest = group.resolve_command(context, list(args))
    assert command is not None, f"{where}: pixvault has no command {args[0]!r}"
    command.make_context(name or "", list(rest))  # raises on an unknown option or bad value


def test_the_pixvault_program_is_the_project_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["pixvault"].partition(":")
    assert callable(getattr(importlib.import_module(module), name))


# -- Dockerfile ----------------------------------------------------------------------------


def test_every_copied_file_exists_and_reaches_the_builder() -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    ignored = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith(("#", "!"))
    ]
    assert ignored[0] == "*", ".dockerignore starts from nothing and lists what is sent"
    copies = [args.split() for word, args in dockerfile() if word == "COPY"]
    sources = [s for parts in copies if not parts[0].startswith("--") for s in parts[:-1]]
    assert sources, "the Dockerfile copies nothing"
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
        assert any(source == a or source.startswith(f"{a}/") for a in allowed), (
            f"COPY {source}: .dockerignore keeps it out of the build context"
        )
    # What is sent holds no local state or secrets.
    for kept in ("src/pixvault/cli.py", "uv.lock"):
        assert not any(fnmatch.fnmatch(kept, p) for p in ignored[1:])


def test_the_image_is_slim_and_runs_as_a_user_with_no_privileges() -> None:
    bases = [args for word, args in dockerfile() if word == "FROM"]
    assert all(re.match(r"python:3\.1[1-9]-slim\b", b) for b in bases), bases
    users = [args for word, args in final_stage() if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert users[-1].split(":")[0].isdigit(), "a numeric uid (Kubernetes runAsNonRoot checks it)"
    useradd = next(args for word, args in final_stage() if word == "RUN" and "useradd" in args)
    assert f"--uid {users[-1].split(':')[0]}" in useradd


def test_the_image_installs_frozen_from_the_lock_without_test_tools() -> None:
    runs = [args for word, args in dockerfile() if word == "RUN"]
    syncs = [r for r in runs if r.startswith("uv sync")]
    assert syncs and all("--frozen" in r and "--extra" not in r for r in syncs)
    assert any("--require-hashes" in r and "bootstrap.txt" in r for r in runs)


def test_the_image_settings_are_real_settings() -> None:
    env: dict[str, str] = {}
    for word, args in final_stage():
        if word == "ENV":
            env |= docker_env(args)
    assert env["PIXVAULT_HOST"] == "0.0.0.0"
    assert_settings(env, "Dockerfile")
    exposed = [args for word, args in final_stage() if word == "EXPOSE"]
    assert exposed == [env["PIXVAULT_PORT"]]


def test_the_image_command_is_pixvault_serve() -> None:
    stage = final_stage()
    entrypoint = exec_form(next(a for w, a in stage if w == "ENTRYPOINT"))
    command = exec_form(next(a for w, a in stage if w == "CMD"))
    assert entrypoint + command == ["pixvault", "serve"]
    assert_pixvault_command(entrypoint + command, "Dockerfile")
    # The commands its header comment suggests (`docker run ... pixvault gc`) exist too.
    assert_pixvault_command(["pixvault", "gc"], "Dockerfile comment")


def healthcheck() -> list[str]:
    args = next(a for w, a in final_stage() if w == "HEALTHCHECK")
    return exec_form(args.partition(" CMD ")[2])


def test_the_health_check_asks_the_readiness_route() -> None:
    assert "/ready" in create_app(Settings(_env_file=None)).openapi()["paths"]
    assert "/ready" in " ".join(healthcheck())


def test_the_health_check_passes_while_ready_and_fails_when_down(tmp_path: Path) -> None:
    """The HEALTHCHECK command itself, run against a real `pixvault serve`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXVAULT_")}
    env |= {"PIXVAULT_DATA_DIR": str(tmp_path / "data"), "PIXVAULT_PORT": str(port)}
    program, *args = healthcheck()
    assert program == "python"
    check = [sys.executable, *args]
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("pixvault")), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_answers(server, f"http://127.0.0.1:{port}/health", 60, "pixvault serve")
        ready = subprocess.run(check, env=env, capture_output=True, timeout=30, check=False)
        assert ready.returncode == 0, ready.stderr
    finally:
        stop_process(server)
    down = subprocess.run(check, env=env, capture_output=True, timeout=30, check=False)
    assert down.returncode != 0


# -- compose.yaml --------------------------------------------------------------------------


def test_compose_services_refer_to_things_that_exist() -> None:
    spec = compose()
    services = spec["services"]
    assert {"pixvault", "postgres", "minio", "bucket"} <= set(services)
    declared = set(spec.get("volumes", {}))
    for name, service in services.items():
        depends = service.get("depends_on", {})
        for other, condition in depends.items():
            assert other in services, f"{name} depends on a service {other!r} not defined"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[other], f"{other} has no health check"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith(("/", ".")) or source in declared, (name, source)
    build = services["pixvault"]["build"]
    assert (ROOT / build / "Dockerfile").is_file()


def test_compose_pixvault_settings_are_real_and_agree_with_the_other_services() -> None:
    services = compose()["services"]
    env = service_env(services["pixvault"])
    assert_settings(env, "compose.yaml")

    database = urlparse(env["PIXVAULT_DATABASE_URL"])
    postgres = service_env(services["postgres"])
    assert database.scheme == "postgresql" and database.hostname == "postgres"
    assert (database.username, database.password, database.path.lstrip("/")) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    assert database.port == 5432

    minio = service_env(services["minio"])
    endpoint = urlparse(env["PIXVAULT_S3_ENDPOINT"])
    assert endpoint.hostname == "minio" and endpoint.port == 9000
    assert (env["PIXVAULT_S3_ACCESS_KEY_ID"], env["PIXVAULT_S3_SECRET_ACCESS_KEY"]) == (
        minio["MINIO_ROOT_USER"],
        minio["MINIO_ROOT_PASSWORD"],
    )
    assert env["PIXVAULT_S3_ALLOW_HTTP"] == "true"  # the endpoint is http://

    # The bucket service creates the bucket PIXVAULT_STORAGE_URL names, with minio's keys.
    bucket = urlparse(env["PIXVAULT_STORAGE_URL"])
    creator = services["bucket"]
    script = " ".join(interpolated(part) for part in creator["command"])
    assert re.search(rf"mc mb --ignore-existing local/{bucket.hostname}(\s|$)", script), script
    assert "http://minio:9000" in script
    assert service_env(creator) == {k: minio[k] for k in service_env(creator)}


def test_compose_publishes_the_port_pixvault_listens_on() -> None:
    image_env: dict[str, str] = {}
    for word, args in final_stage():
        if word == "ENV":
            image_env |= docker_env(args)
    ports = compose()["services"]["pixvault"]["ports"]
    assert any(str(p).rsplit(":", 1)[1] == image_env["PIXVAULT_PORT"] for p in ports)


def test_compose_runs_the_image_command_unchanged() -> None:
    pixvault = compose()["services"]["pixvault"]
    command = pixvault.get("command", ["serve"])
    assert_pixvault_command(["pixvault", *command], "compose.yaml")


# -- systemd -------------------------------------------------------------------------------


def test_the_units_run_pixvault_commands_with_real_settings() -> None:
    for name in UNITS[:2]:
        service = dict(unit(name)["Service"])
        assert_pixvault_command(shlex.split(service["ExecStart"]), name)
        env = dict(
            value.split("=", 1) for key, value in unit(name)["Service"] if key == "Environment"
        )
        assert_settings(env, name)
        assert service["User"] == "pixvault" and service["NoNewPrivileges"] == "yes"
    timer = unit("pixvault-gc.timer")
    assert "OnCalendar" in dict(timer["Timer"])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """With ExecStart pointed at this checkout's pixvault (verify wants it to exist)."""
    venv = str(Path(sys.executable).parent.parent)
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace("/opt/pixvault/.venv", venv)
        (tmp_path / name).write_text(text)
    verified = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / n) for n in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    complaints = [
        line
        for line in (verified.stdout + verified.stderr).splitlines()
        if str(tmp_path) in line or "Unknown" in line
    ]
    assert verified.returncode == 0 and complaints == [], verified.stdout + verified.stderr
