"""A real `pixvault serve` process for the schema fuzzer, with a credential of every kind the
spec names: a project's secret key, a master key, and a Slink user's access token."""

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from pixvault.config import Settings
from pixvault.services.core import build_core, initialise
from tests.serve_process import serve_env, start_serve, stop_serve


@dataclass
class Fuzzed:
    base: str
    secret: str
    master: str
    token: str
    vault_id: str

    def credentials(self, operation: dict[str, Any]) -> dict[str, str]:
        """The headers an operation's documented security asks for: a user's token, the
        master key for admin routes, else the project's secret key."""
        names = {name for option in operation.get("security", []) for name in option}
        if "SlinkToken" in names:
            return {"Authorization": f"Bearer {self.token}"}
        if "ApiKey" in names:
            admin = "admin" in operation.get("tags", [])
            return {"X-API-Key": self.master if admin else self.secret}
        return {}


@contextmanager
def fuzz_target(data_dir: Path, database_url: str | None = None) -> Iterator[Fuzzed]:
    """Serve on a scratch data directory (and PostgreSQL schema, when given); stopped by the
    PID of the process this started."""
    env = serve_env(data_dir, GUEST_UPLOADS="true")
    schema = None
    if database_url:
        schema = "fz_" + uuid.uuid4().hex[:12]
        _sql(database_url, f"CREATE SCHEMA {schema}")
        env |= {"PIXVAULT_DATABASE_URL": database_url, "PIXVAULT_DATABASE_SCHEMA": schema}
    secret, master = asyncio.run(_prepare(data_dir, database_url, schema))
    process, base = start_serve(env, data_dir.parent / "serve.log")
    try:
        account = {"email": "f@example.com", "username": "fuzz", "password": "fuzz-pass-123"}
        signed = httpx.post(f"{base}/api/auth/signup", json={**account, "confirm": "fuzz-pass-123"})
        assert signed.status_code == 201, signed.text
        tokens = httpx.post(f"{base}/api/auth/login", json=account).json()
        headers = {"X-API-Key": master}
        projects = httpx.get(f"{base}/api/v1/admin/projects", headers=headers).json()["data"]
        vault_id = next(p["vaultId"] for p in projects if p["org"] == p["slug"] == "default")
        yield Fuzzed(base, secret, master, tokens["access_token"], vault_id)
    finally:
        stop_serve(process)
        if database_url and schema:
            _sql(database_url, f"DROP SCHEMA {schema} CASCADE")


async def _prepare(data_dir: Path, database_url: str | None, schema: str | None) -> tuple[str, str]:
    """Initialise the instance as `serve` would, with a secret key and a master key."""
    options: dict[str, Any] = {"data_dir": data_dir}
    if database_url:
        options |= {"database_url": database_url, "database_schema": schema}
    core = build_core(Settings(_env_file=None, **options))
    try:
        started = await initialise(core)
        secret = await core.keys.issue("secret", started.project.id, label="fuzz")
        master = await core.keys.issue("master", label="fuzz")
        return secret.secret, master.secret
    finally:
        await core.close()


def _sql(url: str, statement: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())
