# Bridge — the two commands are `make up` and `make test`.
# Needs only Python 3.11+, make and git: the first run installs uv into .tools/ and the locked
# dependencies into .venv/.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
# Every test worker, service process and tool imports ~1,500 modules. With PYTHONDONTWRITEBYTECODE
# set (some environments set it) each of them compiled every module from source again: 5-7 s of CPU a
# process. The bytecode goes to __pycache__/ (git-ignored), written once and read by every process after.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help install deps up demo test test-fast lint typecheck schemas contract-check bench bench-pipeline chaos chaos-short chaos-ci token clean

help:
	@echo "make up      start the whole platform locally (embedded PostgreSQL, Apache Kafka, SMTP sink, 4 services, the web app on :8080)"
	@echo "make demo    walk a small cohort through the platform started by 'make up'"
	@echo "make test    run the full test suite (unit, integration, end-to-end)"
	@echo "make lint    ruff + mypy + import contracts;  make bench  benchmarks (make bench-pipeline: the event pipeline);  make token  a dev JWT"
	@echo "make chaos   kill services, PostgreSQL and brokers under load; count lost/duplicated effects"

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) uv.lock pyproject.toml web/pyproject.toml $(wildcard services/*/pyproject.toml shared/*/pyproject.toml)
	$(UV) sync --frozen --all-packages
	@touch $@

install: .venv/.synced

deps:
	@bash scripts/install-system-packages.sh

up: install
	$(UV) run bridge-up

# demo and token find the platform `make up` started through .run/platform.json (BRIDGE_RUN_DIR moves .run/).
# make demo ARGS="--locale de_DE --timezone Europe/Berlin"
demo: install
	$(UV) run bridge-demo $(ARGS)

test: install deps
	@bash scripts/run-tests.sh

test-fast: install
	@bash scripts/run-tests.sh -m "not e2e"

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check shared services web tests bench
	$(UV) run mypy shared/core/src shared/devstack/src services/matching/src services/sessions/src services/notifications/src services/reporting/src web/src
	$(UV) run lint-imports --no-cache

schemas: install
	$(UV) run bridge-schemas

# The event contract gate (docs/events.md): committed schemas match the models, and the models keep
# every promise of every published snapshot in shared/schemas/published/.
contract-check: install
	$(UV) run bridge-schemas --check
	$(UV) run bridge-contract-check

bench: install
	$(UV) run python bench/matching/run.py --sizes 1000,10000

# The event-pipeline benchmarks (bench/pipeline/README.md): each beside its raw baseline, then one table.
bench-pipeline: install
	$(UV) run python bench/pipeline/run_all.py

# Fault injection against the real platform (docs/CHAOS.md): every fault, effects counted.
chaos: install deps
	$(UV) run bridge-chaos --profile full

chaos-short: install deps
	$(UV) run bridge-chaos --profile short

# CI's few minutes: the short workload with the faults of the backbone itself (replays, poison, the
# notifications SMTP window, PostgreSQL, the broker, one broker of three). `make chaos-short` adds
# kill -9 of matching, sessions and reporting.
chaos-ci: install deps
	$(UV) run bridge-chaos --profile short --faults replay,poison,kill-notifications,kill-postgres,kill-broker,kill-1-of-3-brokers

token: install
	@$(UV) run bridge-token --role hr_admin

clean:
	rm -rf .venv .tools .run .pytest_cache .mypy_cache .ruff_cache test-artifacts
