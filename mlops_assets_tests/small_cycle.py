"""A small cycle run by `dagster dev`, shared by the tests that look at what it left (links,
cards, the UIs): two months of 1,000 users dropped into the landing area of a temporary home,
the sensors of a real `dagster dev` (webserver and daemon, loopback, free port) run the whole
cycle into a real MLflow store, Feast repo and Evidently reports. The UI stays up for the tests.

The MLflow UI's address is chosen before the cycle runs (a free loopback port), because the
links in the metadata are written at materialization time; the browser test serves the UI there.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mlops_assets_tests.services.servers import free_port, start_process, stop, wait_until

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
N_USERS = 1000
MONTHS = ("2024-01", "2024-02")
CYCLE_TIMEOUT_S = 480


@dataclass
class SmallCycle:
    home: Path
    instance_dir: Path
    env: dict  # the environment `dagster dev` runs in
    ui_url: str  # where the MLflow UI is to be served (MLOPS_MLFLOW_UI_URL)
    mlflow_port: int
    dagster_url: str
    log: Path
    defs: object  # the same Definitions, built in the test process, for its resources
    instance: object
    runs: list  # the cycle's runs, oldest first


def answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status == 200


def _decisions(instance) -> dict:
    from mlops_assets.records import latest_metadata

    found = {month: latest_metadata(instance, "promotion_decision", month) for month in MONTHS}
    return {month: meta["record"] for month, meta in found.items() if meta}


@pytest.fixture(scope="session")
def small_cycle(tmp_path_factory) -> SmallCycle:
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    from mlops_assets.cli import deliver
    from mlops_assets.definitions import build_definitions
    from mlops_assets.generator import write_months
    from mlops_assets.instance import INSTANCE_SETTINGS

    root = tmp_path_factory.mktemp("small_cycle")
    home, instance_dir = root / "home", root / "home" / "dagster"
    instance_dir.mkdir(parents=True)
    (instance_dir / "dagster.yaml").write_text(yaml.safe_dump(INSTANCE_SETTINGS))
    mlflow_port = free_port()
    ui_url = f"http://127.0.0.1:{mlflow_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLOPS_", "DAGSTER_"))}
    env |= {"MLOPS_HOME": str(home), "DAGSTER_HOME": str(instance_dir), "MLOPS_MLFLOW_UI_URL": ui_url}
    months = write_months(root / "incoming", n_users=N_USERS, scenario=("baseline", "concept_drift"), seed=11)

    port, log = free_port(), root / "dagster_dev.log"
    dagster = start_process(
        [str(BIN / "dagster"), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        env, ROOT, log,
    )
    try:
        dagster_url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{dagster_url}/server_info"), "dagster dev", dagster, log, timeout=180)
        for folder in months:
            deliver(folder, home / "landing")
        instance = DagsterInstance.from_config(str(instance_dir))
        deadline = time.time() + CYCLE_TIMEOUT_S
        while len(_decisions(instance)) < len(MONTHS):
            failed = instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.FAILURE]))
            assert not failed, f"run {failed[0].job_name} {failed[0].tags.get('dagster/partition')} failed"
            assert dagster.poll() is None and time.time() < deadline, (
                f"no decision for every month after {CYCLE_TIMEOUT_S} s: {_decisions(instance)}\n"
                + log.read_text(errors="replace")[-3000:]
            )
            time.sleep(3)
        defs = build_definitions(home, environ={"MLOPS_MLFLOW_UI_URL": ui_url})
        runs = sorted(instance.get_runs(), key=lambda run: instance.get_run_record_by_id(run.run_id).create_timestamp)
        yield SmallCycle(home, instance_dir, env, ui_url, mlflow_port, dagster_url, log, defs, instance, runs)
        instance.dispose()
    finally:
        stop(dagster, group=True)
