"""Fixtures: every database test runs on SQLite and, when configured, on PostgreSQL.

PostgreSQL variants use `PIXVAULT_TEST_DATABASE_URL`; each test gets a fresh schema. Without
the variable they skip, unless `PIXVAULT_REQUIRE_POSTGRES=1` (CI), where they fail instead.
"""

import gc
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from pixvault.app import create_app
from pixvault.config import Settings
from pixvault.services.core import Core, InitResult, build_core, initialise

PG_URL = os.environ.get("PIXVAULT_TEST_DATABASE_URL")
REQUIRE_PG = os.environ.get("PIXVAULT_REQUIRE_POSTGRES") == "1"


def pytest_sessionfinish() -> None:
    """The interpreter's last collections at exit would walk every object the suite left
    (~2 GB by the end: about a minute); nothing needs collecting once the session is over."""
    gc.freeze()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not PG_URL:
        if REQUIRE_PG:
            pytest.fail("PIXVAULT_REQUIRE_POSTGRES=1 but PIXVAULT_TEST_DATABASE_URL is unset")
        pytest.skip("PostgreSQL variant: set PIXVAULT_TEST_DATABASE_URL to run it")
    return request.param


@pytest.fixture
async def pg_schema(backend: str) -> AsyncIterator[str | None]:
    if backend != "postgres":
        yield None
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    try:
        conn = await asyncpg.connect(PG_URL)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at {PG_URL} is unreachable: {exc}")
    await conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


def make_settings(
    tmp_path: Path, backend: str, schema: str | None, **overrides: object
) -> Settings:
    values: dict[str, object] = {"data_dir": tmp_path / "data", "public_url": "http://cdn.test"}
    if backend == "postgres":
        values |= {"database_url": PG_URL, "database_schema": schema}
    return Settings(_env_file=None, **(values | overrides))


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {}


@pytest.fixture
def settings(
    tmp_path: Path, backend: str, pg_schema: str | None, settings_overrides: dict[str, object]
) -> Settings:
    return make_settings(tmp_path, backend, pg_schema, **settings_overrides)


@pytest.fixture
async def started(settings: Settings) -> AsyncIterator[tuple[Core, InitResult]]:
    core = build_core(settings)
    result = await initialise(core)
    try:
        yield core, result
    finally:
        await core.close()


@pytest.fixture
def core(started: tuple[Core, InitResult]) -> Core:
    return started[0]


@pytest.fixture
def secret_key(started: tuple[Core, InitResult]) -> str:
    issued = started[1].first_key
    assert issued is not None
    return issued.secret


@pytest.fixture
async def client(core: Core) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(core.settings, core=core))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def api(client: httpx.AsyncClient, secret_key: str) -> httpx.AsyncClient:
    client.headers["X-API-Key"] = secret_key
    return client


# -- S3 (moto) -----------------------------------------------------------------------------

from collections.abc import Iterator  # noqa: E402

from tests.s3 import MotoServer, start_moto  # noqa: E402


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One moto S3 server for the session, stopped by PID at the end."""
    server = start_moto()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(moto_server: MotoServer) -> str:
    """A fresh, empty bucket per test."""
    return moto_server.new_bucket()
