"""`make dev` for real: `dagster dev` (webserver + daemon) on loopback with the sensors on; months
dropped into the landing area run the whole cycle with no other action."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, DagsterRunStatus, RunsFilter

from mlops_assets.generator import write_months
from mlops_assets.cli import deliver
from mlops_assets.records import UNFINISHED_RUN_STATUSES

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TIMEOUT_S = 420


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def decisions(instance: DagsterInstance) -> dict[str, dict]:
    found = {}
    for month in ("2024-01", "2024-02"):
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey("promotion_decision"), asset_partitions=[month]), limit=1
        ).records
        if records:
            found[month] = records[0].asset_materialization.metadata["record"].value
    return found


@pytest.fixture
def dagster_dev(tmp_path):
    home = tmp_path / "home"
    env = dict(os.environ, MLOPS_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLOPS_LANDING_DIR", "MLOPS_FEAST_REPO"):
        env.pop(name, None)
    subprocess.run([str(BIN / "mlops-assets"), "init"], env=env, check=True, capture_output=True)
    port = free_port()
    log = open(tmp_path / "dagster_dev.log", "w")
    # setsid: dagster dev started from a non-interactive shell ignores SIGINT/SIGTERM; stop it by
    # its process group.
    process = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        yield {"home": home, "port": port, "process": process, "log": tmp_path / "dagster_dev.log"}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        log.close()


def test_dropping_months_into_landing_runs_the_cycle(dagster_dev, tmp_path):
    home, port = dagster_dev["home"], dagster_dev["port"]
    deadline = time.time() + 120
    while True:  # the webserver answers
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as response:
                assert response.status == 200
                break
        except OSError:
            assert dagster_dev["process"].poll() is None, dagster_dev["log"].read_text()[-3000:]
            assert time.time() < deadline, "webserver did not start"
            time.sleep(2)

    months = write_months(tmp_path / "incoming", n_users=400, scenario=("baseline", "concept_drift"), seed=11)
    for folder in months:
        deliver(folder, home / "landing")

    instance = DagsterInstance.from_config(str(home / "dagster"))
    deadline = time.time() + TIMEOUT_S
    found = {}

    def cycle_runs_unfinished() -> list:
        # A month's decision is recorded before its run ends (churn_scores follows it in the same
        # run): the runs are compared below once they have finished, not when the decisions exist.
        runs = instance.get_runs(filters=RunsFilter(statuses=list(UNFINISHED_RUN_STATUSES)))
        return [r for r in runs if r.tags.get("dagster/sensor_name") != "online_features_sensor"]

    while time.time() < deadline and (len(found) < 2 or cycle_runs_unfinished()):
        failed = instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.FAILURE]))
        assert not failed, f"run {failed[0].job_name} {failed[0].tags.get('dagster/partition')} failed"
        time.sleep(5)
        found = decisions(instance)
    assert not cycle_runs_unfinished(), f"cycle runs still unfinished after {TIMEOUT_S}s"
    assert len(found) == 2, f"no decisions for both months after {TIMEOUT_S}s: {found}\n" + dagster_dev["log"].read_text()[-3000:]
    assert found["2024-01"]["decision"] == "promoted"
    assert found["2024-02"]["decision"] == "promoted"
    runs = instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.SUCCESS]))
    # The cycle's runs; online_features_sensor's runs (feast materialize of the newest month) are
    # queued behind them, and how many depends on how the sensor's ticks fell (none failed, above).
    by_sensor = sorted(
        (r.tags.get("dagster/sensor_name"), r.tags.get("dagster/partition"))
        for r in runs
        if r.tags.get("dagster/sensor_name") != "online_features_sensor"
    )
    assert by_sensor == [
        ("drift_sensor", "2024-01"),
        ("drift_sensor", "2024-02"),
        ("new_month_sensor", "2024-01"),
        ("new_month_sensor", "2024-02"),
    ]
