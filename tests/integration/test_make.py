"""How `make` prepares .venv (scripts/ensure-venv), run in a scratch copy of the project with a
stand-in `uv` that records its calls and stand-in interpreters: no download, no install."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REAL_UV = Path(sys.executable).with_name("uv")
LOGGING_UV = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/calls"
"""


def project_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    (copy / "scripts").mkdir(parents=True)
    (copy / "requirements").mkdir()
    for name in ("Makefile", "pyproject.toml", "uv.lock", "scripts/ensure-venv"):
        shutil.copy2(ROOT / name, copy / name)
    shutil.copy2(ROOT / "requirements/bootstrap.txt", copy / "requirements/bootstrap.txt")
    return copy


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def old_python(tmp_path: Path) -> Path:
    """An interpreter that says it is Python 3.9 (and so fails the version check)."""
    script = '#!/bin/sh\n[ "$1" = -V ] && echo Python 3.9.18 && exit 0\nexit 1\n'
    return executable(tmp_path / "old" / "python3.9", script)


def fresh_venv(project: Path) -> None:
    """A real venv of this interpreter, made in a moment (no pip)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", project / ".venv"], check=True)


def ensure(project: Path, profile: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/ensure-venv", profile],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def uv_calls(uv: Path) -> list[str]:
    calls = uv.with_name("calls")
    return calls.read_text().splitlines() if calls.exists() else []


def test_min_python_is_pyprojects_requires_python():
    script = (ROOT / "scripts/ensure-venv").read_text()
    wanted = re.search(r"^MIN_PYTHON=(\S+)", script, re.M)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert wanted is not None
    assert project["requires-python"] == f">={wanted.group(1)}"


def test_a_too_old_python_is_refused_with_the_fix(tmp_path):
    project = project_copy(tmp_path)
    done = subprocess.run(
        ["make", "venv", f"PYTHON={old_python(tmp_path)}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert (
        f"ensure-venv: pixvault needs Python 3.11 or newer, and {old_python(tmp_path)} is "
        "Python 3.9.18: install one and run e.g. `make PYTHON=python3.12 ...`"
    ) in done.stderr
    assert "Traceback" not in done.stderr
    assert not (project / ".venv").exists()


def test_a_venv_of_an_old_or_vanished_python_is_rebuilt(tmp_path):
    project = project_copy(tmp_path)
    uv = executable(tmp_path / "uv", LOGGING_UV)
    venv = project / ".venv"
    # A venv whose interpreter was removed (a pyenv version uninstalled) ...
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("version = 3.9.18\n")
    (venv / "bin/python").symlink_to(tmp_path / "gone/python3.9")
    (venv / "leftover").write_text("")
    done = ensure(project, "none", PYTHON=sys.executable, UV=str(uv))
    assert done.returncode == 0, done.stderr
    assert (
        "ensure-venv: .venv was made by Python 3.9.18 whose interpreter is gone or older than "
        f"3.11: rebuilding it with {sys.executable}"
    ) in done.stderr
    assert not (venv / "leftover").exists()
    version = subprocess.run(
        [venv / "bin/python", "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == str(sys.version_info[:2])
    # ... and one whose interpreter runs but is too old.
    shutil.rmtree(venv / "bin")
    executable(venv / "bin/python", old_python(tmp_path).read_text())
    done = ensure(project, "none", PYTHON=sys.executable, UV=str(uv))
    assert done.returncode == 0, done.stderr
    assert "rebuilding it" in done.stderr
    assert subprocess.run([venv / "bin/python", "-c", "pass"], check=False).returncode == 0


def other_python() -> str | None:
    """Another Python 3.11+ than this one that runs, if the machine has one (pyenv's shims
    exist for versions that are not enabled, so each candidate is tried)."""
    pyenv = Path.home() / ".pyenv/versions"
    for minor in range(11, 16):
        if (3, minor) == sys.version_info[:2]:
            continue
        candidates = [shutil.which(f"python3.{minor}"), *pyenv.glob(f"3.{minor}.*/bin/python3")]
        for found in filter(None, candidates):
            if subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0:
                return str(found)
    return None


@pytest.mark.skipif(other_python() is None, reason="no second Python 3.11+ on this machine")
def test_make_python_rebuilds_a_venv_of_another_version(tmp_path):
    project = project_copy(tmp_path)
    uv = executable(tmp_path / "uv", LOGGING_UV)
    fresh_venv(project)
    wanted = other_python()
    env = {**os.environ, "UV": str(uv)}
    # Without PYTHON= the venv is kept as it is ...
    kept = subprocess.run(
        ["make", "venv"], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert kept.returncode == 0, kept.stderr
    assert "rebuilding" not in kept.stderr
    # ... and `make PYTHON=...` asks for that Python.
    done = subprocess.run(
        ["make", "venv", f"PYTHON={wanted}"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    have = f"{sys.version_info[0]}.{sys.version_info[1]}"
    want = subprocess.run(
        [wanted, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert f"ensure-venv: .venv is Python {have}, PYTHON={wanted} is {want}: rebuilding it" in (
        done.stderr
    )
    assert f"version = {want}" in (project / ".venv/pyvenv.cfg").read_text()
    broken = executable(tmp_path / "broken/python3.13", "#!/bin/sh\nexit 127\n")
    refused = subprocess.run(
        ["make", "venv", f"PYTHON={broken}"], cwd=project, env=env, capture_output=True, text=True
    )
    assert refused.returncode != 0
    assert (
        f"ensure-venv: PYTHON={broken} does not run: name an installed Python 3.11+ or leave "
        "PYTHON out"
    ) in refused.stderr


def test_each_profile_syncs_frozen_once_per_lock(tmp_path):
    project = project_copy(tmp_path)
    uv = executable(tmp_path / "uv", LOGGING_UV)
    fresh_venv(project)
    check = "lock --check --offline --quiet"
    assert ensure(project, "run", UV=str(uv)).returncode == 0
    assert uv_calls(uv) == [check, "sync --frozen --inexact --quiet --compile-bytecode"]
    assert ensure(project, "run", UV=str(uv)).returncode == 0  # stamped: uv is not asked again
    assert ensure(project, "test", UV=str(uv)).returncode == 0
    assert uv_calls(uv)[2:] == [
        check,
        "sync --frozen --inexact --quiet --compile-bytecode --extra test",
    ]
    # A new lock (or pyproject.toml) installs again.
    with (project / "uv.lock").open("a") as lock:
        lock.write("\n")
    assert ensure(project, "test", UV=str(uv)).returncode == 0
    assert uv_calls(uv)[4:] == [
        check,
        "sync --frozen --inexact --quiet --compile-bytecode --extra test",
    ]
    assert len(list((project / ".venv").glob(".synced-test-*"))) == 1


@pytest.mark.skipif(not REAL_UV.exists(), reason="uv is not installed next to this Python")
def test_a_lock_that_does_not_match_pyproject_is_refused(tmp_path):
    project = project_copy(tmp_path)
    fresh_venv(project)
    pyproject = project / "pyproject.toml"
    added = 'dependencies = [\n    "tomli-w==1.2.0",\n'
    pyproject.write_text(pyproject.read_text().replace("dependencies = [\n", added))
    done = ensure(project, "run", UV=str(REAL_UV), UV_CACHE_DIR=str(tmp_path / "cache"))
    assert done.returncode == 1
    assert done.stderr == (
        "ensure-venv: uv.lock does not match pyproject.toml's dependencies: "
        "run `make lock` and commit uv.lock\n"
    )
    assert not list((project / ".venv").glob(".synced-*"))


def test_make_test_prints_skip_reasons_and_run_installs_no_test_tools():
    test = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "scripts/ensure-venv test" in test
    assert re.search(r"^\.venv/bin/pytest -q -rfEs", test, re.M)
    run = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "scripts/ensure-venv run\n" in run
    assert "test" not in run
