"""Fixtures of the vault (imgbt) surface tests; every test runs on SQLite and PostgreSQL."""

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from pixvault.domain.models import Project
from pixvault.services.core import Core, InitResult
from tests.vaults.support import bearer, sdk_uploaded


@pytest.fixture
def project(started: tuple[Core, InitResult]) -> Project:
    """The default/default project: the vault the first secret key belongs to."""
    return started[1].project


@pytest.fixture
def vault_id(project: Project) -> str:
    return project.vault_id


@pytest.fixture
def sk(secret_key: str) -> str:
    return secret_key


@pytest.fixture
def auth(sk: str) -> dict[str, str]:
    """What the SDK sends on every call."""
    return {**bearer(sk), "Accept": "application/json"}


@pytest.fixture
async def pk(core: Core, project: Project) -> str:
    return (await core.keys.issue("public", project.id)).secret


@pytest.fixture
async def master(core: Core) -> str:
    return (await core.keys.issue("master")).secret


@pytest.fixture
async def other(core: Core) -> tuple[Project, str]:
    """A second vault and a secret key of it."""
    project = await core.projects.create("acme", "other")
    return project, (await core.keys.issue("secret", project.id)).secret


@pytest.fixture
def put(client: httpx.AsyncClient, sk: str) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Upload as the SDK does with the first secret key; returns the asset record."""

    async def upload(data: bytes, **options: Any) -> dict[str, Any]:
        return await sdk_uploaded(client, sk, data, **options)

    return upload


@pytest.fixture
def set_vault_secrets(
    client: httpx.AsyncClient, master: str
) -> Callable[..., Awaitable[httpx.Response]]:
    """PUT the project's settings document with `vaultSigningKeys` (master key)."""

    async def put_settings(ref: str, secrets: list[str], **more: Any) -> httpx.Response:
        response = await client.put(
            f"/api/v1/admin/projects/{ref}/settings",
            json={"settings": {"vaultSigningKeys": secrets, **more}},
            headers={"X-API-Key": master},
        )
        assert response.status_code == 200, response.text
        return response

    return put_settings
