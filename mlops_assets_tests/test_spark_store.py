"""The same cycle on Spark: Feast's Spark offline store (`local[2]`) and churn scores from
`mlflow.pyfunc.spark_udf`, against the DuckDB store on the same two months of the same users.
The training sets handed to the assets are equal (users, features, labels, split, dtypes), the
Spark scores equal the pandas scores within 1e-9, the online store materialized from Spark serves
what the DuckDB one serves, and no run leaves a JVM behind."""

import importlib.util
import os
import shutil

import pandas as pd
import psutil
import pytest

from mlops_assets.assets.scores import scoring_entities
from mlops_assets.domain.model import score
from mlops_assets.domain.months import as_of_for
from mlops_assets.domain.schema import LABEL, SPLIT
from mlops_assets.resources import spark as spark_engine
from mlops_assets_tests.faults.platform import Platform, failure_text

pytestmark = pytest.mark.slow

MONTHS = ("2024-01", "2024-02")
SCENARIO = ("baseline", "concept_drift")  # the second month retrains and promotes: two versions score
N_USERS = 1000


def java_children() -> list[str]:
    return [f"{p.pid} {' '.join(p.cmdline()[:3])}" for p in psutil.Process().children(recursive=True) if "java" in p.name()]


@pytest.fixture(scope="module")
def platforms(tmp_path_factory):
    missing = [what for what, ok in (("pyspark (pip install '.[spark]')", importlib.util.find_spec("pyspark")),
                                     ("java (openjdk-17-jre-headless)", shutil.which("java"))) if not ok]
    if missing:
        message = f"the Spark store needs {' and '.join(missing)}; scripts/install-services.sh and `make test` install them"
        if os.environ.get("MLOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"MLOPS_REQUIRE_SERVICES=1 but {message}")
        pytest.skip(message)
    root = tmp_path_factory.mktemp("spark_store")
    duck = Platform(root / "duckdb", scenario=SCENARIO, n_users=N_USERS)
    spark = Platform(root / "spark", scenario=SCENARIO, n_users=N_USERS, environ={"MLOPS_OFFLINE_STORE": "spark"})
    jvm_after_run = []
    try:
        for month in MONTHS:
            duck.process(month)
            spark.process(month)
            jvm_after_run.append((month, spark_engine.running(), java_children()))
        # The newest month into each online store (feast materialize reads the offline store).
        for platform in (duck, spark):
            online = platform.run("online_features_job", MONTHS[-1])
            assert online.success, failure_text(online)
        jvm_after_run.append(("online_features", spark_engine.running(), java_children()))
    finally:
        spark_engine.stop()
    return duck, spark, jvm_after_run


def test_the_spark_store_is_what_the_feast_repo_says(platforms):
    _, spark, _ = platforms
    store = spark.defs.resources["feature_store"].store()
    assert store.config.offline_store.type == "spark"
    assert store.config.offline_store.spark_conf["spark.master"] == "local[2]"
    assert store.config.offline_store.spark_conf["spark.sql.session.timeZone"] == "UTC"
    sources = {fv.name: fv.batch_source for fv in store.list_feature_views()}
    assert {type(s).__name__ for s in sources.values()} == {"SparkSource"}
    # Each month of each view is a Parquet table written by Spark (a directory of part files).
    data = spark.home / "feast" / "data"
    for view in sources:
        for month in MONTHS:
            assert list((data / view / f"{month}.parquet").glob("part-*.parquet")), f"{view} {month}"
        assert not list((data / view).glob(".*staged*")), "a staged table was left behind"
    # The entity rows each retrieval staged beside the features went with the run's Spark.
    assert not list((data / ".entities").glob("*.parquet")), "staged entity rows were left behind"


def test_the_training_set_is_the_duckdb_stores(platforms):
    duck, spark, _ = platforms
    for month in MONTHS:
        expected = duck.stored_value("training_dataset", month)
        got = spark.stored_value("training_dataset", month)
        assert len(got) > 600 and got[LABEL].nunique() == 2 and got[SPLIT].nunique() == 2
        # Same users, features (values and dtypes), labels and split, row for row.
        pd.testing.assert_frame_equal(got, expected)
        assert spark.latest("training_dataset", month)["data_fingerprint"] == duck.latest("training_dataset", month)["data_fingerprint"]
    # The same data trains the same models, so the same decisions follow.
    for month in MONTHS:
        assert spark.latest("promotion_decision", month)["decision"] == duck.latest("promotion_decision", month)["decision"] == "promoted"


def test_churn_scores_on_spark_equal_the_pandas_scores(platforms):
    duck, spark, _ = platforms
    duck_store = duck.defs.resources["feature_store"]
    for month, version in zip(MONTHS, ("1", "2")):
        metadata = spark.latest("churn_scores", month)
        assert metadata["scored_on"].startswith("spark") and duck.latest("churn_scores", month)["scored_on"] == "pandas"
        assert metadata["model_version"] == version
        table = pd.read_parquet(metadata["scores_path"]).set_index("user_id")
        snapshot = spark.stored_value("monthly_snapshot", month)
        assert sorted(table.index) == sorted(snapshot["user_id"])
        # The pandas path: the same registered version applied to the DuckDB store's features.
        features = duck_store.historical_features(scoring_entities(snapshot, pd.Timestamp(as_of_for(month))))
        expected = pd.Series(score(spark.registry.load_version(version), features), index=features["user_id"])
        difference = (table.loc[expected.index, "churn_probability"] - expected).abs().max()
        assert difference <= 1e-9, f"{month}: Spark scores differ from pandas by {difference}"
        # And the DuckDB platform's own scores file: same users, same probabilities, same ranks.
        duck_table = pd.read_parquet(duck.latest("churn_scores", month)["scores_path"]).set_index("user_id")
        assert (table["churn_probability"] - duck_table.loc[table.index, "churn_probability"]).abs().max() <= 1e-9
        assert (table["risk_band"] == duck_table.loc[table.index, "risk_band"]).all()


def test_the_online_store_materialized_from_spark_serves_the_same_features(platforms):
    duck, spark, _ = platforms
    assert spark.latest("online_features", MONTHS[-1])["written"] is True
    users = sorted(spark.stored_value("monthly_snapshot", MONTHS[-1])["user_id"])[:50] + ["no-such-user"]
    expected = duck.defs.resources["feature_store"].online_features(users)
    got = spark.defs.resources["feature_store"].online_features(users)
    assert got[-1] is None and all(row is not None for row in got[:-1])
    assert got == expected


def test_no_run_leaves_a_jvm_behind(platforms):
    *_, jvm_after_run = platforms
    for month, running, children in jvm_after_run:
        assert not running, f"a Spark gateway is still up after the runs of {month}"
        assert children == [], f"java processes left after the runs of {month}: {children}"
    assert java_children() == []
