# The README's commands. `make up` runs the whole system locally; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: up test lint typecheck unit integration e2e openfaas chaos frontend frontend-check clean-data bench bench-growth contract openapi fuzz

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

# Optional: `make up` runs without Prometheus (and says so) when it cannot be installed.
.PHONY: prometheus
prometheus:
	@command -v prometheus >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing prometheus (apt)"; apt-get update -qq && apt-get install -y -qq prometheus >/dev/null; \
	  else echo "prometheus is missing: make up runs without it (sudo apt-get install -y prometheus)"; fi; }

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	@touch $(BENCH_STAMP)

# End-to-end benchmark on a fresh local stack (BENCH_QUICK=1: a smoke run under two minutes).
bench: $(BENCH_STAMP) redis-server
	$(PY) -m bench

# Cost against history: every call at 0, a tenth and all of BENCH_HISTORY orders (long; 1M
# unless BENCH_QUICK=1 or BENCH_HISTORY says otherwise). Needs the UI built, for /ops.
bench-growth: $(BENCH_STAMP) redis-server frontend
	BENCH_MODE=growth $(PY) -m bench

# The web UI: `npm ci` when the lock file changed, `npm run build` when any source is newer
# than the built index.html (python -m webui serves frontend/dist).
FRONTEND_SRC := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	$(wildcard frontend/index.html frontend/api/*.html frontend/vite.config.ts frontend/tsconfig*.json frontend/package.json)
FRONTEND_MODULES := frontend/node_modules/.package-lock.json

.PHONY: node
node:
	@command -v npm >/dev/null || { echo "Node.js >= 20.19 with npm is needed to build the frontend"; exit 1; }

$(FRONTEND_MODULES): frontend/package-lock.json | node
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend/dist/index.html: $(FRONTEND_MODULES) $(FRONTEND_SRC)
	cd frontend && npm run build

frontend: frontend/dist/index.html

# The contract the frontend is built on (response schemas, saga statuses and events), written
# from the Python models; a unit test fails when the committed file is out of date.
contract: $(STAMP)
	$(PY) -m ordersaga.contract

# The public API as one OpenAPI 3.1 document, from the same models (served at /api/openapi.json,
# browsable at /api/reference); a unit test fails when the committed file is out of date.
openapi: $(STAMP)
	$(PY) -m ordersaga.openapi

# schemathesis on every operation of that document against the stack `make up` starts: no 5xx,
# documented status codes and content types, bodies that match their schemas. `make test`
# runs it short (25 examples per operation, fixed seed); this is the long run.
fuzz: $(STAMP) redis-server
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-400} $(PY) -m pytest tests/fuzz -m fuzz -q

# Type-check and unit-test the frontend (Vitest + Testing Library).
frontend-check: $(FRONTEND_MODULES)
	cd frontend && npx tsc -b && npx vitest run

up: $(STAMP) redis-server prometheus frontend
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

# The whole stack and a real browser (Debian's chromium): see tests/e2e.
e2e: $(STAMP) redis-server frontend
	$(PY) -m pytest tests/e2e -q

# The real faas-cli, of-watchdog and cron-connector (FAAS_CLI, FWATCHDOG, CRON_CONNECTOR).
openfaas: $(STAMP) redis-server
	$(PY) -m pytest tests/openfaas -q -rs

# Faults injected into the stack as `make up` starts it, audited from the stores (tests/chaos).
# `make test` runs the short version; this is the long one: more load, 20 s freezes.
chaos: $(STAMP) redis-server
	CHAOS_LONG=1 $(PY) -m pytest tests/chaos -m chaos -q

test: $(STAMP) redis-server lint typecheck frontend-check frontend
	$(PY) -m pytest -q

clean-data:
	rm -rf data
