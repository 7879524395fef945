"""docker-compose.yml's Dagster services, run as the compose file runs them but as processes on
loopback: the code location's gRPC server (its command), the webserver and the daemon (theirs),
with deploy/dagster.yaml (Postgres), a workspace from deploy/workspace.yaml pointed at the gRPC
server's port, and the code location's environment from the compose file (paths under /data
moved into a temp folder, hosts to loopback). Each service's compose healthcheck command must
pass; then a month dropped into the landing area is picked up by the daemon's sensors, queued,
launched through the gRPC server and run to a production model in the MLflow server, with no other
action: the deployment's topology, minus Docker."""

import os
import shutil
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, DagsterRunStatus, RunsFilter

from mlops_assets.generator import write_months
from mlops_assets.cli import deliver
from mlops_assets_tests.services.compose import ROOT, load_compose
from mlops_assets_tests.services.servers import BIN, free_port, start_process, stop, wait_until

pytestmark = [pytest.mark.services, pytest.mark.slow]
DB = "dagster_topology"
MODEL = "streamflow_churn_topology"  # its own registered model: the cycle tests share the server
TIMEOUT_S = 420


def localize(argv: list[str], **flags: str) -> list[str]:
    """A compose command run here: its program from this venv, some flag values replaced."""
    argv = list(argv)
    argv[0] = str(BIN / argv[0])
    for flag, value in flags.items():
        argv[argv.index(flag) + 1] = value
    return argv


@pytest.fixture(scope="module")
def deployment(postgres, mlflow_server, redis_server, tmp_path_factory):
    services = load_compose()["services"]
    root = tmp_path_factory.mktemp("topology")
    postgres.create_database(DB)
    dagster_home = root / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    grpc_port, web_port = free_port(), free_port()
    workspace = yaml.safe_load((ROOT / "deploy" / "workspace.yaml").read_text())
    workspace["load_from"][0]["grpc_server"] |= {"host": "127.0.0.1", "port": grpc_port}
    (root / "workspace.yaml").write_text(yaml.safe_dump(workspace))

    def env_of(service: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DAGSTER_", "MLOPS_"))}
        for key, value in services[service]["environment"].items():
            env[key] = str(root / value.removeprefix("/")) if value.startswith("/data/") else value
        env |= {
            "DAGSTER_HOME": str(dagster_home),
            "DAGSTER_POSTGRES_HOST": postgres.host,
            "DAGSTER_POSTGRES_PORT": str(postgres.port),
            "DAGSTER_POSTGRES_USER": postgres.user,
            "DAGSTER_POSTGRES_PASSWORD": postgres.password,
            "DAGSTER_POSTGRES_DB": DB,
        }
        if "MLFLOW_TRACKING_URI" in env:
            env |= {"MLFLOW_TRACKING_URI": mlflow_server.url, "MLOPS_MODEL_NAME": MODEL}
        if "MLOPS_FEAST_REDIS" in env:
            env["MLOPS_FEAST_REDIS"] = redis_server.connection
        return env

    processes = {}
    try:
        processes["code_location"] = start_process(
            localize(services["code_location"]["command"], **{"-h": "127.0.0.1", "-p": str(grpc_port)}),
            env_of("code_location"), root, root / "code_location.log")
        processes["webserver"] = start_process(
            localize(services["webserver"]["command"], **{"-h": "127.0.0.1", "-p": str(web_port), "-w": str(root / "workspace.yaml")}),
            env_of("webserver"), root, root / "webserver.log")
        processes["daemon"] = start_process(
            localize(services["daemon"]["command"], **{"-w": str(root / "workspace.yaml")}),
            env_of("daemon"), root, root / "daemon.log")
        yield {
            "root": root, "services": services, "processes": processes, "env_of": env_of,
            "grpc_port": grpc_port, "web_port": web_port, "landing": Path(env_of("code_location")["MLOPS_LANDING_DIR"]),
            "instance_env": env_of("daemon"),
        }
    finally:
        for name in ("daemon", "webserver", "code_location"):
            if name in processes:
                stop(processes[name], timeout=30, group=True)


def healthcheck(deployment, service: str, **flags) -> None:
    """The compose file's healthcheck command for a service, run here until it passes."""
    import subprocess

    test = deployment["services"][service]["healthcheck"]["test"]
    assert test[0] == "CMD"
    argv = test[1:]
    if argv[0] == "python":  # an URL on the service's port
        argv = [str(BIN / "python"), argv[1], argv[2].replace(":3000/", f":{deployment['web_port']}/")]
    else:
        argv = localize(argv, **flags)
    log = deployment["root"] / f"{service}.log"

    def passes() -> bool:
        done = subprocess.run(argv, env=deployment["env_of"](service), capture_output=True, text=True, timeout=60)
        return done.returncode == 0

    wait_until(passes, f"{service} healthcheck {' '.join(test[1:3])}", deployment["processes"][service], log, timeout=180)


def test_each_service_passes_its_compose_healthcheck(deployment):
    healthcheck(deployment, "code_location", **{"-p": str(deployment["grpc_port"])})
    healthcheck(deployment, "webserver")
    healthcheck(deployment, "daemon")
    with urllib.request.urlopen(f"http://127.0.0.1:{deployment['web_port']}/server_info", timeout=10) as response:
        assert response.status == 200


def test_a_dropped_month_runs_through_the_daemon_and_the_grpc_server(deployment, mlflow_server, postgres):
    (month,) = write_months(deployment["root"] / "incoming", n_users=400, scenario=("baseline",), first_month="2024-01", seed=11)
    deliver(month, deployment["landing"])
    saved = {k: os.environ.get(k) for k in deployment["instance_env"] if k.startswith("DAGSTER_POSTGRES_")}
    os.environ.update({k: deployment["instance_env"][k] for k in saved})
    instance = DagsterInstance.from_config(deployment["instance_env"]["DAGSTER_HOME"])
    try:
        deadline = time.time() + TIMEOUT_S
        record = None
        while time.time() < deadline and record is None:
            for name, process in deployment["processes"].items():
                assert process.poll() is None, f"{name} exited:\n" + (deployment["root"] / f"{name}.log").read_text()[-3000:]
            failed = instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.FAILURE]))
            assert not failed, f"run {failed[0].job_name} failed:\n" + (deployment["root"] / "code_location.log").read_text()[-3000:]
            records = instance.fetch_materializations(
                AssetRecordsFilter(asset_key=AssetKey("promotion_decision"), asset_partitions=["2024-01"]), limit=1
            ).records
            record = records[0].asset_materialization.metadata["record"].value if records else None
            time.sleep(3)
        assert record, f"no decision after {TIMEOUT_S}s:\n" + (deployment["root"] / "daemon.log").read_text()[-3000:]
        assert record["decision"] == "promoted" and record["production_version_after"] == "1"
        runs = instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.SUCCESS]))
        # online_features_sensor's run of the month may still be queued (not failed: checked above).
        cycle_runs = [r for r in runs if r.tags.get("dagster/sensor_name") != "online_features_sensor"]
        assert sorted((r.tags.get("dagster/sensor_name"), r.job_name) for r in cycle_runs) == [
            ("drift_sensor", "retraining_job"),
            ("new_month_sensor", "ingest_month_job"),
        ]
    finally:
        instance.dispose()
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    from mlops_assets.resources import MlflowModelRegistry

    registry = MlflowModelRegistry(tracking_uri=mlflow_server.url, model_name=MODEL)
    assert registry.production()["version"] == "1"
