"""Faults, for real: a registry that is down, a crash between registering and moving the alias,
two runs of one month at once, a sensor evaluated again after a restart. Production is never left
on an unvetted model and a re-run always ends consistent."""

import socket
import subprocess
import sys

import pytest
from dagster import AssetKey, AssetRecordsFilter, DagsterRunStatus, RunsFilter, SkipReason, build_sensor_context

from mlops_assets.definitions import build_definitions
from mlops_assets.sensors import drift_sensor
from mlops_assets_tests.faults.platform import Platform, failure_text

pytestmark = pytest.mark.slow


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def decisions(platform, month):
    records = platform.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("promotion_decision"), asset_partitions=[month]), limit=20, ascending=True
    ).records
    return [r.asset_materialization.metadata["record"].value for r in records]


def run_in_process(platform, job, month, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "mlops_assets_tests.faults.run_job", str(platform.home), str(platform.instance_dir), job, month, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    platform = Platform(tmp_path_factory.mktemp("faults"), scenario=("baseline", "concept_drift", "quiet"))
    platform.process("2024-01")
    platform.deliver("2024-02")
    assert platform.ingest("2024-02").success
    return platform


# -- 8. the registry is down ----------------------------------------------------------------------------------
def test_registry_down_fails_clearly_and_a_retry_succeeds(platform):
    down = build_definitions(platform.home, environ={"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{closed_port()}"})
    versions = len(platform.registry.versions())
    result = platform.run("retraining_job", "2024-02", defs=down)
    assert not result.success
    assert "is unreachable" in failure_text(result)
    assert platform.production_version() == "1"
    assert len(platform.registry.versions()) == versions  # nothing half-registered

    # Down between the steps: candidate registered, then the registry goes away before the decision.
    partial = platform.defs.resolve_job_def("retraining_job").execute_in_process(
        instance=platform.instance, partition_key="2024-02",
        asset_selection=[AssetKey("training_dataset"), AssetKey("candidate_model"), AssetKey("production_metrics")],
    )
    assert partial.success
    candidate = partial.output_for_node("candidate_model")["version"]
    decide_down = down.resolve_job_def("retraining_job").execute_in_process(
        instance=platform.instance, partition_key="2024-02", asset_selection=[AssetKey("promotion_decision")], raise_on_error=False
    )
    assert not decide_down.success and "is unreachable" in failure_text(decide_down)
    assert platform.production_version() == "1"
    assert "promotion.decision" not in platform.registry.version_tags(candidate)

    # The registry is back: the retry decides, once.
    retry = platform.defs.resolve_job_def("retraining_job").execute_in_process(
        instance=platform.instance, partition_key="2024-02", asset_selection=[AssetKey("promotion_decision")]
    )
    record = retry.output_for_node("promotion_decision")
    assert record["candidate_version"] == candidate and record["decision"] == "promoted"
    assert platform.production_version() == candidate


# -- 9. a crash between registering the candidate and moving the alias -------------------------------------------
def test_crash_before_the_alias_move_then_rerun_is_consistent(tmp_path):
    platform = Platform(tmp_path, scenario=("baseline", "concept_drift"))
    platform.process("2024-01")
    platform.deliver("2024-02")
    assert platform.ingest("2024-02").success

    crashed = run_in_process(platform, "retraining_job", "2024-02", "--crash-at", "set_production")
    crashed.communicate(timeout=600)
    assert crashed.returncode == 137
    assert platform.production_version() == "1"  # the alias never moved
    orphan = platform.registry.versions()[-1]
    assert orphan["tags"]["promotion.decision"] == "promoting"  # visibly unfinished, not "promoted"
    assert decisions(platform, "2024-02") == []

    # What run monitoring does for a dead run: mark it failed, free its pool slot.
    (dead,) = platform.instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED]))
    platform.instance.report_run_failed(dead)
    platform.instance.event_log_storage.free_concurrency_slots_for_run(dead.run_id)

    record = platform.retrain("2024-02").output_for_node("promotion_decision")
    assert [d["decision"] for d in decisions(platform, "2024-02")] == ["promoted"]  # one decision
    production = platform.registry.production()
    assert production["version"] == record["candidate_version"] != orphan["version"]
    assert production["tags"]["promotion.cleared_delta"] == "true"
    assert production["tags"]["promotion.decision"] == "promoted"


# -- 10. two runs of the same month at once -----------------------------------------------------------------------
def test_two_runs_of_one_month_at_once_never_race_on_the_alias(tmp_path):
    platform = Platform(tmp_path, scenario=("baseline", "concept_drift"))
    platform.process("2024-01")
    platform.deliver("2024-02")
    assert platform.ingest("2024-02").success

    runs = [run_in_process(platform, "retraining_job", "2024-02", "--delta", "0.0") for _ in range(2)]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    codes = [run.returncode for run in runs]
    assert 0 in codes, outputs[0][-3000:]
    for code, output in zip(codes, outputs):
        if code != 0:  # the loser saw production move after it scored it, and said so
            assert "production moved from v1" in output, output[-3000:]

    # Replay the decisions in order: each one started from the production the previous one left.
    production = "1"
    recorded = decisions(platform, "2024-02")
    assert recorded
    for record in recorded:
        assert record["production_version_before"] == production
        production = record["production_version_after"]
    assert platform.production_version() == production
    promoted_from_v1 = [r for r in recorded if r["decision"] == "promoted" and r["production_version_before"] == "1"]
    assert len(promoted_from_v1) == 1


# -- 12. the drift sensor after a crash or restart --------------------------------------------------------------
def test_drift_sensor_after_restart_never_duplicates_and_never_forgets(platform):
    policy = platform.defs.resources["policy"]

    def evaluate(cursor):
        return drift_sensor(build_sensor_context(instance=platform.instance, cursor=cursor, resources={"policy": policy}))

    first = evaluate(None)
    keys = [r.run_key for r in first.run_requests]
    assert keys
    # The daemon died before it stored the cursor: evaluated again, the same reports give the same
    # run keys, so the daemon's run-key check launches each retraining once...
    assert [r.run_key for r in evaluate(None).run_requests] == keys
    # ...and a report that was never acted on is still requested. Once the cursor is stored,
    # nothing is requested twice.
    assert isinstance(evaluate(first.cursor), SkipReason)
    # A new report after the stored cursor is requested, once.
    platform.deliver("2024-03")
    assert platform.ingest("2024-03").success
    later = evaluate(first.cursor)
    assert [r.partition_key for r in later.run_requests] in ([], ["2024-03"])
    assert isinstance(evaluate(later.cursor), SkipReason)
