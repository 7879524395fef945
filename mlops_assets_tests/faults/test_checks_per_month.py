"""Labels in both spellings, snapshot quality warnings, checks per month and failure messages, on
real runs (Dagster instance, Feast repo, MLflow registry in a temporary folder).

2024-01 arrives as the generator (and the course) writes it, labels True/False; 2024-02 with labels
0/1 and a few blank; 2024-03 is valid but suspicious in every way the quality check knows; 2024-04
holds a value no importer can read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterEventType

from mlops_assets_tests.faults.platform import Platform, failure_text

pytestmark = pytest.mark.slow
CHECKS = {
    "snapshot_quality": "monthly_snapshot",
    "training_data_sanity": "training_dataset",
    "production_cleared_delta": "promotion_decision",
    "production_matches_decision": "promotion_decision",
}
BLANK_LABELS = 7


def rewrite(folder: Path, file_name: str, change) -> None:
    path = folder / file_name
    change(pd.read_csv(path, dtype=str, keep_default_na=False)).to_csv(path, index=False)


def labels_as_0_1_with_blanks(folder: Path) -> None:
    def change(texts):
        texts["churn_label"] = texts["churn_label"].map({"True": "1", "False": "0"})
        texts.loc[texts.index[:BLANK_LABELS], "churn_label"] = ""
        return texts

    rewrite(folder, "labels.csv", change)


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    platform = Platform(tmp_path_factory.mktemp("checks_per_month"))
    platform.process("2024-01")
    platform.deliver("2024-02", labels_as_0_1_with_blanks)
    assert platform.ingest("2024-02").success
    retrain = platform.retrain("2024-02")
    assert retrain.success, failure_text(retrain)
    return platform


def check_history(platform, check: str):
    key = AssetCheckKey(AssetKey(CHECKS[check]), check)
    return platform.instance.event_log_storage.get_asset_check_execution_history(key, limit=100)


def failure_events(platform, run_id: str):
    return [
        record.dagster_event
        for record in platform.instance.all_logs(run_id)
        if record.dagster_event and record.dagster_event.event_type in (DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE)
    ]


def test_true_false_and_0_1_labels_both_import_and_train(platform):
    spellings = {
        month: set(pd.read_csv(platform.landing / month / "labels.csv", dtype=str, keep_default_na=False)["churn_label"])
        for month in ("2024-01", "2024-02")
    }
    assert spellings == {"2024-01": {"True", "False"}, "2024-02": {"0", "1", ""}}
    for month, blank in (("2024-01", 0), ("2024-02", BLANK_LABELS)):
        snapshot = platform.latest("monthly_snapshot", month)
        written = pd.read_csv(platform.source(month) / "labels.csv", dtype=str).set_index("user_id")["churn_label"]
        stored = platform.stored_value("monthly_snapshot", month).set_index("user_id")["churn_label"]
        assert str(stored.dtype) == "Int64"
        labelled = stored.dropna()
        assert (labelled == (written.loc[labelled.index] == "True").astype(int)).all()  # same labels, either spelling
        assert snapshot["blank_labels"] == blank and snapshot["users_without_label_row"] == 0
        assert snapshot["labelled_users"] == snapshot["dagster/row_count"] - blank == len(labelled)
        # Blank = unlabelled: out of training and validation, like a user without a labels.csv row.
        assert platform.latest("training_dataset", month)["dagster/row_count"] == len(labelled)
        assert platform.latest("promotion_decision", month)["decision"] in ("promoted", "skipped")


def test_every_check_evaluation_carries_its_month_and_passed(platform):
    for check in CHECKS:
        records = [r for r in check_history(platform, check) if r.partition in ("2024-01", "2024-02")]
        by_month: dict[str, list] = {}
        for record in records:
            run = platform.instance.get_run_by_id(record.run_id)
            assert record.partition == run.tags["dagster/partition"], check
            evaluation = record.event.dagster_event.event_specific_data
            assert evaluation.partition == record.partition and evaluation.passed, (check, record)
            assert record.status.value == "SUCCEEDED", (check, record)
            by_month.setdefault(record.partition, []).append(record.run_id)
        # One evaluation per month and run, none left planned: each month ran each check once here.
        assert {month: len(runs) for month, runs in by_month.items()} == {"2024-01": 1, "2024-02": 1}, check
    # Nothing is recorded without its month.
    assert all(r.partition for check in CHECKS for r in check_history(platform, check))


@pytest.fixture(scope="module")
def suspicious(platform):
    """2024-03: valid, but every kind of suspicious: a file copied from last month, a constant
    feature, an empty one, a category never seen and an extra column."""

    def damage(folder: Path):
        shutil.copyfile(platform.landing / "2024-02" / "payments_agg_90d.csv", folder / "payments_agg_90d.csv")
        rewrite(folder, "usage_agg_30d.csv", lambda t: t.assign(avg_session_mins_7d="12.50"))
        rewrite(folder, "support_agg_90d.csv", lambda t: t.assign(ticket_avg_resolution_hrs_90d=""))

        def subscriptions(texts):
            texts.loc[texts.index[:40], "net_service"] = "Satellite"
            return texts.assign(promo_code="SPRING")

        rewrite(folder, "subscriptions.csv", subscriptions)

    platform.deliver("2024-03", damage)
    result = platform.ingest("2024-03")
    assert result.success, failure_text(result)  # warnings never stop a month
    return result


def test_suspicious_month_warns_by_name_in_metadata_and_a_warn_check(platform, suspicious):
    expected = [
        "month 2024-03: usage_agg_30d.csv column avg_session_mins_7d has one value (12.5) for every user (400 users)",
        "month 2024-03: support_agg_90d.csv column ticket_avg_resolution_hrs_90d is empty for every user (400 users)",
        "month 2024-03: subscriptions.csv column net_service has 1 value(s) never seen before: 'Satellite' (40 users)",
        "month 2024-03: payments_agg_90d.csv is byte-identical to month 2024-02's (sha256 ",
        "month 2024-03: subscriptions.csv has extra column(s) promo_code, ignored",
    ]
    warnings = platform.latest("monthly_snapshot", "2024-03")["quality_warnings"]
    assert len(warnings) == len(expected)
    assert all(w.startswith(e) for w, e in zip(warnings, expected)), warnings
    (record,) = [r for r in check_history(platform, "snapshot_quality") if r.run_id == suspicious.run_id]
    evaluation = record.event.dagster_event.event_specific_data
    assert record.partition == evaluation.partition == "2024-03"
    assert record.status.value == "FAILED" and not evaluation.passed
    assert evaluation.severity.value == "WARN" and not evaluation.blocking
    assert evaluation.description.splitlines() == warnings
    counts = {k: v.value for k, v in evaluation.metadata.items() if k != "findings"}
    assert counts == {"warnings": 5, "constant_column": 1, "empty_column": 1, "new_category": 1, "identical_file": 1, "ignored_columns": 1}


def test_blocked_retraining_fails_the_run_naming_month_and_file(platform, suspicious):
    versions = len(platform.registry.versions())
    result = platform.retrain("2024-03")
    assert not result.success
    (record,) = [r for r in check_history(platform, "training_data_sanity") if r.run_id == result.run_id]
    assert record.partition == "2024-03" and record.status.value == "FAILED"
    reason = "support_agg_90d.csv feature(s) ticket_avg_resolution_hrs_90d missing for every user"
    assert record.event.dagster_event.event_specific_data.description.startswith(f"month 2024-03: {reason}")
    # What the user reads on the run: the step failure and the run failure both carry the reason,
    # not only "1 blocking asset check failed".
    events = failure_events(platform, result.run_id)
    assert [e.event_type for e in events] == [DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE]
    for event in events:
        error = event.event_specific_data.error
        assert error.message.startswith(f"dagster._core.definitions.events.Failure: month 2024-03: {reason}"), error.message
        assert "blocking asset check" not in error.to_string()
    assert len(platform.registry.versions()) == versions  # nothing trained


def test_bad_input_fails_with_one_message_and_no_chained_traceback(platform):
    platform.deliver("2024-04", lambda f: rewrite(f, "subscriptions.csv", lambda t: t.assign(monthly_fee="abc")))
    result = platform.ingest("2024-04")
    assert not result.success
    message = "month 2024-04: subscriptions.csv column monthly_fee has non-numeric value(s) 'abc' (rows 1, 2, 3, 4, 5 and 395 more)"
    events = failure_events(platform, result.run_id)
    step_failures = [e for e in events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert [e.step_key for e in step_failures] == ["monthly_snapshot"]
    assert events[-1].event_type == DagsterEventType.RUN_FAILURE
    for event in (step_failures[0], events[-1]):
        error = event.event_specific_data.error
        assert error.message == f"dagster._core.definitions.events.Failure: {message}\n"  # the message first
        assert error.cause is None and error.context is None
        text = error.to_string()
        assert "The above exception was the direct cause" not in text and "During handling" not in text
        assert "SnapshotError" not in text and "importer.py" not in text  # the importer's traceback stays out
    assert step_failures[0].event_specific_data.user_failure_data.description == message
