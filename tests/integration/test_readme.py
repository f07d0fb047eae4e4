"""README's walk-through, pasted as it is into a shell beside a real `pixvault serve`."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.s3 import free_port, stop_process, wait_until_answers
from tests.serve_process import PIXVAULT

ROOT = Path(__file__).resolve().parents[2]


def json_values(text: str) -> list[Any]:
    """The JSON documents curl printed one after another (its answers end without a newline)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while at < len(text.rstrip()):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
        while at < len(text) and text[at].isspace():
            at += 1
    return values


def walk_through() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Walk-through\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the walk-through has no sh block"
    return block.group(1)


@pytest.mark.skipif(shutil.which("jq") is None, reason="the walk-through uses jq (not installed)")
def test_the_walk_through_works_when_pasted(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXVAULT_")}
    env |= {"PIXVAULT_DATA_DIR": str(tmp_path / "data"), "PIXVAULT_PORT": str(port)}
    # The walk-through names `.venv/bin/...` relative to the checkout it runs in.
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    server = subprocess.Popen(
        [PIXVAULT, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_answers(server, f"http://127.0.0.1:{port}/health", 60, "pixvault serve")
        script = walk_through().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        stop_process(server)
    assert done.returncode == 0, done.stderr
    image_id, _, rest = done.stdout.partition("\n")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", image_id)
    answers = json_values(rest)  # list, get, focal point, alias, delete
    assert len(answers) == 5
    assert all(answer["success"] is True for answer in answers), answers
    assert answers[0]["data"][0]["id"] == image_id
    assert answers[1]["data"]["id"] == answers[2]["data"]["id"] == image_id
    assert answers[2]["data"]["focalPoint"] == {"x": 0.7, "y": 0.3}
    assert answers[3]["data"]["alias"] == "@hero-2"
    assert answers[4] == {"success": True, "data": {"id": image_id}, "message": "Image deleted"}
    assert (tmp_path / "a.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    webp = (tmp_path / "b.webp").read_bytes()
    assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP"
    assert (tmp_path / "c.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
