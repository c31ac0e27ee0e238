# promptops: `make demo` and `make test` work on a fresh machine (Python >= 3.11 on PATH).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test lint bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(BIN)/promptops: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/promptops

## Offline demo: the example suite against its keyword baseline (no API key). Exits 0 whatever
## the verdict and says which exit code CI would get.
demo: $(BIN)/promptops
	$(BIN)/promptops eval suites/customer-support-router.yaml --exit-zero

## Install the dev environment; lint, type-check and run every test (what CI runs).
test: $(STAMP)
	$(BIN)/ruff check promptops tests baselines bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check promptops tests baselines bench
	$(BIN)/mypy

## Benchmarks against the fake server; figures go to bench/README.md by hand.
bench: $(BIN)/promptops
	$(BIN)/python bench/run_bench.py

clean:
	rm -rf $(VENV) .promptops build *.egg-info
