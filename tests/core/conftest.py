"""Fixtures of the core tests; every test using `core` runs on SQLite and PostgreSQL."""

import pytest

from pixvault.domain.models import Project
from pixvault.services.core import Core, InitResult


@pytest.fixture
def project(started: tuple[Core, InitResult]) -> Project:
    """The default project `initialise` created."""
    return started[1].project


@pytest.fixture
async def other_project(core: Core) -> Project:
    return await core.projects.create("other", "site")
