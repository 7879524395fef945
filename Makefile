# The front door. `make demo` and `make test` are all a fresh machine needs (Python 3.11 + make).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export MLOPS_HOME ?= $(CURDIR)/.mlops_home
export DAGSTER_HOME ?= $(MLOPS_HOME)/dagster
PARTITION ?= 2024-02
PYTEST_ARGS ?=

.PHONY: install demo test test-fast test-services services-deps compose-check services-up services-down dev mlflow status validate materialize clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@# Bytecode at install time: PYTHONDONTWRITEBYTECODE may be set here, and without .pyc files
	@# every heavy import (feast, evidently, mlflow) costs about twice as much on each run.
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
	touch $@

install: $(BIN)/.installed

## Generate the StreamFlow demo months and run the whole cycle through the sensors (resets the home folder).
demo: install
	$(BIN)/mlops-assets demo --reset

## The test suite: unit tests, real end-to-end materializations, and the services tests against a
## real PostgreSQL and mlflow server on loopback (what CI runs).
test: install services-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Only the fast unit tests.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not services" $(PYTEST_ARGS)

## Only the services tests (real PostgreSQL + mlflow server on loopback) and the compose checks.
test-services: install services-deps
	$(BIN)/python -m pytest mlops_assets_tests/services $(PYTEST_ARGS)

## Debian's PostgreSQL server programs for the services tests, installed when missing and root
## (otherwise those tests skip and say why; .ci/run insists).
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

## Production version and AUC, last decision per month.
status: install
	$(BIN)/mlops-assets status

validate: install
	$(BIN)/dagster definitions validate -m mlops_assets.definitions

## Every asset of one month in one run, from the command line (PARTITION=2024-02).
materialize: install
	$(BIN)/mlops-assets init >/dev/null
	$(BIN)/dagster asset materialize -m mlops_assets.definitions --select '*' --partition $(PARTITION)

clean:
	rm -rf $(MLOPS_HOME)
