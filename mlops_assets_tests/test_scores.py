"""churn_scores and online_features for real: three months through the real sensors (a quiet
month that does not retrain is still scored), scores equal to production applied to the training
features, reproducible re-runs, and an old month never scored by a newer model."""

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from dagster import SkipReason, build_sensor_context

from mlops_assets.cli import play_months
from mlops_assets.domain.model import score
from mlops_assets.domain.scores import SCORE_COLUMNS, band_changes, users_per_band
from mlops_assets.sensors import online_features_sensor
from mlops_assets_tests.faults.platform import Platform, failure_text

pytestmark = pytest.mark.slow

MONTHS = ("2024-01", "2024-02", "2024-03")


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    platform = Platform(tmp_path_factory.mktemp("scores"), scenario=("baseline", "quiet", "concept_drift"))
    platform.runs = play_months(platform.defs, platform.instance, platform.incoming)
    return platform


def scores_file(platform, month):
    metadata = platform.latest("churn_scores", month)
    assert metadata is not None, f"churn_scores {month} never materialized"
    return metadata, pd.read_parquet(metadata["scores_path"])


def test_every_month_is_scored_through_the_sensors(platform):
    runs = [(sensor, month, outcome.job_name) for sensor, month, outcome in platform.runs]
    assert all(outcome.success for _, _, outcome in platform.runs), runs
    assert runs == [
        ("new_month_sensor", "2024-01", "ingest_month_job"),
        ("drift_sensor", "2024-01", "retraining_job"),  # bootstrap; churn_scores ends the run
        ("online_features_sensor", "2024-01", "online_features_job"),
        ("new_month_sensor", "2024-02", "ingest_month_job"),
        ("drift_sensor", "2024-02", "scoring_job"),  # quiet month: NO_ACTION, still scored
        ("online_features_sensor", "2024-02", "online_features_job"),
        ("new_month_sensor", "2024-03", "ingest_month_job"),
        ("drift_sensor", "2024-03", "retraining_job"),
        ("online_features_sensor", "2024-03", "online_features_job"),
    ]
    assert [platform.latest("promotion_decision", m)["decision"] if platform.latest("promotion_decision", m) else None
            for m in MONTHS] == ["promoted", None, "promoted"]


def test_scores_file_holds_every_user_of_the_month(platform):
    for month, version in zip(MONTHS, ("1", "1", "2")):
        metadata, table = scores_file(platform, month)
        snapshot = platform.stored_value("monthly_snapshot", month)
        assert list(table.columns) == list(SCORE_COLUMNS)
        assert sorted(table["user_id"]) == sorted(snapshot["user_id"]) and table["user_id"].is_unique
        assert table["rank"].tolist() == list(range(1, len(table) + 1))
        assert table["churn_probability"].is_monotonic_decreasing
        assert table["churn_probability"].between(0, 1).all()
        assert set(table["model_version"]) == {version} and metadata["model_version"] == version
        assert set(table["as_of"]) == {metadata["as_of"]} and metadata["scores_path"].endswith(f"churn_scores_{metadata['as_of']}.parquet")
        assert metadata["dagster/row_count"] == len(snapshot)
        assert metadata["users_per_band"] == users_per_band(table)
        assert list(metadata["score_deciles"]) == [f"p{q}" for q in range(10, 100, 10)]
        # The picture: the score distribution and users per band, in metadata and as a PNG file.
        assert metadata["scores_picture"].startswith("![churn scores") and "data:image/png;base64," in metadata["scores_picture"]
        assert Path(metadata["scores_picture_png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # The stored value handed to downstream assets is the file's table.
        pd.testing.assert_frame_equal(platform.stored_value("churn_scores", month), table)
    # Stored once: no pickle of the table beside the Parquet file.
    assert not (Path(platform.defs.resources["io_manager"].base_dir) / "churn_scores").exists()
    assert platform.latest("churn_scores", "2024-02")["decision_month"] == "2024-01"
    assert platform.latest("churn_scores", "2024-03")["model_month"] == "2024-03"


def test_scores_are_production_applied_to_the_training_features(platform):
    """The same features as training (Feast at as_of, the same model frame): the labelled users'
    scores equal the registered model applied to the month's training_dataset rows, exactly."""
    _, table = scores_file(platform, "2024-03")
    dataset = platform.stored_value("training_dataset", "2024-03")
    model = platform.registry.load_version("2")
    expected = pd.Series(score(model, dataset), index=dataset["user_id"])
    got = table.set_index("user_id").loc[expected.index, "churn_probability"]
    assert (got.to_numpy() == expected.to_numpy()).all()


def test_band_changes_against_the_previous_month(platform):
    metadata, table = scores_file(platform, "2024-03")
    _, previous = scores_file(platform, "2024-02")
    expected = band_changes(previous, table)
    assert metadata["previous_month"] == "2024-02"
    assert metadata["changed_band"] == expected.changed_band
    assert metadata["band_changes"] == expected.as_dict()
    assert expected.users_in_both > 0
    first = platform.latest("churn_scores", "2024-01")
    assert first["previous_month"] == "" and "no scores for 2023-12" in first["band_changes"]["note"]
    top = table.iloc[0]
    assert metadata["highest_risk"].splitlines()[2].split("|")[1:3] == [f" {'1':>6} ", f" {top['user_id']:<10} "]


def test_rescoring_with_the_same_version_is_identical(platform):
    metadata, before = scores_file(platform, "2024-02")
    raw = open(metadata["scores_path"], "rb").read()
    result = platform.run("scoring_job", "2024-02")
    assert result.success, failure_text(result)
    again, after = scores_file(platform, "2024-02")
    assert again["model_version"] == "1"
    assert open(again["scores_path"], "rb").read() == raw  # byte for byte
    pd.testing.assert_frame_equal(before, after)
    assert not (platform.home / "scores" / "history").exists()  # nothing was replaced


def test_an_old_month_is_never_scored_by_a_newer_model(platform):
    assert platform.production_version() == "2"
    # January re-trained after March: skipped ("never backwards"), then scored with what
    # January's decision left (v1), not with production (v2).
    result = platform.run("retraining_job", "2024-01", run_config={"ops": {"promotion_decision": {"config": {"delta": 0.0}}}})
    assert result.success, failure_text(result)
    assert result.output_for_node("promotion_decision")["decision"] == "skipped"
    january = platform.latest("churn_scores", "2024-01")
    assert january["model_version"] == "1" and january["production_alias_version"] == "2"
    # February has no decision: January's (v1) still holds for it.
    assert platform.run("scoring_job", "2024-02").success
    assert platform.latest("churn_scores", "2024-02")["model_version"] == "1"


def test_the_online_store_serves_the_newest_month(platform):
    online = platform.latest("online_features", "2024-03")
    assert online["written"] is True and online["online_month"] == "2024-03"
    features = platform.defs.resources["feature_store"]
    snapshot = platform.stored_value("monthly_snapshot", "2024-03")
    users = snapshot["user_id"].head(20).tolist()
    rows = features.online_features(users + ["no-such-user"])
    assert rows[-1] is None
    for user, row in zip(users, rows):
        assert str(row["feature_timestamp"].date()) == "2024-03-31"
        expected = snapshot.set_index("user_id").loc[user]
        assert row["monthly_fee"] == pytest.approx(expected["monthly_fee"]) and row["contract_type"] == expected["contract_type"]
    # An older month materialized again does not put its features back online.
    result = platform.run("online_features_job", "2024-01")
    assert result.success and result.output_for_node("online_features")["written"] is False
    assert str(features.online_features(users[:1])[0]["feature_timestamp"].date()) == "2024-03-31"


def test_online_sensor_requests_only_the_newest_month_once(platform):
    first = online_features_sensor(build_sensor_context(instance=platform.instance))
    assert [r.partition_key for r in first.run_requests] == ["2024-03"]
    again = online_features_sensor(build_sensor_context(instance=platform.instance, cursor=first.cursor))
    assert isinstance(again, SkipReason)
    # An older month imported again (same content): the online store keeps the newest month.
    assert platform.ingest("2024-01").success
    older = online_features_sensor(build_sensor_context(instance=platform.instance, cursor=first.cursor))
    assert not older.run_requests and "older than 2024-03" in older.skip_reason.skip_message
    assert older.cursor != first.cursor


def test_online_sensor_waits_while_a_newer_month_is_being_imported(platform):
    """Months delivered together (make demo): the online store is filled once, for the newest."""
    from dagster import DagsterRunStatus
    from dagster._core.test_utils import create_run_for_test

    running = create_run_for_test(platform.instance, job_name="ingest_month_job", status=DagsterRunStatus.STARTED,
                                 tags={"dagster/partition": "2024-04"})
    try:
        waiting = online_features_sensor(build_sensor_context(instance=platform.instance))
        assert isinstance(waiting, SkipReason)
        assert f"newer month(s) 2024-04 (run {running.run_id[:8]})" in waiting.skip_message
    finally:
        platform.instance.delete_run(running.run_id)
    # The import of the newer month failed or was removed: the newest imported month is served.
    served = online_features_sensor(build_sensor_context(instance=platform.instance))
    assert [r.partition_key for r in served.run_requests] == ["2024-03"]


def test_the_serving_store_reads_the_feast_registry_once(platform):
    """The prediction service's Feast store never re-reads the registry file, which
    `feast materialize` rewrites in place (a reader could find it half-written)."""
    features = platform.defs.resources["feature_store"]
    store = features.serving_store()
    user = platform.stored_value("monthly_snapshot", "2024-03")["user_id"].iloc[0]
    registry = Path(features.repo_path) / "registry.db"
    moved = registry.with_name("registry.db.moved")
    registry.rename(moved)
    try:
        # Even long after it was read (Feast's default cache would re-read the file by now and
        # fail with FileNotFoundError here).
        store.registry.cached_registry_proto_created -= timedelta(days=1)
        assert str(features.online_features([user], store)[0]["feature_timestamp"].date()) == "2024-03-31"
    finally:
        moved.rename(registry)
