# The two commands: `make demo` (set up + run the demo) and `make test` (set up + run the tests).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test test-slow fuzz lint bench bench-quick reports system-deps clean

$(BIN)/python:
	$(PY) -c 'import sys; sys.exit("custseg needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

# numba compiles custseg's kernels on a machine's first run: `custseg warm-up` compiles the
# demo's in parallel processes first (a fresh copy of the source: 43 s in all, where the demo
# alone, compiling them one after the other, took 62 s); with a filled cache it does nothing.
demo: $(VENV)/.installed
	$(BIN)/custseg warm-up --if-cold --groups lloyd-float64,choose-k,kmeans++
	$(BIN)/custseg demo --out custseg-demo

# Debian packages for the browser and R cross-checks (installed when we are root; the tests that
# need them skip with a reason otherwise).
system-deps:
	bash scripts/install-system-deps.sh

test: $(VENV)/.dev-installed system-deps
	$(BIN)/custseg warm-up
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# Long property-based fuzzing of readers, pipeline, model loading and report escaping.
fuzz: $(VENV)/.dev-installed system-deps
	CUSTSEG_FUZZ=1 $(BIN)/python -m pytest tests/reliability -m "fuzz and not slow" $(PYTEST_ARGS)

test-slow: $(VENV)/.dev-installed system-deps
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# Example reports (demo, Mall, Wholesale, Online Retail) with their size and open time.
reports: $(VENV)/.dev-installed system-deps
	$(BIN)/python scripts/make_reports.py --out reports

# Benchmarks against the peers, side by side in one run (see benchmarks/README.md).
bench: $(VENV)/.dev-installed system-deps
	$(BIN)/python benchmarks/run_all.py

bench-quick: $(VENV)/.dev-installed system-deps
	$(BIN)/python benchmarks/run_all.py --quick

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) custseg-demo .pytest_cache
