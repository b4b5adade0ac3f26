# Vigil developer entry points. `make demo` and `make test` work on a fresh machine (Python 3.11+).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FEEDS ?= ../shared/data/advisories
DEMO_TARGET ?= examples/demo-project

.PHONY: setup demo db test lint unit bench bench-image bench-server bench-delta clean schema openapi

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Build the DB from the advisory feeds into the default cache dir, then scan the sample project.
demo: setup
	$(BIN)/vigil db build --feeds $(FEEDS)
	$(BIN)/vigil db info
	$(BIN)/vigil fs $(DEMO_TARGET) --severity HIGH,CRITICAL

lint: setup
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: setup
	$(BIN)/pytest -q

# The README's test command: lint, types, layer contracts, then every test.
test: lint unit

bench: setup
	$(BIN)/python bench/bench_fs.py
	$(BIN)/python bench/bench_versions.py

# Slower benchmarks (minutes each), results in bench/RESULTS.md and bench/results/.
bench-image: setup
	$(BIN)/python bench/bench_image.py --runs 3 --big

bench-server: setup
	$(BIN)/python bench/bench_server.py --clients 50 --duration 20

bench-delta: setup
	$(BIN)/python bench/bench_delta.py --runs 2

openapi: setup
	$(BIN)/python tools/gen_openapi.py

schema: setup
	$(BIN)/python tools/gen_report_schema.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
