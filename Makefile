# Every target installs what it needs into .venv first, frozen from uv.lock (scripts/ensure-venv):
# `run` only what serving needs, `test`/`lint`/`bench` the test extra as well.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make PYTHON=python3.12 ...` also rebuilds a .venv of another Python version.
ENSURE := PYTHON=$(PYTHON) PYTHON_GIVEN=$(if $(filter command line,$(origin PYTHON)),1) VENV=$(VENV) \
	scripts/ensure-venv
# -rfEs: a summary line for every failure, error and skip, skips with their reason.
PYTEST_FLAGS ?= -q -rfEs
# `make test` runs on two CPUs: two worker processes, each taking one test file at a time (a
# file's tests share their module-scoped servers and browser). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2

.PHONY: run test lint format bench fuzz lock venv clean

run:
	@$(ENSURE) run
	$(BIN)/pixvault serve

lint:
	@$(ENSURE) test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format:
	@$(ENSURE) test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/pytest $(PYTEST_FLAGS) -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench:
	@$(ENSURE) test
	@# The tail-latency suite's C load generator (Debian's wrk), as .ci/run installs chromium.
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null \
		|| echo "wrk could not be installed: the tail suite says so and measures with aiohttp only"
	$(BIN)/python -m bench

# Thousands of schema-generated requests against every operation (make test runs a few
# hundred); PostgreSQL too when PIXVAULT_TEST_DATABASE_URL is set.
FUZZ_EXAMPLES ?= 50
fuzz:
	@$(ENSURE) test
	PIXVAULT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) PIXVAULT_FUZZ_BACKENDS=sqlite,postgres \
		$(BIN)/pytest $(PYTEST_FLAGS) -s -p no:cacheprovider tests/fuzz

# After changing dependencies in pyproject.toml: re-resolve uv.lock (existing pins are kept)
# and commit it; every target refuses a uv.lock that does not match pyproject.toml.
lock:
	@$(ENSURE) none
	UV_PYTHON_DOWNLOADS=never $(BIN)/uv lock
	@echo "uv.lock updated: commit it with pyproject.toml"

# The venv and uv only (no project packages).
venv:
	@$(ENSURE) none

clean:
	rm -rf $(VENV) data bench/.work
