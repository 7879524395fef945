"""The Spark offline store's configuration, without starting Spark: environment -> resource ->
`feature_store.yaml` and the feature views' sources (the Spark end-to-end test runs it)."""

from pathlib import Path

import pytest

from mlops_assets.definitions import build_definitions
from mlops_assets.resources import spark as spark_engine
from mlops_assets.resources.spark import parse_spark_conf, spark_conf


def test_spark_conf_from_the_environment_json_or_key_value_pairs():
    assert parse_spark_conf(None) == {} and parse_spark_conf("  ") == {}
    assert parse_spark_conf('{"spark.executor.memory": "4g", "spark.executor.cores": 2}') == {
        "spark.executor.memory": "4g", "spark.executor.cores": "2"}
    assert parse_spark_conf("spark.executor.memory=4g, spark.hadoop.fs.s3a.endpoint=http://minio:9000") == {
        "spark.executor.memory": "4g", "spark.hadoop.fs.s3a.endpoint": "http://minio:9000"}
    with pytest.raises(ValueError, match="not key=value"):
        parse_spark_conf("spark.executor.memory")
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_spark_conf("{spark.executor.memory: 4g")
    with pytest.raises(ValueError, match="JSON object"):
        parse_spark_conf('["a"]')


def test_a_local_master_stays_on_loopback_and_a_cluster_master_does_not():
    local = spark_conf("local[2]")
    assert local["spark.master"] == "local[2]" and local["spark.sql.session.timeZone"] == "UTC"
    assert local["spark.driver.host"] == local["spark.driver.bindAddress"] == "127.0.0.1"
    cluster = spark_conf("spark://spark-master:7077", {"spark.sql.session.timeZone": "UTC", "spark.executor.memory": "8g"})
    assert cluster["spark.master"] == "spark://spark-master:7077" and cluster["spark.executor.memory"] == "8g"
    assert "spark.driver.host" not in cluster and "spark.driver.bindAddress" not in cluster
    # MLOPS_SPARK_CONF wins over the defaults.
    assert spark_conf("local[2]", {"spark.sql.shuffle.partitions": "64"})["spark.sql.shuffle.partitions"] == "64"


def test_duckdb_is_the_default(tmp_path):
    store = build_definitions(tmp_path, environ={}).resources["feature_store"]
    assert store.offline_store == "duckdb" and not store.on_spark
    assert "type: duckdb" in _yaml(store)
    assert {type(fv.batch_source).__name__ for fv in store.feature_definitions()[1:]} == {"FileSource"}


def test_the_spark_store_is_configured_by_environment_variables(tmp_path):
    # Feast parses a Spark offline store's config by importing pyspark: `make test` installs the
    # spark extra (and test_spark_store.py fails there without it); `make test-fast` may lack it.
    pytest.importorskip("pyspark", reason="the spark extra is not installed (make install-spark)")
    environ = {
        "MLOPS_OFFLINE_STORE": "Spark",
        "MLOPS_SPARK_MASTER": "spark://spark-master:7077",
        "MLOPS_SPARK_CONF": "spark.executor.memory=8g",
        "MLOPS_FEATURE_DATA_URI": "s3a://lake/streamflow/features/",
    }
    store = build_definitions(tmp_path, environ=environ).resources["feature_store"]
    assert store.on_spark
    config = store.store().config.offline_store  # Feast parses the written feature_store.yaml
    assert config.type == "spark"
    assert config.spark_conf == spark_conf("spark://spark-master:7077", {"spark.executor.memory": "8g"})
    sources = {fv.name: fv.batch_source for fv in store.feature_definitions()[1:]}
    assert {type(s).__name__ for s in sources.values()} == {"SparkSource"}
    assert {name: s.path for name, s in sources.items()} == {
        name: f"s3a://lake/streamflow/features/{name}/*.parquet" for name in sources}
    assert not spark_engine.running()  # configuring starts no Spark: only a retrieval, a write or scoring does


def test_an_unknown_offline_store_fails_at_load(tmp_path):
    with pytest.raises(ValueError, match="MLOPS_OFFLINE_STORE='bigquery': expected one of duckdb, spark"):
        build_definitions(tmp_path, environ={"MLOPS_OFFLINE_STORE": "bigquery"})


def _yaml(store) -> str:
    store.store()
    return (Path(store.repo_path) / "feature_store.yaml").read_text()
