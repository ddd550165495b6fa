# The two commands a newcomer runs (see README.md):
#   make demo   -- install everything, then run the main job (real data, end to end, embedded DuckDB file)
#   make test   -- install everything, then run the test suite (what CI runs)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch is pinned and installed first: on CPU-only machines torch==2.13.0 resolves to a local
# CPU build, while an unpinned torch pulls gigabytes of CUDA wheels.
TORCH ?= torch==2.13.0

.PHONY: install demo test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/duck-synth demo

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) -m pytest benchmarks -q --benchmark-only

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache demo.duckdb
