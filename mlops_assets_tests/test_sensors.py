"""The sensors against a real Dagster instance, read the way a user reads them: the tick log the
daemon keeps (the captured instigation log), the run requests, the cursor.

- new_month_sensor names a folder whose name is no month once, with the fix, and never the hidden
  staging folders; it names an incomplete month and its missing files on every tick, and after the
  grace period requests its import, which fails with the importer's message;
- a replaced month makes the drift reports that used it again (replaced_month_sensor), the drift
  sensor takes no action on them, and the month's decisions stay as they were.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from dagster import AssetKey, SensorEvaluationContext, SkipReason, instance_for_test
from dagster._core.definitions.instigation_logger import get_instigation_log_records

from mlops_assets.cli import play_months, status_rows, tick
from mlops_assets.definitions import build_definitions
from mlops_assets.domain.schema import REQUIRED_FILES
from mlops_assets.generator import write_months
from mlops_assets.instance import INSTANCE_SETTINGS
from mlops_assets.landing_files import deliver_month
from mlops_assets.records import latest_materialization, latest_metadata
from mlops_assets.resources import LandingArea
from mlops_assets.sensors import INCOMPLETE_TAG, LandingCursor, drift_sensor, new_month_sensor, replaced_month_sensor

from mlops_assets_tests.faults.platform import failure_text


class Ticks:
    """Evaluates a sensor as the daemon does: with the instance's ref and a log key, so what the
    sensor logs lands in the tick log (the instance's captured logs) and can be read back."""

    def __init__(self, instance):
        self.instance = instance
        self.count = 0

    def __call__(self, sensor_def, cursor=None, **resources):
        self.count += 1
        log_key = ["tests", sensor_def.name, str(self.count)]
        with SensorEvaluationContext(
            instance_ref=self.instance.get_ref(), instance=self.instance, cursor=cursor, log_key=log_key,
            repository_name="tests", sensor_name=sensor_def.name, resources=resources,
        ) as context:
            result = sensor_def(context)
        log = [record["msg"] for record in get_instigation_log_records(self.instance, log_key)]
        return result, "\n".join(log)


def requests_of(result):
    return [] if isinstance(result, SkipReason) else list(result.run_requests)


def skip_message_of(result) -> str:
    return result.skip_message if isinstance(result, SkipReason) else result.skip_reason.skip_message


def cursor_of(result, previous):
    return previous if isinstance(result, SkipReason) or result.cursor is None else result.cursor


@pytest.fixture
def instance(tmp_path):
    (tmp_path / "dagster").mkdir()
    with instance_for_test(temp_dir=str(tmp_path / "dagster"), overrides=INSTANCE_SETTINGS) as instance:
        yield instance


@pytest.fixture(scope="module")
def source_months(tmp_path_factory):
    return write_months(tmp_path_factory.mktemp("incoming"), n_users=300, scenario=("baseline", "concept_drift"), seed=5)


def test_a_folder_named_like_no_month_is_reported_once_with_the_fix(tmp_path, instance, source_months):
    landing = LandingArea(path=str(tmp_path / "landing"), archive_path=str(tmp_path / "archive"))
    shutil.copytree(source_months[0], tmp_path / "landing" / "month_000")
    shutil.copytree(source_months[0], tmp_path / "landing" / ".2024-02.partial")  # a delivery in progress
    (tmp_path / "landing" / ".cache").mkdir()
    ticks = Ticks(instance)

    first, log = ticks(new_month_sensor, landing=landing)
    assert requests_of(first) == []
    assert "landing folder 'month_000'" in log and "is not named like a month" in log
    assert "Rename it to the month it holds (YYYY-MM" in log
    assert f"mlops-assets deliver {tmp_path / 'landing' / 'month_000'} --month YYYY-MM" in log
    assert ".2024-02.partial" not in log and ".cache" not in log
    assert json.loads(first.cursor)["not_months"] == ["month_000"]

    again, log = ticks(new_month_sensor, cursor=first.cursor, landing=landing)
    assert isinstance(again, SkipReason) and "month_000" not in log  # said once, remembered in the cursor

    shutil.rmtree(tmp_path / "landing" / "month_000")
    gone, _ = ticks(new_month_sensor, cursor=first.cursor, landing=landing)
    assert json.loads(gone.cursor)["not_months"] == []
    shutil.copytree(source_months[0], tmp_path / "landing" / "month_000")
    back, log = ticks(new_month_sensor, cursor=gone.cursor, landing=landing)
    assert "landing folder 'month_000'" in log  # a folder that comes back is reported again

    # Renamed as the message says, it is a month like any other.
    (tmp_path / "landing" / "month_000").rename(tmp_path / "landing" / "2024-01")
    renamed, log = ticks(new_month_sensor, cursor=back.cursor, landing=landing)
    assert [r.partition_key for r in requests_of(renamed)] == ["2024-01"] and "month_000" not in log


def test_the_first_cursor_format_is_still_read():
    cursor = LandingCursor.parse(json.dumps({"2024-01": "abc"}))
    assert cursor.fingerprints == {"2024-01": "abc"} and cursor.not_months == [] and cursor.incomplete == {}
    assert LandingCursor.parse(cursor.dump()) == cursor
    assert LandingCursor.parse(None) == LandingCursor()


def _incomplete(tmp_path, source, month="2024-03", missing=("labels.csv",)) -> Path:
    folder = tmp_path / "landing" / month
    folder.mkdir(parents=True)
    for name in REQUIRED_FILES:
        if name not in missing:
            shutil.copy2(source / name, folder / name)
    return folder


def test_an_incomplete_month_is_named_every_tick_then_requested_after_the_grace_period(tmp_path, instance, source_months):
    folder = _incomplete(tmp_path, source_months[0], missing=("payments_agg_90d.csv", "labels.csv"))
    waiting = LandingArea(path=str(tmp_path / "landing"), archive_path=str(tmp_path / "archive"), incomplete_grace_seconds=3600)
    ticks = Ticks(instance)
    cursor = None
    for _ in range(2):  # every tick says it, none requests anything within the grace period
        result, log = ticks(new_month_sensor, cursor=cursor, landing=waiting)
        assert requests_of(result) == []
        assert "incomplete: 2024-03 (missing payments_agg_90d.csv, labels.csv)" in skip_message_of(result)
        assert f"month 2024-03: landing folder {folder} is missing file(s) payments_agg_90d.csv, labels.csv; waiting" in log
        assert "after 3600 s unchanged its import is requested anyway" in log
        cursor = cursor_of(result, cursor)

    # A short grace period, really waited out: the month's import is requested once.
    short = LandingArea(path=str(tmp_path / "landing"), archive_path=str(tmp_path / "archive"), incomplete_grace_seconds=1)
    result, _ = ticks(new_month_sensor, cursor=None, landing=short)
    assert requests_of(result) == []
    time.sleep(1.2)
    result, log = ticks(new_month_sensor, cursor=result.cursor, landing=short)
    (request,) = requests_of(result)
    assert request.partition_key == "2024-03" and request.run_key.startswith("incomplete:2024-03:")
    assert request.tags[INCOMPLETE_TAG] == "payments_agg_90d.csv, labels.csv"
    assert "requesting its import anyway, so it fails visibly" in log
    again, log = ticks(new_month_sensor, cursor=result.cursor, landing=short)
    assert requests_of(again) == []  # once per content of the folder
    assert "is missing file(s) payments_agg_90d.csv, labels.csv; its import was requested" in log

    # The folder changes (one more file arrives, one still missing): a new grace period starts.
    shutil.copy2(source_months[0] / "payments_agg_90d.csv", folder / "payments_agg_90d.csv")
    changed, log = ticks(new_month_sensor, cursor=cursor_of(again, result.cursor), landing=short)
    assert requests_of(changed) == [] and "is missing file(s) labels.csv; waiting" in log
    # Complete at last: an ordinary new month.
    shutil.copy2(source_months[0] / "labels.csv", folder / "labels.csv")
    complete, log = ticks(new_month_sensor, cursor=changed.cursor, landing=short)
    assert [r.run_key.split(":")[0] for r in requests_of(complete)] == ["landing"]
    assert json.loads(complete.cursor)["incomplete"] == {}


@pytest.mark.slow
def test_an_incomplete_month_fails_visibly_with_the_importers_message(tmp_path, instance, source_months):
    defs = build_definitions(tmp_path / "home", environ={"MLOPS_INCOMPLETE_GRACE_SECONDS": "0"})
    _incomplete(Path(defs.resources["landing"].path).parent, source_months[0], month="2024-01")
    _, runs = tick(defs, "new_month_sensor", instance, None)
    ((month, outcome),) = runs
    assert month == "2024-01" and outcome.job_name == "ingest_month_job" and not outcome.success
    run = instance.get_run_by_id(outcome.run_id)
    assert run.tags[INCOMPLETE_TAG] == "labels.csv" and run.tags["dagster/run_key"].startswith("incomplete:2024-01:")
    (row,) = status_rows(instance, defs.resources["landing"].scan())
    assert row["state"] == "import failed"
    assert row["detail"].startswith("month 2024-01:") and "is missing file(s) labels.csv" in row["detail"]


# -- a replaced month -----------------------------------------------------------------------------
@pytest.mark.slow
def test_a_replaced_month_remakes_its_drift_reports_and_its_decisions_stay(tmp_path, instance, source_months):
    defs = build_definitions(tmp_path / "home", environ={})
    landing = defs.resources["landing"]
    play_months(defs, instance, source_months)  # 2024-01 bootstrap, 2024-02 concept drift: both decided
    decisions = {m: latest_materialization(instance, "promotion_decision", m).run_id for m in ("2024-01", "2024-02")}
    share_before = latest_metadata(instance, "drift_report", "2024-02")["drift_share"]
    assert share_before > 0
    ticks = Ticks(instance)
    drift_cursor = str(instance.fetch_materializations(AssetKey("drift_report"), limit=1, ascending=False).records[0].storage_id)
    replaced_cursor, _ = ticks(replaced_month_sensor)  # everything so far is no replacement
    assert requests_of(replaced_cursor) == [] and replaced_cursor.cursor

    # 2024-01 is corrected: its landing folder now holds 2024-02's users, imported deliberately with
    # replace_existing by the ingest job (which also makes 2024-01's own report again).
    assert deliver_month(source_months[1], Path(landing.path), "2024-01", replace=True).action == "replaced"
    replace = {"ops": {"monthly_snapshot": {"config": {"replace_existing": True}}}}
    result = defs.resolve_job_def("ingest_month_job").execute_in_process(
        instance=instance, partition_key="2024-01", run_config=replace, raise_on_error=False
    )
    assert result.success, failure_text(result)
    assert latest_metadata(instance, "monthly_snapshot", "2024-01")["replaced_fingerprint"]

    remake, log = ticks(replaced_month_sensor, cursor=replaced_cursor.cursor)
    (request,) = requests_of(remake)  # 2024-02's report used 2024-01 as its reference
    assert request.partition_key == "2024-02" and request.tags["mlops_assets/remade_after_replacing"] == "2024-01"
    assert "month 2024-01 was replaced" in log and "2024-01's own report was made by the replacing run" in log
    again, _ = ticks(replaced_month_sensor, cursor=remake.cursor)
    assert requests_of(again) == []
    job = defs.resolve_job_def("drift_report_job")
    remade = job.execute_in_process(
        instance=instance, partition_key="2024-02", tags=dict(request.tags) | {"dagster/run_key": request.run_key},
    )
    assert remade.success
    share_after = latest_metadata(instance, "drift_report", "2024-02")["drift_share"]
    assert share_after == 0.0  # 2024-02 against itself (2024-01 now holds the same users)

    # The drift sensor reads both new reports (2024-01's own, 2024-02's re-made) and acts on neither.
    result, log = ticks(drift_sensor, cursor=drift_cursor, policy=defs.resources["policy"])
    assert requests_of(result) == []
    assert log.count("-> NO_ACTION (report made again because month 2024-01 was replaced") == 2
    assert "the policy alone says RETRAINING_TRIGGERED" in log  # 2024-01 has no reference: bootstrap
    assert {m: latest_materialization(instance, "promotion_decision", m).run_id for m in decisions} == decisions
    rows = {row["as_of"][:7]: row for row in status_rows(instance, landing.scan())}
    assert rows["2024-02"]["state"] == "decided" and rows["2024-02"]["drift_share"] == "0.000"

    # The first content back, with only the snapshot materialized (no report in the same run): both
    # reports are made again, and 2024-02's drift share is what it was.
    deliver_month(source_months[0], Path(landing.path), "2024-01", replace=True)
    snapshot_only = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, partition_key="2024-01", run_config=replace, asset_selection=[AssetKey("monthly_snapshot")]
    )
    assert snapshot_only.success
    both, _ = ticks(replaced_month_sensor, cursor=cursor_of(again, remake.cursor))
    assert [r.partition_key for r in requests_of(both)] == ["2024-01", "2024-02"]
    for request in requests_of(both):
        assert job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=dict(request.tags)).success
    assert latest_metadata(instance, "drift_report", "2024-02")["drift_share"] == share_before
    result, log = ticks(drift_sensor, cursor=result.cursor, policy=defs.resources["policy"])
    assert requests_of(result) == [] and log.count("because month 2024-01 was replaced") == 2
