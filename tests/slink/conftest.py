"""Fixtures of the Slink surface tests (every test runs on SQLite and PostgreSQL)."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

from pixvault.app import create_app
from pixvault.domain.models import Project
from pixvault.services.core import Core
from tests.slink.support import Account, make_account


@pytest.fixture
async def project(core: Core) -> Project:
    """The Slink project (`PIXVAULT_SLINK_PROJECT`, default/default)."""
    return await core.projects.by_path(core.settings.slink_project)


@pytest.fixture
async def alice(core: Core) -> Account:
    return await make_account(core, "alice", display_name="Alice Wonder")


@pytest.fixture
async def bob(core: Core) -> Account:
    return await make_account(core, "bob")


@pytest.fixture
def client_at(
    core: Core,
) -> Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Another client of the same app, calling from the given IP address."""

    @asynccontextmanager
    async def open_client(ip: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(
            app=create_app(core.settings, core=core), client=(ip, 40000)
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http

    return open_client
