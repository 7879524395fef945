"""Retraining when performance drops (issue 9 §3), end to end through the real sensors: a baseline
month, a concept-drift month (the fee moves, so drift and performance both ask: one retraining),
and a silent concept-drift month (no feature moves; only the performance trigger retrains)."""

import pytest
from dagster import RunsFilter, SkipReason, build_sensor_context, instance_for_test

from mlops_assets import generator, records
from mlops_assets.cli import play_months
from mlops_assets.definitions import build_definitions
from mlops_assets.domain.schema import LABEL
from mlops_assets.generator import write_months
from mlops_assets.resources import RetrainingPolicy
from mlops_assets.sensors import drift_sensor, performance_sensor

# More than 1,000 rows: Evidently then uses its distance tests (Wasserstein, Jensen-Shannon) rather
# than p-values, so a month whose features do not move reports no drift.
N_USERS = 1200
SCENARIO = ("baseline", "concept_drift", "silent_concept_drift")


# -- the scenario month kind, measured on the generator's frames ---------------------------------------------------
def test_silent_concept_drift_draws_the_features_of_a_quiet_month_and_other_labels():
    quiet = generator.generate_month_frames(n_users=800, scenario=("baseline", "quiet"), seed=3)
    silent = generator.generate_month_frames(n_users=800, scenario=("baseline", "silent_concept_drift"), seed=3)
    # The existing kinds' output is untouched, and the silent month's features are exactly the
    # quiet month's: no covariate drift at all.
    for file_name, frame in quiet["2024-01"].items():
        assert frame.equals(silent["2024-01"][file_name]), file_name
    for file_name, frame in quiet["2024-02"].items():
        if file_name != "labels.csv":
            assert frame.equals(silent["2024-02"][file_name]), file_name
    # Only the labels tell: they follow the other concept.
    quiet_labels = quiet["2024-02"]["labels.csv"][LABEL].to_numpy()
    silent_labels = silent["2024-02"]["labels.csv"][LABEL].to_numpy()
    assert (quiet_labels != silent_labels).mean() > 0.15


def test_the_scenario_kinds_are_listed_and_the_demo_is_unchanged():
    assert "silent_concept_drift" in generator.MONTH_KINDS
    assert generator.DEMO_SCENARIO == ("baseline", "quiet", "concept_drift", "covariate_drift")


# -- end to end through the sensors ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cycle(home, defs, instance):
    months = write_months(home / "incoming", n_users=N_USERS, scenario=SCENARIO, first_month="2024-01", seed=11)
    return play_months(defs, instance, months)


def latest(instance, asset, month) -> dict:
    metadata = records.latest_metadata(instance, asset, month)
    assert metadata is not None, f"{asset} {month} was never materialized"
    return metadata


@pytest.mark.slow
def test_one_retraining_per_month_whatever_asked(cycle, instance):
    # The monitoring-and-retraining runs (scoring and the online store have runs of their own).
    summary = [(sensor, month, outcome.job_name, outcome.success) for sensor, month, outcome in cycle
               if outcome.job_name in ("ingest_month_job", "retraining_job")]
    assert summary == [
        ("new_month_sensor", "2024-01", "ingest_month_job", True),
        ("drift_sensor", "2024-01", "retraining_job", True),  # first month: bootstrap
        ("new_month_sensor", "2024-02", "ingest_month_job", True),
        ("drift_sensor", "2024-02", "retraining_job", True),  # drift and performance: one run
        ("new_month_sensor", "2024-03", "ingest_month_job", True),
        ("performance_sensor", "2024-03", "retraining_job", True),  # performance alone
    ]
    for month in ("2024-01", "2024-02", "2024-03"):
        runs = instance.get_run_records(RunsFilter(job_name="retraining_job", tags={"dagster/partition": month}))
        assert len(runs) == 1, month


@pytest.mark.slow
def test_silent_concept_drift_retrains_on_performance_alone(cycle, instance, defs):
    policy = defs.resources["policy"]
    drift = latest(instance, "drift_report", "2024-03")
    assert drift["action"] == "NO_ACTION" and drift["drift_share"] < policy.drift_threshold
    performance = latest(instance, "production_performance", "2024-03")
    assert performance["action"] == "RETRAINING_TRIGGERED"
    assert performance["production_version"] == "2"
    assert performance["auc_at_promotion"] - performance["auc_now"] == pytest.approx(performance["drop"])
    assert performance["drop"] > policy.performance_drop_threshold
    record = latest(instance, "promotion_decision", "2024-03")["record"]
    assert record["decision"] == "promoted" and record["production_version_after"] == record["candidate_version"] == "3"
    assert record["retraining_trigger"] == "performance" and record["requested_by"] == "performance_sensor"
    detail = record["retraining_trigger_detail"]
    assert detail["drift_action"] == "NO_ACTION" and detail["performance_action"] == "RETRAINING_TRIGGERED"
    assert detail["drop"] == pytest.approx(performance["drop"]) and detail["drop_threshold"] == 0.03
    assert defs.resources["registry"].production()["version"] == "3"


@pytest.mark.slow
def test_concept_drift_with_a_visible_fee_cut_is_asked_for_by_both(cycle, instance):
    assert latest(instance, "drift_report", "2024-02")["action"] == "RETRAINING_TRIGGERED"
    assert latest(instance, "production_performance", "2024-02")["action"] == "RETRAINING_TRIGGERED"
    record = latest(instance, "promotion_decision", "2024-02")["record"]
    assert record["retraining_trigger"] == "both" and record["requested_by"] == "drift_sensor"
    first = latest(instance, "promotion_decision", "2024-01")["record"]
    assert first["retraining_trigger"] == "drift"  # the bootstrap month: no reference, no production
    assert latest(instance, "production_performance", "2024-01")["has_production"] is False


@pytest.mark.slow
def test_performance_scores_production_exactly_as_the_retraining_does(cycle, instance, defs):
    # Feast features of the validation users alone, in the ingest run, give the same rows and the
    # same AUC as production_metrics on the full training set in the retraining run.
    for month in ("2024-02", "2024-03"):
        performance = latest(instance, "production_performance", month)
        production = latest(instance, "production_metrics", month)
        assert performance["production_version"] == production["production_version"]
        assert performance["validation_rows"] == production["validation_rows"] > 200
        stored = defs.load_asset_value("production_metrics", instance=instance, partition_key=month)
        assert performance["validation_fingerprint"] == stored["validation_fingerprint"]
        # Metadata is rounded for people (4 decimals); the stored values keep full precision.
        assert performance["auc_now"] == pytest.approx(production["production_auc"], abs=5e-5)
        assert defs.load_asset_value("production_performance", instance=instance, partition_key=month)["auc_now"] == pytest.approx(
            stored["production_auc"], abs=1e-12)


@pytest.mark.slow
def test_performance_sensor_requests_once_per_ingest_run_and_leaves_months_drift_asks_for_to_drift(cycle, instance, defs, capfd):
    policy = defs.resources["policy"]
    capfd.readouterr()
    first = performance_sensor(build_sensor_context(instance=instance, resources={"policy": policy}))
    logged = capfd.readouterr().err  # the sensor context logs to Dagster's console logger
    # 2024-02's drift report (same ingest run) asks too: that retraining is drift_sensor's.
    assert [r.partition_key for r in first.run_requests] == ["2024-03"]
    ingest_run = records.latest_materialization(instance, "production_performance", "2024-03").run_id
    assert first.run_requests[0].run_key == f"retrain:2024-03:{ingest_run}"
    assert "month 2024-02: the drift report of ingest run" in logged and "drift_sensor requests the one retraining" in logged
    assert "[PERFORMANCE] month=2024-03 prod_v=2 auc_at_promotion=" in logged
    assert "-> RETRAINING_TRIGGERED" in logged
    again = performance_sensor(build_sensor_context(instance=instance, cursor=first.cursor, resources={"policy": policy}))
    assert isinstance(again, SkipReason)
    lenient = RetrainingPolicy(performance_drop_threshold=1.0)
    assert performance_sensor(build_sensor_context(instance=instance, resources={"policy": lenient})).run_requests == []


@pytest.mark.slow
def test_drift_sensor_defers_to_a_retraining_the_performance_sensor_requested(cycle, instance):
    # Were drift to ask for 2024-03 too, the performance sensor's run for that ingest run stands.
    eager = RetrainingPolicy(drift_threshold=0.0)
    result = drift_sensor(build_sensor_context(instance=instance, resources={"policy": eager}))
    assert sorted(r.partition_key for r in result.run_requests) == ["2024-01", "2024-02"]


def test_the_drop_threshold_comes_from_the_environment(tmp_path):
    built = build_definitions(tmp_path, environ={"MLOPS_PERFORMANCE_DROP_THRESHOLD": "0.05"})
    assert built.resources["policy"].performance_drop_threshold == 0.05
    assert build_definitions(tmp_path, environ={}).resources["policy"].performance_drop_threshold == 0.03


def test_performance_sensor_waits_for_a_running_ingest_runs_drift_report():
    # Mid-run, production_performance can be in before drift_report: the sensor cannot yet know
    # whether the month is drift_sensor's to request, so it waits; a run that ended without a
    # drift report (its drift report failed) leaves the month to the performance trigger.
    from dagster import DagsterRun, DagsterRunStatus

    from mlops_assets.sensors import _drift_asks_in_run

    with instance_for_test() as instance:
        run = instance.add_run(DagsterRun(job_name="ingest_month_job", run_id="0" * 36, status=DagsterRunStatus.STARTED))
        assert _drift_asks_in_run(instance, run.run_id, RetrainingPolicy()) is None
        instance.report_run_failed(run)
        assert _drift_asks_in_run(instance, run.run_id, RetrainingPolicy()) is False

