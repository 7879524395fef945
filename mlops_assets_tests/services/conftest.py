"""Fixtures for the `services` tests: a real PostgreSQL cluster and a real MLflow tracking server
on loopback, shared by the module that asks for them and stopped by their PIDs afterwards.

Where the server programs are missing the tests skip with the reason, unless
MLOPS_REQUIRE_SERVICES=1 (set by .ci/run after scripts/install-services.sh), where they fail."""

import os

import pytest

from mlops_assets_tests.services.servers import (
    ServerUnavailable,
    start_mlflow,
    start_postgres,
    stop_mlflow,
    stop_postgres,
)

DAGSTER_DB = "dagster"
MLFLOW_DB = "mlflow"


def _unavailable(exc: ServerUnavailable):
    if os.environ.get("MLOPS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"MLOPS_REQUIRE_SERVICES=1 but {exc}")
    pytest.skip(str(exc))


@pytest.fixture(scope="module")
def postgres():
    try:
        server = start_postgres()
    except ServerUnavailable as exc:
        _unavailable(exc)
    try:
        server.create_database(DAGSTER_DB)
        server.create_database(MLFLOW_DB)
        yield server
    finally:
        stop_postgres(server)


@pytest.fixture(scope="module")
def mlflow_server(postgres, tmp_path_factory):
    server = start_mlflow(postgres.dsn(MLFLOW_DB), tmp_path_factory.mktemp("mlflow_server"))
    try:
        yield server
    finally:
        stop_mlflow(server)
