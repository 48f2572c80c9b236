# Two commands from a fresh clone: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
LANDING ?= data/landing
HOME_DIR ?= data
DEMO_VOTES ?= 300000
DEMO_DAYS ?= 90

.PHONY: run test test-fast ui bench lint format demo-data clean install lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(UV): $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9

# Every package at the version uv.lock pins (--locked: a lock out of date with pyproject.toml is an error,
# never silently re-resolved); the package itself editable; bytecode compiled at install. After editing the
# dependencies in pyproject.toml, run `$(UV) lock` and commit uv.lock.
$(STAMP): pyproject.toml uv.lock $(UV)
	UV_PROJECT_ENVIRONMENT=$(abspath $(VENV)) $(UV) sync --locked --extra dev --extra spark --compile-bytecode --quiet
	touch $(STAMP)

install: $(STAMP)

# Re-resolve uv.lock after a dependency change in pyproject.toml (needs the package registry).
lock: $(UV)
	$(UV) lock

# The demo landing zone is written only when data/landing/ has no files.
demo-data: $(STAMP)
	@if [ -z "$$(find $(LANDING) -type f 2>/dev/null | head -1)" ]; then \
		echo "writing the demo world to $(LANDING) ($(DEMO_VOTES) votes over $(DEMO_DAYS) days)"; \
		$(BIN)/showdown demo-data --out $(LANDING) --votes $(DEMO_VOTES) --days $(DEMO_DAYS) --truth $(HOME_DIR)/demo-truth; \
	else echo "using the existing landing zone $(LANDING)"; fi

run: demo-data
	$(BIN)/showdown run --landing $(LANDING) --home $(HOME_DIR)

# Every test runs (slow ones too) and none may skip; pytest's exit 5 (no tests collected) is a failure.
test: $(STAMP)
	bash .ci/install-test-deps.sh
	$(BIN)/python -m pytest -q

# For a quick local loop only: leaves out the tests marked slow. CI runs `make test`.
test-fast: $(STAMP)
	bash .ci/install-test-deps.sh
	$(BIN)/python -m pytest -q -m "not slow"

ui: $(STAMP)
	$(BIN)/showdown dagster-home --home $(HOME_DIR)  # dagster.yaml with the warehouse pool limit
	DAGSTER_HOME=$(abspath $(HOME_DIR))/dagster SHOWDOWN_LANDING=$(abspath $(LANDING)) SHOWDOWN_HOME=$(abspath $(HOME_DIR)) \
		$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# SQL: every statement parses in DuckDB's dialect and keeps the rules in pyproject.toml [tool.sqlfluff].
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint showdown_pipeline/sql --disable-progress-bar --nocolor

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/sqlfluff fix showdown_pipeline/sql --disable-progress-bar

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
