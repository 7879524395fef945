"""Fixtures for the `services` tests: a real PostgreSQL cluster and a real MLflow tracking server
on loopback, shared by the modules that ask for them (each uses its own databases or model) and stopped by their PIDs afterwards.

Where the server programs are missing the tests skip with the reason, unless
MLOPS_REQUIRE_SERVICES=1 (set by .ci/run after scripts/install-services.sh), where they fail."""

import os

import pytest

from mlops_assets_tests.services.compose import load_compose
from mlops_assets_tests.services.servers import (
    ServerUnavailable,
    start_mlflow,
    start_postgres,
    start_redis,
    stop_mlflow,
    stop_postgres,
    stop_redis,
)

DAGSTER_DB = "dagster"
MLFLOW_DB = "mlflow"
# What the services tests ran against, for the closing summary (CI's log shows they really ran).
_RAN: dict = {"servers": [], "outcomes": {}, "marked": set()}


def pytest_collection_modifyitems(items):
    _RAN["marked"] |= {item.nodeid for item in items if item.get_closest_marker("services")}


def pytest_runtest_logreport(report):
    if report.nodeid in _RAN["marked"] and (report.when == "call" or report.outcome != "passed"):
        _RAN["outcomes"][report.nodeid] = report.outcome


def pytest_terminal_summary(terminalreporter):
    if not _RAN["outcomes"]:
        return
    counts = {}
    for outcome in _RAN["outcomes"].values():
        counts[outcome] = counts.get(outcome, 0) + 1
    terminalreporter.write_sep("-", "services tests")
    terminalreporter.write_line(", ".join(f"{n} {o}" for o, n in sorted(counts.items())) + " against real servers on loopback:")
    for line in _RAN["servers"]:
        terminalreporter.write_line(f"  {line}")


def _unavailable(exc: ServerUnavailable):
    if os.environ.get("MLOPS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"MLOPS_REQUIRE_SERVICES=1 but {exc}")
    pytest.skip(str(exc))


@pytest.fixture(scope="session")
def postgres():
    try:
        server = start_postgres()
    except ServerUnavailable as exc:
        _unavailable(exc)
    try:
        server.create_database(DAGSTER_DB)
        server.create_database(MLFLOW_DB)
        _RAN["servers"].append(f"PostgreSQL {server.version()} at {server.host}:{server.port} (pid {server.process.pid})")
        yield server
    finally:
        stop_postgres(server)


@pytest.fixture(scope="session")
def mlflow_server(postgres, tmp_path_factory):
    # The compose file's own mlflow command and allowed Host headers, on loopback.
    service = load_compose()["services"]["mlflow"]
    server = start_mlflow(
        postgres.dsn(MLFLOW_DB),
        tmp_path_factory.mktemp("mlflow_server"),
        command=service["command"],
        allowed_hosts=service["environment"]["MLFLOW_SERVER_ALLOWED_HOSTS"],
    )
    _RAN["servers"].append(f"mlflow server {server.version()} at {server.url} (pid {server.process.pid}), backend store PostgreSQL")
    try:
        yield server
    finally:
        stop_mlflow(server)


@pytest.fixture(scope="session")
def redis_server():
    try:
        server = start_redis()
    except ServerUnavailable as exc:
        _unavailable(exc)
    try:
        _RAN["servers"].append(f"redis-server at {server.connection} (pid {server.process.pid}), Feast's online store")
        yield server
    finally:
        stop_redis(server)
