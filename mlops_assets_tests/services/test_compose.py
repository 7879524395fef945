"""docker-compose.yml, Dockerfile and deploy/ checked without a Docker engine: the compose file
validates against the Compose Specification's JSON schema once interpolated from .env.example
(and as written), every service the README names exists, images are pinned, healthchecks and
start-up order are declared, secrets come from the environment, and the deploy files agree with
one another. The same files run for real (on loopback) in test_cycle_on_services.py."""

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_assets.instance import INSTANCE_SETTINGS

from mlops_assets_tests.services.compose import (
    COMPOSE,
    ENV_EXAMPLE,
    ROOT,
    InterpolationError,
    load_compose,
    read_env_file,
    referenced_variables,
    schema_errors,
)

SERVICES = {"postgres", "mlflow", "redis", "code_location", "webserver", "daemon", "serving"}
APP_SERVICES = SERVICES - {"postgres", "redis"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert match, f"README has no section '{title}'"
    return match.group(1)


def test_compose_file_validates_against_the_compose_spec(compose):
    assert schema_errors(compose) == []
    assert schema_errors(yaml.safe_load(COMPOSE.read_text())) == []  # as written, before interpolation


def test_the_schema_check_is_not_vacuous(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["mlflow"]["healthcheck"]["retries"] = "many"
    broken["services"]["webserver"]["depends_on"]["code_location"]["condition"] = "service_ready"
    broken["servicez"] = {}
    errors = schema_errors(broken)
    assert len(errors) >= 3, errors


def test_check_jsonschema_cli_accepts_the_file():
    cli = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run([str(cli), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_service_the_readme_names_exists(services):
    assert set(services) == SERVICES
    section = readme_section("Run it as services")
    for name in SERVICES:
        assert f"`{name}`" in section, f"README 'Run it as services' does not name `{name}`"


def test_images_are_pinned(services):
    for name, service in services.items():
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and re.search(r"\d", tag), f"{name}: image {image!r} is not pinned"
    app_images = {services[name]["image"] for name in APP_SERVICES}
    assert len(app_images) == 1  # one image built from the Dockerfile
    for name in APP_SERVICES:
        assert services[name]["build"]["dockerfile"] == "Dockerfile"
    base = re.search(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(), flags=re.M).group(1)
    assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*", base), f"Dockerfile base image {base!r} is not pinned"


def test_healthchecks_and_start_order(services):
    for name, service in services.items():
        assert service["healthcheck"]["test"], f"{name} has no healthcheck"
    expected = {
        "mlflow": {"postgres"},
        "code_location": {"postgres", "mlflow", "redis"},
        "webserver": {"postgres", "code_location"},
        "daemon": {"postgres", "code_location"},
        "serving": {"mlflow", "redis", "code_location"},
    }
    for name, needs in expected.items():
        depends = services[name]["depends_on"]
        assert set(depends) == needs, name
        assert all(d["condition"] == "service_healthy" for d in depends.values()), name


def test_ports_volumes_and_the_sensors_daemon(compose, services):
    assert services["webserver"]["ports"] == ["3000:3000"]
    assert services["mlflow"]["ports"] == ["5000:5000"]
    assert services["serving"]["ports"] == ["8000:8000"]
    assert "redis_data:/data" in services["redis"]["volumes"]
    assert "postgres_data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "mlflow_artifacts:/mlflow/artifacts" in services["mlflow"]["volumes"]
    assert set(compose["volumes"]) == {"postgres_data", "mlflow_artifacts", "mlops_data", "redis_data"}
    # Runs execute in the code-location container (DefaultRunLauncher via its gRPC server); the
    # daemon evaluates sensors through it too: both see the same Feast repo and landing area.
    assert services["code_location"]["volumes"] == services["daemon"]["volumes"]
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]


def test_the_code_reads_the_services_from_the_environment(services):
    env = services["code_location"]["environment"]
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    for name in ("MLOPS_FEAST_REPO", "MLOPS_LANDING_DIR", "MLOPS_REPORTS_DIR", "MLOPS_STORAGE_DIR"):
        assert env[name].startswith("/data/"), name
    assert env["DAGSTER_HOME"] == "/opt/dagster/dagster_home"
    # The tracking server answers the Host header the code sends.
    allowed = services["mlflow"]["environment"]["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert "mlflow:5000" in allowed
    assert services["mlflow"]["environment"]["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql+psycopg2://")
    # The online store is the Redis service, for the runs that write it and the service that reads it.
    assert env["MLOPS_FEAST_REDIS"] == "redis:6379"
    serving = services["serving"]["environment"]
    for name in ("MLFLOW_TRACKING_URI", "MLOPS_FEAST_REPO", "MLOPS_FEAST_REDIS", "MLOPS_MODEL_NAME", "MLOPS_PRODUCTION_ALIAS"):
        assert serving[name] == env[name], name
    assert serving["MLOPS_SERVING_HOST"] == "0.0.0.0" and serving["MLOPS_SERVING_PORT"] == "8000"
    assert "mlops_data:/data" in services["serving"]["volumes"]  # the Feast repo's registry
    assert services["serving"]["command"] == ["python", "-m", "mlops_assets.serving"]


def test_secrets_come_from_the_environment_only(services):
    text = COMPOSE.read_text()
    env = read_env_file()
    assert referenced_variables(text) <= set(env), "every variable the compose file uses is in .env.example"
    assert env["POSTGRES_PASSWORD"] not in text
    raw = yaml.safe_load(text)
    assert raw["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")
    with pytest.raises(InterpolationError, match="POSTGRES_PASSWORD"):
        load_compose({k: v for k, v in env.items() if k != "POSTGRES_PASSWORD"})
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_deploy_files_agree(services):
    workspace = yaml.safe_load((ROOT / "deploy" / "workspace.yaml").read_text())
    (server,) = [entry["grpc_server"] for entry in workspace["load_from"]]
    command = services["code_location"]["command"]
    assert server["host"] == "code_location"
    assert str(server["port"]) == command[command.index("-p") + 1]
    assert server["location_name"] == command[command.index("--location-name") + 1]
    instance = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    db = instance["storage"]["postgres"]["postgres_db"]
    assert db["scheme"] == "postgresql+psycopg2"
    env = services["code_location"]["environment"]
    for key in ("hostname", "port", "username", "password", "db_name"):
        assert db[key]["env"] in env, key  # every value from the environment, none hard-coded
    # The services instance keeps every setting the platform relies on (queue, pools, monitoring).
    for key, value in INSTANCE_SETTINGS.items():
        if key != "telemetry":
            assert instance[key] == value, key
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY deploy/dagster.yaml /opt/dagster/dagster_home/dagster.yaml" in dockerfile
    assert "COPY deploy/workspace.yaml /opt/dagster/workspace.yaml" in dockerfile
    init = services["postgres"]["volumes"][1].split(":")[0]
    assert (ROOT / init).exists() and "MLFLOW_POSTGRES_DB" in (ROOT / init).read_text()
    assert ENV_EXAMPLE.exists()
