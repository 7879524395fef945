"""After `mlops-assets demo`: its runs are the code location's (the real daemon launched them), the
sensors' cursors and ticks are stored, and a later evaluation from those cursors requests nothing."""

from __future__ import annotations

import json
import re

import pytest
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, DagsterRunStatus, RunsFilter, SkipReason, build_sensor_context
from dagster._core.scheduler.instigation import TickStatus
from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

from mlops_assets.definitions import build_definitions
from mlops_assets.domain.months import as_of_for
from mlops_assets.demo import LOCATION_NAME, latest_tick, sensor_states

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def instance(demo):
    return DagsterInstance.from_config(str(demo["home"] / "dagster"))


def test_demo_prints_progress_and_the_table(demo):
    first, second = demo["months"]
    out = demo["stdout"]
    for sensor, job, month in [("new_month_sensor", "ingest_month_job", first), ("new_month_sensor", "ingest_month_job", second),
                               ("drift_sensor", "retraining_job", first), ("drift_sensor", "retraining_job", second)]:
        assert re.search(rf"{sensor} -> {job} {month}: ok \(\d+\.\d s, run [0-9a-f]{{8}}\)", out), out
    table = [line for line in out.splitlines() if re.match(r"\d{4}-\d{2}-\d{2} ", line)]
    assert [line.split()[0] for line in table] == [as_of_for(first).isoformat(), as_of_for(second).isoformat()]
    assert all("promoted" in line for line in table), table  # bootstrap, then concept drift
    assert "registry streamflow_churn@production -> v2" in out
    assert re.search(r"\b\d+ runs \(0 failed\)", out), out


def test_runs_belong_to_the_code_location(demo, instance):
    runs = instance.get_runs()
    assert all(r.status == DagsterRunStatus.SUCCESS for r in runs)
    # The monthly cycle's runs (the online store has runs of its own, for the newest month).
    cycle = [r for r in runs if r.job_name in ("ingest_month_job", "retraining_job")]
    assert sorted((r.job_name, r.tags["dagster/partition"]) for r in cycle) == sorted(
        (job, month) for job in ("ingest_month_job", "retraining_job") for month in demo["months"]
    )
    for run in runs:
        assert run.remote_job_origin is not None, f"run {run.run_id} has no code-location origin"
        assert run.remote_job_origin.location_name == LOCATION_NAME
        assert run.tags["dagster/code_location"] == LOCATION_NAME
    # The filter the UI's job and sensor pages use: the repository label of the code location.
    labelled = instance.get_runs(RunsFilter(job_name="retraining_job", tags={REPOSITORY_LABEL_TAG: f"__repository__@{LOCATION_NAME}"}))
    assert sorted(r.tags["dagster/partition"] for r in labelled) == demo["months"]


def test_sensor_cursors_and_ticks_are_the_demos(demo, instance):
    states = sensor_states(instance)
    assert sorted(states) == sorted(s.name for s in build_definitions(demo["home"], environ={}).sensors)
    runs = instance.get_runs()
    last_end = max(record.end_time for record in instance.get_run_records())

    landing = build_definitions(demo["home"], environ={}).resources["landing"]
    seen = json.loads(states["new_month_sensor"].sensor_instigator_data.cursor)["fingerprints"]
    assert seen == {month: landing.fingerprint(month) for month in demo["months"]}
    newest_report = instance.fetch_materializations(AssetRecordsFilter(asset_key=AssetKey("drift_report")), limit=1).records[0]
    assert states["drift_sensor"].sensor_instigator_data.cursor == str(newest_report.storage_id)

    for name, state in states.items():
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id)
        launched = sorted(run_id for tick in ticks if tick.status == TickStatus.SUCCESS for run_id in tick.run_ids)
        assert launched == sorted(r.run_id for r in runs if r.tags.get("dagster/sensor_name") == name)
        # The daemon's own last tick, from the stored cursor after the last run ended, found nothing.
        newest = latest_tick(instance, state)
        assert newest.status == TickStatus.SKIPPED and newest.timestamp > last_end, (name, newest.status, newest.timestamp, last_end)


def test_evaluating_the_sensors_from_the_stored_cursors_requests_nothing(demo, instance):
    defs = build_definitions(demo["home"], environ={})
    for name, state in sensor_states(instance).items():
        sensor_def = defs.resolve_sensor_def(name)
        resources = {k: v for k, v in defs.resources.items() if k in sensor_def.required_resource_keys}
        context = build_sensor_context(instance=instance, cursor=state.sensor_instigator_data.cursor, resources=resources, definitions=defs)
        result = sensor_def(context)
        assert isinstance(result, SkipReason), f"{name} requested {result}"
