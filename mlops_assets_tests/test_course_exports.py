"""The course's own monthly exports, files unchanged, through the README's plain path: `mlops-assets
deliver` each folder as a month, then `dagster asset materialize` each month as a separate process.

The folders come from `course_exports.py` (the course exporter's format, not our generator): both
months import, the quality check names what is suspicious in them, and the second month's
retraining promotes because the first month's model falls below chance on its users."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from mlops_assets.records import latest_metadata
from mlops_assets_tests.course_exports import N_USERS, write_course_months

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(args, env, timeout=900):
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result


def test_the_course_months_import_unchanged_and_the_second_month_promotes(tmp_path):
    month_000, month_001 = write_course_months(tmp_path / "exports")
    home = tmp_path / "home"
    env = dict(os.environ, MLOPS_HOME=str(home), DAGSTER_HOME=str(home / "dagster"), MLOPS_FIRST_MONTH="2024-01")
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLOPS_LANDING_DIR", "MLOPS_FEAST_REPO"):
        env.pop(name, None)

    delivered = _run([BIN / "mlops-assets", "deliver", month_000, "--month", "2024-01"], env)
    assert "as month 2024-01" in delivered.stdout
    _run([BIN / "mlops-assets", "deliver", month_001, "--month", "2024-02"], env)
    _run([BIN / "mlops-assets", "init"], env)
    logs = {}
    for month in ("2024-01", "2024-02"):
        logs[month] = _run(
            [BIN / "dagster", "asset", "materialize", "-m", "mlops_assets.definitions", "--select", "*", "--partition", month], env
        ).stderr

    instance = DagsterInstance.from_config(env["DAGSTER_HOME"])
    try:
        assert instance.get_materialized_partitions(AssetKey("monthly_snapshot")) == {"2024-01", "2024-02"}
        for month in ("2024-01", "2024-02"):
            snapshot = latest_metadata(instance, "monthly_snapshot", month)
            assert snapshot["dagster/row_count"] == N_USERS
            assert snapshot["labelled_users"] == N_USERS  # True/False labels, every user labelled
        # What a person should be warned about in the course's files, by name.
        warnings = " | ".join(latest_metadata(instance, "monthly_snapshot", "2024-02")["quality_warnings"])
        assert "avg_session_mins_7d" in warnings
        assert "users.csv" in warnings and "subscriptions.csv" in warnings  # identical to 2024-01
        assert "region" in warnings  # the exporter's extra column, ignored

        first = latest_metadata(instance, "promotion_decision", "2024-01")["record"]
        second = latest_metadata(instance, "promotion_decision", "2024-02")["record"]
        assert first["decision"] == "promoted"
        assert second["decision"] == "promoted", json.dumps(second, indent=1)
        assert second["production_version_before"] == first["candidate_version"]
        # The first month's model is below chance on the second month's held-out users, and
        # the retrained candidate clears it by far.
        assert second["production_auc"] < 0.5
        assert second["candidate_auc"] > 0.75
        assert "[DECISION] promoted" in logs["2024-02"]
    finally:
        instance.dispose()
