"""The schema fuzzer's target: one real server per database backend for the module."""

import os
from collections.abc import Iterator

import pytest
import schemathesis
from schemathesis.schemas import BaseSchema

from tests.conftest import PG_URL, REQUIRE_PG
from tests.fuzz.server import Fuzzed, fuzz_target

# `make test` fuzzes one backend, PostgreSQL when configured (stricter about text: NUL bytes,
# lengths, integer ranges), else SQLite; `make fuzz` sets PIXVAULT_FUZZ_BACKENDS=sqlite,postgres.
BACKENDS = os.environ.get("PIXVAULT_FUZZ_BACKENDS") or ("postgres" if PG_URL else "sqlite")


@pytest.fixture(scope="module", params=BACKENDS.split(","))
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzzed]:
    if request.param == "postgres" and not PG_URL:
        if REQUIRE_PG:
            pytest.fail("PIXVAULT_REQUIRE_POSTGRES=1 but PIXVAULT_TEST_DATABASE_URL is unset")
        pytest.skip("PostgreSQL variant: set PIXVAULT_TEST_DATABASE_URL to run it")
    root = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with fuzz_target(root / "data", PG_URL if request.param == "postgres" else None) as target:
        yield target


@pytest.fixture(scope="module")
def fuzz_schema(fuzzed: Fuzzed) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzzed.base}/openapi.json")


def examples() -> int:
    """Cases per operation: a few in `make test`, many more in `make fuzz`."""
    return int(os.environ.get("PIXVAULT_FUZZ_EXAMPLES", "3"))
