# The README's commands. `make up` runs the whole system locally; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: up test lint typecheck unit integration clean-data bench

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,local]'
	@touch $(STAMP)

.PHONY: redis-server
redis-server:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing redis-server (apt)"; apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server is missing: run  sudo apt-get install -y redis-server  (or set REDIS_URL)"; exit 1; fi; }

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	@touch $(BENCH_STAMP)

# End-to-end benchmark on a fresh local stack (BENCH_QUICK=1: a smoke run under two minutes).
bench: $(BENCH_STAMP) redis-server
	$(PY) -m bench

up: $(STAMP) redis-server
	$(PY) -m devstack up

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

integration: $(STAMP) redis-server
	$(PY) -m pytest tests/integration -q

test: $(STAMP) redis-server lint typecheck
	$(PY) -m pytest -q

clean-data:
	rm -rf data
