"""Bad input, for real: each damaged delivery fails its run with a message naming the month, the
file and the problem; production stays where it was; no earlier month's data, report, model
version or decision is lost or overwritten."""

import json
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetCheckKey, AssetKey, build_sensor_context

from mlops_assets.sensors import new_month_sensor

from mlops_assets_tests.faults.platform import Platform, assert_nothing_lost, failure_text

pytestmark = pytest.mark.slow
EARLIER = ["2024-01", "2024-02"]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    platform = Platform(tmp_path_factory.mktemp("bad_input"))
    for month in EARLIER:
        platform.process(month)
    assert platform.production_version() == "2"
    return platform


@pytest.fixture
def untouched(platform):
    """Asserts, after the test, that nothing about the earlier months changed."""
    before = platform.state(EARLIER)
    yield
    platform.withdraw("2024-03")
    assert_nothing_lost(before, platform.state(EARLIER))


def edit_csv(name: str, change):
    def edit(folder: Path):
        frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        frame = change(frame)
        frame.to_csv(folder / name, index=False)

    return edit


def set_value(name: str, column: str, value: str, rows=slice(0, 3)):
    def change(frame):
        frame.loc[frame.index[rows], column] = value
        return frame

    return edit_csv(name, change)


def assert_refused(platform, edit, *expected):
    platform.deliver("2024-03", edit)
    result = platform.ingest("2024-03")
    assert not result.success
    text = failure_text(result)
    for fragment in ("2024-03", *expected):
        assert fragment in text, f"{fragment!r} not in: {text[:600]}"
    assert platform.latest("monthly_snapshot", "2024-03") is None
    assert platform.production_version() == "2"
    return text


# -- 1. files and columns ---------------------------------------------------------------------------
def test_missing_file(platform, untouched):
    assert_refused(platform, lambda f: (f / "support_agg_90d.csv").unlink(), "support_agg_90d.csv")


def test_missing_required_column(platform, untouched):
    assert_refused(platform, edit_csv("subscriptions.csv", lambda f: f.drop(columns=["monthly_fee"])), "subscriptions.csv", "monthly_fee")


# -- 2. wrong types ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "file,column,value",
    [
        ("subscriptions.csv", "monthly_fee", "abc"),
        ("usage_agg_30d.csv", "skips_7d", "-3"),
        ("subscriptions.csv", "paperless_billing", "yes"),
        ("subscriptions.csv", "paperless_billing", "1"),
    ],
)
def test_wrong_types(platform, untouched, file, column, value):
    text = assert_refused(platform, set_value(file, column, value), file, column)
    assert value.lstrip("-") in text


# -- 3. empty, duplicated ------------------------------------------------------------------------------
def test_headers_only_month(platform, untouched):
    assert_refused(platform, edit_csv("users.csv", lambda f: f.iloc[0:0]), "users.csv")


def test_duplicate_user_rows(platform, untouched):
    assert_refused(platform, edit_csv("usage_agg_30d.csv", lambda f: pd.concat([f, f.iloc[:2]])), "usage_agg_30d.csv", "duplicate")


# -- 4. one class --------------------------------------------------------------------------------------
def test_one_class_labels_never_reach_the_registry(platform, untouched):
    versions_before = len(platform.registry.versions())
    platform.deliver("2024-03", set_value("labels.csv", "churn_label", "0", rows=slice(None)))
    assert platform.ingest("2024-03").success  # a month of stayers is valid data...
    result = platform.retrain("2024-03")
    # ...but no model can be measured on it: the blocking sanity check stops the run before training.
    check = platform.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [AssetCheckKey(AssetKey("training_dataset"), "training_data_sanity")]
    )[AssetCheckKey(AssetKey("training_dataset"), "training_data_sanity")]
    assert check.status.value == "FAILED"
    evaluation = check.event.dagster_event.event_specific_data
    assert "one class only" in evaluation.description
    assert platform.latest("candidate_model", "2024-03") is None
    assert platform.latest("promotion_decision", "2024-03") is None
    assert len(platform.registry.versions()) == versions_before
    assert not result.success  # the blocking check fails the run, and says why


# -- 7. all-NaN feature ---------------------------------------------------------------------------------
def test_all_missing_feature_blocks_training(platform, untouched):
    versions_before = len(platform.registry.versions())
    platform.deliver("2024-03", set_value("usage_agg_30d.csv", "watch_hours_30d", "", rows=slice(None)))
    assert platform.ingest("2024-03", run_config={"ops": {"monthly_snapshot": {"config": {"replace_existing": True}}}}).success
    assert not platform.retrain("2024-03").success
    check = platform.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [AssetCheckKey(AssetKey("training_dataset"), "training_data_sanity")]
    )[AssetCheckKey(AssetKey("training_dataset"), "training_data_sanity")]
    assert check.status.value == "FAILED"
    assert "watch_hours_30d missing for every user" in check.event.dagster_event.event_specific_data.description
    assert len(platform.registry.versions()) == versions_before


# -- 6. partitions that do not exist ---------------------------------------------------------------------
@pytest.mark.parametrize("month", ["2024-13", "2023-12"])
def test_unknown_partitions_are_rejected(platform, untouched, month):
    with pytest.raises(Exception, match=month):
        platform.ingest(month)


# -- 5. late month, re-delivery ---------------------------------------------------------------------------
def test_redelivery_with_different_content_is_refused_and_first_import_kept(platform):
    before = platform.state(EARLIER)
    first = platform.latest("monthly_snapshot", "2024-02")
    platform.deliver("2024-02", set_value("subscriptions.csv", "monthly_fee", "99.99"))
    result = platform.ingest("2024-02")
    assert not result.success
    text = failure_text(result)
    assert "month 2024-02: already imported" in text and "replace_existing" in text
    assert_nothing_lost(before, platform.state(EARLIER))  # stored snapshot, Feast tables, reports, decisions
    archived = Path(first["archived_delivery"])
    assert (archived / "subscriptions.csv").exists()  # the first delivery's files are kept
    assert "99.99" not in (archived / "subscriptions.csv").read_text()
    # The same content again is an idempotent re-import.
    platform.deliver("2024-02")
    assert platform.ingest("2024-02").success


def test_late_month_fills_the_gap(platform):
    # 2024-05 arrives before 2024-04: its drift report names the missing month.
    production = platform.production_version()
    platform.deliver("2024-05")
    result = platform.ingest("2024-05")
    assert not result.success
    assert "reference month 2024-04 has no monthly_snapshot" in failure_text(result)
    assert platform.latest("monthly_snapshot", "2024-05") is not None  # the snapshot itself is kept
    # 2024-04 arrives late. The sensor, which had seen every other month, requests it and then
    # 2024-05's drift report that was waiting for it; both complete, in order.
    landing = platform.defs.resources["landing"]
    seen = {m: landing.fingerprint(m) for m in ("2024-01", "2024-02", "2024-05")}
    platform.deliver("2024-04")
    result = new_month_sensor(
        build_sensor_context(instance=platform.instance, cursor=json.dumps(seen), resources={"landing": landing})
    )
    assert [(r.partition_key, r.tags.get("mlops_assets/reference_arrived")) for r in result.run_requests] == [
        ("2024-04", None),
        ("2024-05", "2024-04"),
    ]
    for request in result.run_requests:
        assert platform.ingest(request.partition_key).success
    assert platform.latest("drift_report", "2024-05")["reference_month"] == "2024-04"
    decision = platform.retrain("2024-04").output_for_node("promotion_decision")
    assert decision["production_version_before"] == production
    assert platform.production_version() == decision["production_version_after"]


def test_extra_columns_partial_labels_and_unknown_label_users_are_accepted(platform):
    def damage(folder: Path):
        edit_csv("subscriptions.csv", lambda f: f.assign(promo_code="SPRING"))(folder)
        labels = pd.read_csv(folder / "labels.csv", dtype=str, keep_default_na=False)
        extra = pd.DataFrame({"user_id": ["0000-ZZZZZ"], "churn_label": ["1"]})
        pd.concat([labels.iloc[: len(labels) * 3 // 4], extra]).to_csv(folder / "labels.csv", index=False)

    platform.deliver("2024-04", damage)
    result = platform.ingest("2024-04", run_config={"ops": {"monthly_snapshot": {"config": {"replace_existing": True}}}})
    assert result.success, failure_text(result)
    snapshot = platform.latest("monthly_snapshot", "2024-04")
    assert 0.7 < snapshot["label_coverage"] < 0.8
    assert snapshot["unknown_label_users"] == 1
    assert "promo_code" not in platform.stored_value("monthly_snapshot", "2024-04").columns
    retrain = platform.retrain("2024-04")
    assert retrain.success, failure_text(retrain)
    dataset = platform.latest("training_dataset", "2024-04")
    assert dataset["dagster/row_count"] == snapshot["labelled_users"]


def test_unseen_category_is_scored_not_fatal(platform):
    before = platform.production_version()
    edit = set_value("subscriptions.csv", "net_service", "Satellite", rows=slice(0, 40))
    platform.deliver("2024-04", edit)
    assert platform.ingest("2024-04", run_config={"ops": {"monthly_snapshot": {"config": {"replace_existing": True}}}}).success
    result = platform.retrain("2024-04")
    assert result.success, failure_text(result)
    metrics = result.output_for_node("production_metrics")
    assert metrics["production_version"] == before and metrics["production_auc"] is not None
