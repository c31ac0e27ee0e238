# promptops: `make demo` and `make test` work on a fresh machine (Python >= 3.11 on PATH).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test lint bench install clean browser

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

## Debian's chromium + chromedriver for the HTML report's browser test (needs root or sudo;
## without them that one test module is skipped, and says so).
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -q >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; \
	else echo "note: chromium not installed (not root); the browser test will be skipped"; fi

## Install the dev environment; lint, type-check and run every test (what CI runs).
test: $(STAMP) browser
	$(BIN)/ruff check promptops tests baselines bench examples
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check promptops tests baselines bench examples
	$(BIN)/mypy

## Benchmarks against the fake server; figures go to bench/README.md by hand.
bench: $(BIN)/promptops
	$(BIN)/python bench/run_bench.py
	$(BIN)/python bench/rollback_bench.py

clean:
	rm -rf $(VENV) .promptops build *.egg-info
