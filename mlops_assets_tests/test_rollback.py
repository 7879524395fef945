"""Rollback (issue 9 §4), for real: production goes back to an earlier vetted version through the
CLI (the Launchpad's `rollback_job`), recorded as the month's decision with its checks; versions
that never cleared delta or do not load are refused and nothing moves; the next month, driven by
the sensors, compares its candidate against the rolled-back model."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, AssetRecordsFilter

from mlops_assets.cli import play_months, status_rows
from mlops_assets.definitions import build_definitions
from mlops_assets.rollback import run_rollback
from mlops_assets_tests.faults.platform import Platform

pytestmark = pytest.mark.slow

MONTH = "2024-02"


def decision_history(platform, month):
    found = platform.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("promotion_decision"), asset_partitions=[month]), limit=50, ascending=True
    ).records
    return [r.asset_materialization.metadata["record"].value for r in found]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """v1 (2024-01, bootstrap) and v2 (2024-02, promoted) through the sensors; then v3, a 2024-02
    candidate that did not clear delta."""
    platform = Platform(tmp_path_factory.mktemp("rollback"), scenario=("baseline", "concept_drift", "quiet"))
    platform.cursors = {}
    runs = play_months(platform.defs, platform.instance, platform.incoming[:2], cursors=platform.cursors)
    assert all(outcome.success for _, _, outcome in runs)
    skipped = platform.retrain(MONTH, run_config={"ops": {"promotion_decision": {"config": {"delta": 0.9}}}})
    assert skipped.output_for_node("promotion_decision")["candidate_version"] == "3"
    assert platform.production_version() == "2"
    return platform


def test_a_version_that_never_cleared_delta_is_refused(platform):
    before = decision_history(platform, MONTH)
    record, refused = run_rollback(platform.defs, platform.instance, "3", "try the skipped one")
    assert record is None
    assert "rollback refused: v3 never cleared delta" in refused and "production stays v2" in refused
    assert platform.production_version() == "2"
    assert decision_history(platform, MONTH) == before
    assert not any(key.startswith("rollback.") for key in platform.registry.version_tags("3"))


def test_unknown_and_current_versions_are_refused(platform):
    assert "v42 is not a version" in run_rollback(platform.defs, platform.instance, "42", "typo")[1]
    assert "v2 is already production" in run_rollback(platform.defs, platform.instance, "2", "no-op")[1]
    assert "is not a partition" in run_rollback(platform.defs, platform.instance, "1", "bad month", month="2024-13")[1]
    assert platform.production_version() == "2"


def test_a_version_that_does_not_load_is_refused(platform):
    client = platform.registry.client()
    folder = Path(client.get_model_version_download_uri(platform.registry.model_name, "1").removeprefix("file://"))
    model_file = folder / "model.skops"
    kept = platform.root / "model.skops.kept"
    shutil.copy2(model_file, kept)
    try:
        model_file.write_bytes(b"not a model")
        record, refused = run_rollback(platform.defs, platform.instance, "1", "the file is broken")
    finally:
        shutil.copy2(kept, model_file)
    assert record is None
    assert "v1 does not load and score its month's validation rows" in refused
    assert platform.production_version() == "2"
    assert not any(key.startswith("rollback.") for key in platform.registry.version_tags("1"))


def test_a_version_that_does_not_re_score_its_logged_auc_is_refused(platform):
    client = platform.registry.client()
    run_id = client.get_model_version(platform.registry.model_name, "1").run_id
    logged = client.get_run(run_id).data.metrics["val_auc"]
    client.log_metric(run_id, "val_auc", logged - 0.05)  # the run now claims another AUC
    try:
        record, refused = run_rollback(platform.defs, platform.instance, "1", "the metric lies")
    finally:
        client.log_metric(run_id, "val_auc", logged)
    assert record is None
    assert f"v1 scores AUC {logged:.6f} on 2024-01's" in refused and f"not the {logged - 0.05:.6f} it logged" in refused
    assert platform.production_version() == "2"
    assert client.get_run(run_id).data.metrics["val_auc"] == logged


def test_rollback_from_the_command_line_moves_production_and_is_recorded(platform):
    env = os.environ | {"MLOPS_HOME": str(platform.home), "DAGSTER_HOME": str(platform.instance_dir)}
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLOPS_FEAST_REPO", "MLOPS_STORAGE_DIR", "MLOPS_LANDING_DIR"):
        env.pop(name, None)
    cli = Path(sys.executable).with_name("mlops-assets")
    done = subprocess.run(
        [str(cli), "rollback", "--to", "1", "--reason", "v2 misbehaves on the new app"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "rolled back from v2 to v1" in done.stdout and "@production -> v1" in done.stdout

    production = platform.registry.production()
    assert production["version"] == "1" and production["tags"]["promotion.cleared_delta"] == "true"
    assert production["tags"]["rollback.month"] == MONTH and production["tags"]["rollback.from_version"] == "2"
    assert production["tags"]["rollback.reason"] == "v2 misbehaves on the new app"
    assert platform.registry.version_tags("2")["rollback.replaced_by"] == "1"

    # The decision history of the month: the promotion, the skipped candidate, the rollback.
    history = decision_history(platform, MONTH)
    assert [r["decision"] for r in history] == ["promoted", "skipped", "rolled_back"]
    rollback = history[-1]
    assert rollback["production_version_before"] == "2" and rollback["production_version_after"] == "1"
    assert rollback["rollback"]["reason"] == "v2 misbehaves on the new app"
    assert rollback["rollback"]["rescored_auc"] == pytest.approx(rollback["rollback"]["logged_val_auc"], abs=1e-9)
    assert rollback["rollback"]["version_month"] == "2024-01"

    # The checks hold afterwards, recorded on the month's decision.
    for check in ("production_cleared_delta", "production_matches_decision"):
        key = AssetCheckKey(AssetKey("promotion_decision"), check)
        execution = platform.instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        assert execution.status.value == "SUCCEEDED" and execution.run_id == rollback["dagster_run_id"], check

    # status reads the rollback like any decision.
    row = next(r for r in status_rows(platform.instance) if r["as_of"] == "2024-02-29")
    assert row["state"] == "decided" and row["detail"].startswith("rolled_back")
    assert row["prod_v"] == "2" and row["prod_after"] == "1"


def test_the_next_month_compares_against_the_rolled_back_model(platform):
    runs = play_months(platform.defs, platform.instance, platform.incoming[2:], cursors=platform.cursors)
    retrainings = [(sensor, outcome) for sensor, month, outcome in runs if outcome.job_name == "retraining_job"]
    cycle_runs = [month for _, month, outcome in runs if outcome.job_name in ("ingest_month_job", "retraining_job")]
    assert cycle_runs == ["2024-03", "2024-03"] and len(retrainings) == 1
    assert retrainings[0][1].success
    performance = platform.latest("production_performance", "2024-03")
    assert performance["production_version"] == "1"  # v1 (concept A) on a concept-B month: a drop
    production = platform.latest("production_metrics", "2024-03")
    assert production["production_version"] == "1"
    record = platform.latest("promotion_decision", "2024-03")["record"]
    assert record["production_version_before"] == "1"
    stored = platform.defs.load_asset_value("production_metrics", instance=platform.instance, partition_key="2024-03")
    assert record["production_auc"] == pytest.approx(stored["production_auc"], abs=1e-12)
    assert production["production_auc"] == pytest.approx(stored["production_auc"], abs=5e-5)  # metadata: rounded
    assert record["decision"] == "promoted" and platform.production_version() == record["candidate_version"]


def test_rollback_job_decides_in_the_production_alias_pool_and_queues_with_the_cycle(tmp_path):
    job = build_definitions(tmp_path, environ={}).resolve_job_def("rollback_job")
    assert job.graph.node_named("rollback_production").definition.pool == "production_alias"
    assert job.tags["mlops_assets/cycle"] == "monthly"
