# The front door. `make demo` and `make test` are all a fresh machine needs (Python 3.11 + make).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export MLOPS_HOME ?= $(CURDIR)/.mlops_home
export DAGSTER_HOME ?= $(MLOPS_HOME)/dagster
PARTITION ?=
PYTEST_ARGS ?=

.PHONY: install install-spark bench-spark demo test test-fast test-services services-deps compose-check services-up services-down dev mlflow serve bench-serving status validate materialize bench bench-quick bench-1m bench-10m bench-startup clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@# Bytecode at install time: PYTHONDONTWRITEBYTECODE may be set here, and without .pyc files
	@# every heavy import (feast, evidently, mlflow) costs about twice as much on each run.
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
	touch $@

install: $(BIN)/.installed

## The `spark` extra (pyspark, feast[spark]) for the Spark offline store (MLOPS_OFFLINE_STORE=spark)
## and its end-to-end test; it needs Java 17+ (scripts/install-services.sh). pyspark is an sdist:
## its first install builds a ~460 MB wheel (about a minute).
$(BIN)/.spark-installed: $(BIN)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,spark]'
	touch $@

install-spark: $(BIN)/.spark-installed

## Generate the StreamFlow demo months (ending at the last complete month) and let the real
## dagster-daemon run the whole cycle through the sensors (resets the home folder).
## DEMO_ARGS passes options on, e.g. DEMO_ARGS="--users 2000 --months 3".
DEMO_ARGS ?=
demo: install
	$(BIN)/mlops-assets demo --reset $(DEMO_ARGS)

## The test suite: unit tests, real end-to-end materializations (the DuckDB and the Spark offline
## store), and the services tests against a real PostgreSQL and mlflow server on loopback (what CI runs).
test: install install-spark services-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Only the fast unit tests.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not services" $(PYTEST_ARGS)

## Only the services tests (real PostgreSQL + mlflow server on loopback) and the compose checks.
test-services: install services-deps
	$(BIN)/python -m pytest mlops_assets_tests/services $(PYTEST_ARGS)

## Debian's PostgreSQL server programs for the services tests and Chromium for the browser test,
## installed when missing and root (otherwise those tests skip and say why; .ci/run insists).
services-deps:
	@scripts/install-services.sh --if-possible

## Validate docker-compose.yml offline against the Compose Specification's JSON schema.
compose-check: install
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

## The services deployment (needs a Docker engine and a .env: cp .env.example .env).
services-up:
	@test -f .env || { echo "no .env: cp .env.example .env and set the secrets" >&2; exit 1; }
	dir=$$(sed -n 's/^MLOPS_LANDING_HOST_DIR=//p' .env); mkdir -p "$${dir:-landing}"
	docker compose up --build -d

services-down:
	docker compose down

## The Dagster UI and daemon on the embedded instance, sensors on: drop month folders into
## $(MLOPS_HOME)/landing and the cycle runs by itself.
dev: install
	$(BIN)/mlops-assets init
	$(BIN)/dagster dev -w workspace.yaml

## The MLflow UI on the embedded store.
mlflow: install
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(MLOPS_HOME)/mlflow/mlflow.db --port 5000

## The prediction service on the embedded defaults (http://127.0.0.1:8000: POST /predict, GET
## /health, GET /metrics, POST /reload); it follows the production alias without a restart.
## The online store holds the newest month once online_features ran (make demo does it).
serve: install
	$(BIN)/python -m mlops_assets.serving

## Each month's state, production version and AUC (exit 1 when the newest month failed or is blocked).
status: install
	$(BIN)/mlops-assets status

validate: install
	$(BIN)/dagster definitions validate -m mlops_assets.definitions

## Every asset of one month in one run, from the command line (PARTITION=YYYY-MM, one of the
## partitions: they start at MLOPS_FIRST_MONTH, or the demo's first month, or 2024-01).
materialize: install
	@test -n "$(PARTITION)" || { echo "usage: make materialize PARTITION=YYYY-MM (partitions start at $${MLOPS_FIRST_MONTH:-$$(cat $(MLOPS_HOME)/first_month 2>/dev/null || echo 2024-01)})" >&2; exit 2; }
	$(BIN)/mlops-assets init >/dev/null
	$(BIN)/dagster asset materialize -m mlops_assets.definitions --select '*' --partition $(PARTITION)

## Benchmarks (NOT part of `make test`; about 45 min on 2 cores): the cycle at 10k and 100k users
## (3 repetitions) and 1M (1) against the bare baseline, Feast retrieval and the drift report at 1M,
## model quality, Feast online materialization. Tables land in benchmarks/results/ (README, Benchmarks).
BENCH_DATA ?= /var/tmp/mlops_bench_data
BENCH_WORK ?= /tmp/mlops_bench_work
BENCH_REPS ?= 3
export BENCH_DATA BENCH_WORK
bench: install
	@for n in 5000 10000 100000 1000000; do test -f $(BENCH_DATA)/users_$$n/2024-04/labels.csv || \
	  $(BIN)/python -m mlops_assets.generator $(BENCH_DATA)/users_$$n --users $$n --months 4 --seed 7; done
	$(BIN)/python -m benchmarks.run --sizes 10000,100000 --reps $(BENCH_REPS) --out benchmarks/results/cycle.md
	$(BIN)/python -m benchmarks.run --sizes 1000000 --reps 1 --out benchmarks/results/cycle_1m.md
	$(BIN)/python -m benchmarks.cold_demo --out benchmarks/results/cold_demo.md
	$(BIN)/python -m benchmarks.platform_warm --data $(BENCH_DATA)/users_1000000 --home $(BENCH_WORK)/warm1m_nc \
	  --months 2024-01,2024-02,2024-03,2024-04 --no-capture --out benchmarks/results/memory_1m_no_capture.json
	$(BIN)/python -m benchmarks.drift --data $(BENCH_DATA)/users_1000000 --out benchmarks/results/drift_1m.md
	$(BIN)/python -m benchmarks.snapshot_floor --data $(BENCH_DATA)/users_1000000 --out benchmarks/results/snapshot_floor_1m.md
	$(BIN)/python -m benchmarks.drift --data $(BENCH_DATA)/users_10000 --out benchmarks/results/drift_10k.md
	$(BIN)/python -m benchmarks.online_materialize --data $(BENCH_DATA)/users_100000 --out benchmarks/results/online_100k.md
	$(BIN)/python -m benchmarks.feast_retrieval --data $(BENCH_DATA)/users_1000000 --reps 3 --out benchmarks/results/feast_1m.md
	$(BIN)/python -m benchmarks.models --data $(BENCH_DATA)/users_5000 --out benchmarks/results/models_5k.md
	$(BIN)/python -m benchmarks.models --data $(BENCH_DATA)/users_10000 --out benchmarks/results/models_10k.md
	$(BIN)/python -m benchmarks.models --data $(BENCH_DATA)/users_100000 --out benchmarks/results/models_100k.md
	$(BIN)/python -m benchmarks.run --sizes 100000 --reps 1 --model-kind random_forest --out benchmarks/results/cycle_100k_random_forest.md
	$(BIN)/python -m benchmarks.summary

## The Spark offline store (local[2]) against DuckDB at 100k and 1M users: writing, retrieval,
## scoring (README, Scaling out: The same cycle on Spark; about 12 minutes on 2 cores).
bench-spark: install-spark
	@test -f $(BENCH_DATA)/users_1000000/2024-02/labels.csv || \
	  $(BIN)/python -m mlops_assets.generator $(BENCH_DATA)/users_1000000 --users 1000000 --months 2 --seed 7
	$(BIN)/python -m benchmarks.spark_engine --data $(BENCH_DATA)/users_1000000 --users 100000 --out benchmarks/results/spark_100k.md
	$(BIN)/python -m benchmarks.spark_engine --data $(BENCH_DATA)/users_1000000 --reps 1 \
	  --spark-conf "spark.driver.memory=10g,spark.sql.shuffle.partitions=16" --out benchmarks/results/spark_1m.md

## The prediction service under a bounded load on loopback (README, Online predictions).
bench-serving: install
	$(BIN)/python -m benchmarks.serving --out benchmarks/results/serving.md

## Issue 12 at 1M users: the four scenario months, 3 repetitions, baseline / in-process / one
## `dagster asset materialize` per month (about 40 min on 2 idle cores; data generated once, ~2 min).
bench-1m: install
	$(BIN)/python -m benchmarks.run --sizes 1000000 --reps 3 --out benchmarks/results/cycle_1m.md

## Issue 12 at 10M users: one month (2024-01) end to end, ingest and retraining, as
## `dagster asset materialize` against the baseline script, once (data generated once under
## BENCH_DATA, ~20 min; the run itself well under an hour).
bench-10m: install
	$(BIN)/python -m benchmarks.run --sizes 10000000 --reps 1 --months 2024-01 --sides baseline,cold --out benchmarks/results/cycle_10m.md

## Start-up: importing the code location, and a daemon-style run from process start to its first step.
bench-startup: install
	$(BIN)/python -m benchmarks.startup --out benchmarks/results/startup.md

## The harness on 10k users only, one repetition (a few minutes): to check it works.
bench-quick: install
	$(BIN)/python -m benchmarks.run --sizes 10000 --reps 1 --out $(BENCH_WORK)/cycle_quick.md

clean:
	rm -rf $(MLOPS_HOME)
