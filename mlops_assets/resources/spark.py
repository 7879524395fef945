"""Spark for the Spark offline store and Spark scoring: its settings, its session, its JVM.

One Spark configuration serves Feast (it is written into `feature_store.yaml` as the offline
store's `spark_conf`, so the Feast CLI on the repo uses the same session settings) and the
platform's own Spark work (writing a month's Parquet, scoring with `mlflow.pyfunc.spark_udf`):
both take the session Feast's store would start (`session`). The session, and the JVM behind it,
lives for one Dagster run: `stop` ends both, so a long-lived process (a test, `execute_in_process`)
never keeps a Java process behind it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

DEFAULT_SPARK_MASTER = "local[2]"


def parse_spark_conf(text: str | None) -> dict[str, str]:
    """`MLOPS_SPARK_CONF`: a JSON object (`{"spark.executor.memory": "4g"}`) or `k=v,k=v`."""
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"MLOPS_SPARK_CONF is not valid JSON: {error}") from None
        if not isinstance(parsed, dict):
            raise ValueError("MLOPS_SPARK_CONF: expected a JSON object of Spark settings")
        return {str(k): str(v) for k, v in parsed.items()}
    conf = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"MLOPS_SPARK_CONF: {item!r} is not key=value (use k=v,k=v or a JSON object)")
        conf[key.strip()] = value.strip()
    return conf


def spark_conf(master: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The session's settings: the master, UTC (Feast's point-in-time joins compare timestamps;
    a local time zone would move a month's boundary), Arrow for pandas <-> Spark, and on a local
    master loopback only. `extra` (MLOPS_SPARK_CONF) wins."""
    conf = {
        "spark.master": master,
        "spark.app.name": "mlops_assets",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # Spark's WARNs are noise here (a table glob "is not a metadata directory", no native
        # Hadoop); errors still reach the run's log through the exceptions they raise.
        "spark.log.level": "ERROR",
    }
    if master.startswith("local"):
        conf |= {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            # Small data on one machine: Spark's default of 200 shuffle partitions is 200 tasks of nothing.
            "spark.sql.shuffle.partitions": "4",
        }
    return conf | dict(extra or {})


def session(offline_store_config):
    """The Spark session of Feast's Spark offline store (started from its `spark_conf` if none runs)."""
    from feast.infra.offline_stores.contrib.spark_offline_store.spark import get_spark_session_or_start_new_with_repoconfig

    if offline_store_config.spark_conf.get("spark.master", "").startswith("local"):
        # Read from the environment only, when the JVM starts (pyspark ignores spark.pyspark.python
        # in a session started from Python): Spark's Python workers would run the `python3` on
        # PATH, which lacks this environment's packages, and bind the host's address. On a
        # cluster the deployment sets PYSPARK_PYTHON to the executors' interpreter.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return get_spark_session_or_start_new_with_repoconfig(offline_store_config)


def running() -> bool:
    if "pyspark" not in sys.modules:
        return False
    from pyspark import SparkContext

    return SparkContext._gateway is not None  # noqa: SLF001


# Tables this process staged for the session (entity rows), removed when it stops.
_STAGED: list[str] = []


def remove_when_stopped(path: str) -> None:
    _STAGED.append(path)


def _remove_staged(spark) -> None:
    jvm = spark.sparkContext._jvm  # noqa: SLF001
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001
    while _STAGED:
        path = jvm.org.apache.hadoop.fs.Path(_STAGED.pop())
        path.getFileSystem(hadoop_conf).delete(path, True)


def stop(timeout_s: float = 30) -> None:
    """Remove the staged tables, stop the session and the JVM behind it (pyspark keeps the JVM
    for a next session; a run's end is where it must go). Nothing to do when Spark never started
    in this process."""
    if not running():
        return
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession() or SparkSession._instantiatedSession  # noqa: SLF001
    if active is not None and _STAGED:
        _remove_staged(active)
    if active is not None:
        active.stop()
    if SparkContext._active_spark_context is not None:  # noqa: SLF001
        SparkContext._active_spark_context.stop()  # noqa: SLF001
    gateway = SparkContext._gateway  # noqa: SLF001
    SparkContext._gateway = None  # noqa: SLF001
    SparkContext._jvm = None  # noqa: SLF001
    SparkSession._instantiatedSession = None  # noqa: SLF001
    SparkSession._activeSession = None  # noqa: SLF001
    gateway.shutdown()
    proc = getattr(gateway, "proc", None)
    if proc is not None:
        # The gateway JVM exits when its stdin closes (pyspark's own mechanism at interpreter exit).
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=timeout_s)
        except Exception:  # noqa: BLE001 - a JVM that does not exit is killed, never left behind
            proc.kill()
            proc.wait(timeout=timeout_s)


def replace_directory(spark, staged: str, target: str) -> None:
    """Move a staged Parquet directory over the target through Hadoop's file system (the one
    Spark wrote it with: local, HDFS, s3a://), so readers listing the table's glob see the old
    month or the new one, never a half-written one (the stage is a hidden name the glob skips)."""
    jvm = spark.sparkContext._jvm  # noqa: SLF001
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001
    staged_path, target_path = jvm.org.apache.hadoop.fs.Path(staged), jvm.org.apache.hadoop.fs.Path(target)
    fs = target_path.getFileSystem(hadoop_conf)
    if fs.exists(target_path):
        fs.delete(target_path, True)
    if not fs.rename(staged_path, target_path):
        raise OSError(f"could not move {staged} to {target}")
