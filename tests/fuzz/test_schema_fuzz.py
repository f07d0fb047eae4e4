"""Schema-generated requests against every operation of the one OpenAPI spec (native, Slink,
vaults, delivery URLs, ops), on a real server: no input may answer a 5xx, and every answer to
valid input has a documented status and a body of its documented schema. `make test` runs a
few cases per operation and mode with a fixed seed; `make fuzz` runs thousands
(PIXVAULT_FUZZ_EXAMPLES).

schemathesis' own pytest plugin does not run under pytest 9 yet, so each operation's
strategy is driven by Hypothesis here, and every failing operation is reported at the end."""

import time
from collections import Counter

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.conftest import examples
from tests.fuzz.server import Fuzzed

SKIP = {"/metrics"}  # Prometheus text, nothing to generate


def fuzz_operation(
    operation: APIOperation, mode: GenerationMode, fuzzed: Fuzzed, statuses: Counter[int]
) -> None:
    fixed = {"vault_id": fuzzed.vault_id} if "{vault_id}" in operation.path else None
    headers = fuzzed.credentials(operation.definition.raw)

    @given(case=operation.as_strategy(mode, path_parameters=fixed))
    @settings(
        max_examples=examples(),
        derandomize=True,  # a fixed seed: the same cases on every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report the case as found
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        response = case.call(headers=headers, timeout=30)
        statuses[response.status_code] += 1
        checks = [not_a_server_error]
        if mode is GenerationMode.POSITIVE:
            checks += [status_code_conformance, response_schema_conformance]
        case.validate_response(response, checks=checks)

    run()


def test_no_input_answers_a_server_error(fuzz_schema: BaseSchema, fuzzed: Fuzzed) -> None:
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    started = time.monotonic()
    for result in fuzz_schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIP:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz_operation(operation, mode, fuzzed, statuses)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to break: no parameters
            except Exception as exc:  # collect every failing operation, then fail once
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    elapsed = time.monotonic() - started
    print(
        f"\nfuzz: {statuses.total()} cases in {elapsed:.1f}s, by status {sorted(statuses.items())}"
    )
    assert failures == [], "\n\n".join(failures)
