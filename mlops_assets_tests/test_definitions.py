"""The code location loads, and every job, sensor and check resolves."""

import subprocess
import sys
from pathlib import Path

from dagster import AssetKey, Definitions

from mlops_assets.definitions import build_definitions, defs

ASSETS = {
    "monthly_snapshot", "training_dataset", "candidate_model", "production_metrics", "drift_report",
    "production_performance", "promotion_decision", "churn_scores", "online_features",
}
ROOT = Path(__file__).resolve().parents[1]


def test_definitions_load_and_resolve_everything(tmp_path):
    built = build_definitions(tmp_path, environ={})
    Definitions.validate_loadable(built)
    graph = built.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == ASSETS
    jobs = {job.name for job in built.resolve_all_job_defs()}
    assert {"ingest_month_job", "retraining_job", "monthly_cycle_job", "drift_report_job", "rollback_job", "scoring_job", "online_features_job"} <= jobs
    for name in ("new_month_sensor", "drift_sensor", "performance_sensor", "replaced_month_sensor", "online_features_sensor"):
        sensor = built.resolve_sensor_def(name)
        targets = {target.job_name for target in sensor.targets}
        assert targets and targets <= jobs
    checks = {key.name for key in graph.asset_check_keys}
    assert checks == {"snapshot_quality", "training_data_sanity", "production_cleared_delta", "production_matches_decision"}
    specs = [spec for a in graph.assets_defs for spec in a.check_specs]
    # Only the snapshot's quality check warns without blocking; every check belongs to its month.
    assert {spec.name for spec in specs if spec.blocking} == checks - {"snapshot_quality"}
    assert all(spec.partitions_def == graph.get(spec.asset_key).partitions_def for spec in specs)


def test_every_asset_is_monthly_partitioned_and_decisions_chain_month_to_month():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        assert graph.get(key).partitions_def.get_partition_keys()[0] == "2024-01"
    decision = graph.get(AssetKey("promotion_decision"))
    assert AssetKey("promotion_decision") in decision.parent_keys  # self-dependency: previous month


def test_module_default_uses_home_folder_from_environment(tmp_path):
    environ = {"MLOPS_HOME": str(tmp_path)}
    built = build_definitions(tmp_path, environ=environ)
    registry = built.resources["registry"]
    assert registry.tracking_uri == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    assert built.resources["feature_store"].repo_path == str(tmp_path / "feast")
    moved = build_definitions(tmp_path, environ={"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"})
    assert moved.resources["registry"].tracking_uri == "http://127.0.0.1:5000"
    assert moved.resources["registry"].artifact_location is None


def test_dagster_cli_validates_the_code_location(tmp_path):
    env = {"MLOPS_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# What every process that loads the code location (webserver, daemon, every run) would pay for
# without using: the assets import these inside the steps that need them.
HEAVY_AT_LOAD = ("scipy", "sklearn", "feast", "mlflow", "evidently", "matplotlib")


def test_loading_the_definitions_imports_no_heavy_library():
    code = (
        "import sys, json; import mlops_assets.definitions; "
        f"print(json.dumps([m for m in {HEAVY_AT_LOAD!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
