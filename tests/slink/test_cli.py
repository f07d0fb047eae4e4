"""The set-up commands the contract names, end to end with the Slink surface: a user made
by `pixvault users create` signs in, and a key made by `pixvault keys create --user` uploads
as that user (real processes on SQLite; the JSON shapes are in tests/integration/test_cli.py)."""

import io
import json
import os
import subprocess
import uuid
from pathlib import Path

import httpx

from pixvault.app import create_app
from pixvault.config import Settings
from pixvault.services.core import build_core
from tests.helpers import jpeg
from tests.serve_process import PIXVAULT


def run(tmp_path: Path, *args: str) -> dict:
    env = {**os.environ, "PIXVAULT_DATA_DIR": str(tmp_path / "data")}
    env.pop("PIXVAULT_DATABASE_URL", None)
    result = subprocess.run(
        [PIXVAULT, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


async def test_a_cli_user_signs_in_and_their_cli_key_uploads_as_them(tmp_path):
    user = run(
        tmp_path, "users", "create", "--email", "ann@example.com", "--password", "s3cret-pass",
        "--username", "ann", "--display-name", "Ann A", "--json",
    )  # fmt: skip
    assert set(user) == {"id", "email", "username", "displayName", "projectId"}
    key = run(tmp_path, "keys", "create", "--user", "ann@example.com", "--kind", "secret", "--json")
    assert key["key"].startswith("sk_")
    core = build_core(Settings(_env_file=None, data_dir=tmp_path / "data"))
    try:
        transport = httpx.ASGITransport(app=create_app(core.settings, core=core))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            signed_in = await http.post(
                "/api/auth/login", json={"username": "ann", "password": "s3cret-pass"}
            )
            assert signed_in.status_code == 200, signed_in.text
            token = signed_in.json()["access_token"]
            me = await http.get("/api/user", headers={"Authorization": f"Bearer {token}"})
            assert me.json()["data"] == {
                "id": user["id"],
                "email": "ann@example.com",
                "username": "ann",
                "displayName": "Ann A",
            }
            response = await http.post(
                "/api/external/upload",
                headers={"Authorization": f"Bearer {key['key']}"},
                files={"image": ("a.jpg", io.BytesIO(jpeg()), "image/jpeg")},
            )
            assert response.status_code == 201, response.text
            project = await core.projects.by_path("default/default")
            image = await core.library.get(project, uuid.UUID(response.json()["id"]))
            assert str(image.owner_id) == user["id"]
            history = await http.get(
                "/api/images/history/1", headers={"Authorization": f"Bearer {token}"}
            )
            assert [i["id"] for i in history.json()["data"]] == [str(image.id)]
    finally:
        await core.close()
