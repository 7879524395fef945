"""Two months of the real cycle, driven by the real sensors, on small data: a temporary Dagster
instance, a real Feast repo (DuckDB offline store), a real MLflow registry (SQLite), real
Evidently reports. Asserts decisions and registry state, then the sensors' contracts."""

import json
import re
from pathlib import Path

import pytest
from dagster import (
    AssetCheckKey,
    AssetKey,
    DagsterInstance,
    SkipReason,
    build_sensor_context,
)

from mlops_assets.cli import play_months, status_rows
from mlops_assets import records
from mlops_assets.domain.promotion import DEFAULT_POLICY
from mlops_assets.domain.schema import FEATURES
from mlops_assets.generator import write_months
from mlops_assets.resources import RetrainingPolicy
from mlops_assets.sensors import drift_sensor, new_month_sensor

pytestmark = pytest.mark.slow

N_USERS = 500
SCENARIO = ("baseline", "concept_drift")


@pytest.fixture(scope="module")
def months(home):
    return write_months(home / "incoming", n_users=N_USERS, scenario=SCENARIO, first_month="2024-01", seed=11)


@pytest.fixture(scope="module")
def cycle(home, defs, instance, months):
    """Deliver each month and obey both sensors, as the daemon would."""
    return {"runs": play_months(defs, instance, months)}


def latest_metadata(instance: DagsterInstance, asset: str, month: str) -> dict:
    metadata = records.latest_metadata(instance, asset, month)
    assert metadata is not None, f"{asset} {month} was never materialized"
    return metadata


def test_every_requested_run_succeeded_in_order(cycle):
    summary = [(sensor, month, outcome.job_name, outcome.success) for sensor, month, outcome in cycle["runs"]]
    assert summary == [
        ("new_month_sensor", "2024-01", "ingest_month_job", True),
        ("drift_sensor", "2024-01", "retraining_job", True),  # first month: bootstrap
        ("online_features_sensor", "2024-01", "online_features_job", True),
        ("new_month_sensor", "2024-02", "ingest_month_job", True),
        ("drift_sensor", "2024-02", "retraining_job", True),  # drift over threshold
        ("online_features_sensor", "2024-02", "online_features_job", True),
    ]


def test_first_month_bootstraps_production(cycle, instance, defs):
    decision = latest_metadata(instance, "promotion_decision", "2024-01")["record"]
    assert decision["decision"] == "promoted"
    assert decision["production_version_before"] is None
    assert decision["production_version_after"] == decision["candidate_version"] == "1"
    drift = latest_metadata(instance, "drift_report", "2024-01")
    assert drift["has_reference"] is False


def test_concept_drift_month_promotes_a_clearly_better_candidate(cycle, instance, defs):
    decision = latest_metadata(instance, "promotion_decision", "2024-02")["record"]
    assert decision["production_version_before"] == "1"
    assert decision["candidate_auc"] >= decision["production_auc"] + decision["delta"]
    assert decision["decision"] == "promoted"
    assert decision["production_version_after"] == "2"
    registry = defs.resources["registry"]
    production = registry.production()
    assert production["version"] == "2"
    assert production["tags"]["partition"] == "2024-02"
    assert production["tags"]["promotion.cleared_delta"] == "true"
    assert float(production["tags"]["val_auc"]) == pytest.approx(decision["candidate_auc"], abs=1e-6)


def test_candidate_and_production_were_scored_on_the_same_rows(cycle, instance):
    candidate = latest_metadata(instance, "candidate_model", "2024-02")
    production = latest_metadata(instance, "production_metrics", "2024-02")
    assert candidate["validation_rows"] == production["validation_rows"] > 0


def test_the_decision_record_carries_the_paired_comparison(cycle, instance, defs):
    record = latest_metadata(instance, "promotion_decision", "2024-02")["record"]
    assert record["policy"] == DEFAULT_POLICY.value and record["alpha"] == 0.05
    assert record["comparison_method"] == "delong"
    low, high = record["difference_ci"]
    assert low <= record["difference"] <= high
    assert record["difference"] == pytest.approx(record["candidate_auc"] - record["production_auc"], abs=1e-9)
    assert 0.0 <= record["p_value"] <= 1.0 and record["significant"] is True
    # The concept-drift gain is far beyond the noise: the default policy decides as delta would.
    assert record["gain_reaches_delta"] is True and record["decision"] == "promoted"
    assert "significant" in record["reason"] and "both hold" in record["reason"]
    tags = defs.resources["registry"].version_tags(record["candidate_version"])
    assert tags["promotion.policy"] == DEFAULT_POLICY.value and float(tags["promotion.p_value"]) == pytest.approx(record["p_value"])
    assert float(tags["promotion.difference"]) == pytest.approx(record["difference"])
    bootstrap = latest_metadata(instance, "promotion_decision", "2024-01")["record"]
    assert bootstrap["difference"] is None and bootstrap["p_value"] is None and bootstrap["decision"] == "promoted"


def test_drift_report_files_and_metadata(cycle, instance, defs):
    drift = latest_metadata(instance, "drift_report", "2024-02")
    assert drift["has_reference"] is True
    assert 0.0 <= drift["drift_share"] <= 1.0
    assert drift["drift_share"] >= defs.resources["policy"].drift_threshold
    html, report_json = Path(drift["report_html"]), Path(drift["report_json"])
    assert html.name == "drift_2024-01-31_vs_2024-02-29.html" and html.stat().st_size > 10_000
    assert json.loads(report_json.read_text())["metrics"]
    assert set(drift["per_column_drift"]) <= set(FEATURES)


def test_feast_repo_registers_the_schema_features(cycle, defs):
    feature_store = defs.resources["feature_store"]
    store = feature_store.apply()
    registered = sorted(f"{fv.name}:{f.name}" for fv in store.list_feature_views() for f in fv.features)
    assert registered == sorted(feature_store.feature_refs())
    assert len(registered) == 14 and not any(ref.endswith(":user_id") for ref in registered)


def test_checks_passed(cycle, instance):
    for check in ("training_data_sanity", "production_cleared_delta", "production_matches_decision"):
        asset = "training_dataset" if check == "training_data_sanity" else "promotion_decision"
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([AssetCheckKey(AssetKey(asset), check)])
        execution = record[AssetCheckKey(AssetKey(asset), check)]
        assert execution.status.value == "SUCCEEDED", (check, execution)


def test_a_candidate_that_misses_delta_is_skipped_and_production_stays(cycle, instance, defs):
    registry = defs.resources["registry"]
    before = registry.production()["version"]
    job = defs.resolve_job_def("retraining_job")
    result = job.execute_in_process(
        instance=instance,
        partition_key="2024-02",
        run_config={"ops": {"promotion_decision": {"config": {"delta": 0.9}}}},
    )
    assert result.success
    record = result.output_for_node("promotion_decision")
    assert record["decision"] == "skipped" and not record["cleared_delta"]
    assert record["candidate_version"] != before
    assert registry.production()["version"] == before
    tags = registry.version_tags(record["candidate_version"])
    assert tags["promotion.decision"] == "skipped" and tags["promotion.cleared_delta"] == "false"


def test_rerunning_an_old_month_never_moves_production_backwards(cycle, instance, defs):
    registry = defs.resources["registry"]
    before = registry.production()["version"]
    job = defs.resolve_job_def("retraining_job")
    result = job.execute_in_process(
        instance=instance, partition_key="2024-01", run_config={"ops": {"promotion_decision": {"config": {"delta": 0.0}}}}
    )
    assert result.success
    record = result.output_for_node("promotion_decision")
    assert record["decision"] == "skipped" and "backwards" in record["reason"]
    assert registry.production()["version"] == before


def test_status_table_lists_both_months(cycle, instance):
    rows = status_rows(instance)
    assert [r["as_of"] for r in rows] == ["2024-01-31", "2024-02-29"]
    assert rows[0]["triggered"] == "drift"  # what the bootstrap month's decision recorded


# -- sensors against the real instance ------------------------------------------------------------
def test_drift_sensor_triggers_once_per_report(cycle, instance, defs):
    policy = defs.resources["policy"]
    first = drift_sensor(build_sensor_context(instance=instance, resources={"policy": policy}))
    requested = [(r.partition_key, r.run_key) for r in first.run_requests]
    months = [m for m, _ in requested]
    assert "2024-01" in months and "2024-02" in months
    assert len(set(k for _, k in requested)) == len(requested)
    again = drift_sensor(build_sensor_context(instance=instance, cursor=first.cursor, resources={"policy": policy}))
    assert isinstance(again, SkipReason)  # no duplicate retraining for the same report


def test_drift_sensor_takes_no_action_below_threshold(cycle, instance):
    strict = RetrainingPolicy(drift_threshold=1.01)
    result = drift_sensor(build_sensor_context(instance=instance, resources={"policy": strict}))
    requested = {(r.partition_key, r.job_name) for r in result.run_requests}
    # Only the first month (no reference: bootstrap) still trains; the other is scored only.
    assert requested == {("2024-01", "retraining_job"), ("2024-02", "scoring_job")}


def test_new_month_sensor_requests_new_and_redelivered_months_only(cycle, home, defs, instance):
    landing = defs.resources["landing"]
    first = new_month_sensor(build_sensor_context(instance=instance, resources={"landing": landing}))
    assert [r.partition_key for r in first.run_requests] == ["2024-01", "2024-02"]
    again = new_month_sensor(build_sensor_context(instance=instance, cursor=first.cursor, resources={"landing": landing}))
    assert isinstance(again, SkipReason)
    labels = Path(landing.path) / "2024-02" / "labels.csv"
    labels.write_text(labels.read_text() + "")  # same content: still nothing new
    assert isinstance(new_month_sensor(build_sensor_context(instance=instance, cursor=first.cursor, resources={"landing": landing})), SkipReason)
    half = Path(landing.path) / "2024-03"
    half.mkdir()
    (half / "users.csv").write_text("user_id\n")  # half-copied month: not ready, named, not requested yet
    waiting = new_month_sensor(build_sensor_context(instance=instance, cursor=first.cursor, resources={"landing": landing}))
    assert not waiting.run_requests and "incomplete: 2024-03 (missing subscriptions.csv" in waiting.skip_reason.skip_message


# -- the promotion policy's record: paired difference, interval, p-value, policy ------------------
COMPARE_LINE = re.compile(
    r"^\[COMPARE\] candidate_auc=\d\.\d{4} vs prod_auc=\d\.\d{4} \(delta=[\d.]+\) "
    r"diff=-?\d\.\d{4} ci=\[-?\d\.\d{4}, -?\d\.\d{4}\] p=\d\.\d{4} policy=(\w+)( alpha=[\d.]+)?$"
)


def compare_lines(instance, run_id):
    return [e.user_message for e in instance.all_logs(run_id) if e.user_message.startswith("[COMPARE]")]


def test_an_identical_candidate_is_noise_for_significant_and_equal_for_delta_zero(cycle, instance, defs):
    """Re-training 2024-02 on the same rows gives the same model: the paired difference is exactly 0.
    Today's rule with delta 0 promotes an equal AUC (unchanged); `significant` sees no evidence."""
    registry = defs.resources["registry"]
    before = registry.production()["version"]
    job = defs.resolve_job_def("retraining_job")
    significant = job.execute_in_process(
        instance=instance, partition_key="2024-02",
        run_config={"ops": {"promotion_decision": {"config": {"policy": "significant", "delta": 0.0}}}},
    )
    record = significant.output_for_node("promotion_decision")
    assert record["difference"] == 0.0 and record["p_value"] == 0.5 and record["difference_ci"] == [0.0, 0.0]
    assert record["decision"] == "skipped" and not record["cleared_delta"] and record["gain_reaches_delta"]
    assert "within the noise" in record["reason"]
    assert registry.production()["version"] == before
    assert registry.version_tags(record["candidate_version"])["promotion.cleared_delta"] == "false"
    [line] = compare_lines(instance, significant.run_id)
    assert COMPARE_LINE.match(line).group(1) == "significant"

    delta = job.execute_in_process(
        instance=instance, partition_key="2024-02",
        run_config={"ops": {"promotion_decision": {"config": {"policy": "delta", "delta": 0.0}}}},
    )
    record = delta.output_for_node("promotion_decision")
    assert record["policy"] == "delta" and record["alpha"] is None and record["p_value"] == 0.5
    assert record["decision"] == "promoted" and record["cleared_delta"]
    assert registry.production()["version"] == record["candidate_version"] != before
    [line] = compare_lines(instance, delta.run_id)
    assert COMPARE_LINE.match(line).group(1) == "delta" and "alpha" not in line
