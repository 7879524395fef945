"""The README's command-line paths: `dagster asset materialize` of one month, and `mlops-assets status`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_assets.generator import write_months
from mlops_assets.cli import deliver

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_dagster_asset_materialize_one_month_then_status(tmp_path):
    home = tmp_path / "home"
    env = dict(os.environ, MLOPS_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLOPS_LANDING_DIR", "MLOPS_FEAST_REPO"):
        env.pop(name, None)
    (month,) = write_months(tmp_path / "incoming", n_users=300, scenario=("baseline",), seed=3)
    deliver(month, home / "landing")
    subprocess.run([str(BIN / "mlops-assets"), "init"], env=env, check=True, capture_output=True)
    result = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "mlops_assets.definitions", "--select", "*", "--partition", "2024-01"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "[DECISION] promoted" in result.stderr
    assert "[SUMMARY] as_of=2024-01-31 cand_v=1" in result.stderr
    status = subprocess.run([str(BIN / "mlops-assets"), "status"], env=env, capture_output=True, text=True, check=True)
    assert "2024-01-31" in status.stdout and "promoted" in status.stdout
    assert "@production -> v1" in status.stdout


@pytest.mark.parametrize("month", ["2024-13", "2023-12"])
def test_dagster_cli_rejects_a_partition_that_does_not_exist(tmp_path, month):
    env = dict(os.environ, MLOPS_HOME=str(tmp_path), DAGSTER_HOME=str(tmp_path / "dagster"))
    subprocess.run([str(BIN / "mlops-assets"), "init"], env=env, check=True, capture_output=True)
    result = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "mlops_assets.definitions", "--select", "*", "--partition", month],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0
    assert f"partition key `{month}`" in result.stderr
