"""The Feast feature store: one entity (`user`), four feature views, DuckDB offline store by
default, Feast's Spark offline store by configuration (`offline_store="spark"`, MLOPS_OFFLINE_STORE).

The feature definitions are built from `domain.schema` (one source of truth) and applied
idempotently on first use, so `feast apply` is never a manual step. The repo folder holds a real
`feature_store.yaml`, so the Feast CLI works on it too (`feast -c <repo> feature-views list`).

Offline data: one folder per feature view, one Parquet table per month (`<view>/<YYYY-MM>.parquet`,
a file for DuckDB; for Spark a Parquet directory written by Spark wherever Spark reads:
`feature_data_uri`, a local folder, `s3a://` or `hdfs://`). Re-importing a month replaces exactly
that month's table; other months are never rewritten. Both stores read the same glob
(`<view>/*.parquet`) and answer `get_historical_features` with the same rows; `historical_features`
hands them to the assets with the same dtypes.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource, get_dagster_logger

from mlops_assets.duckdb_memory import DEFAULT_MEMORY_LIMIT, memory_settings
from mlops_assets.feast_import import import_feast
from mlops_assets.resources import spark as spark_engine
from mlops_assets.resources.environment import FromEnvironment

from mlops_assets.domain.schema import COLUMN_KINDS, ENTITY_KEY, EVENT_TIMESTAMP, FEATURE_VIEWS

PROJECT = "streamflow"
# A snapshot describes the month that ends at its timestamp; it stays valid until the next one.
FEATURE_TTL = timedelta(days=31)

_YAML = """\
project: {project}
provider: local
registry: {registry}
{offline_store}{online_store}entity_key_serialization_version: 3
"""
OFFLINE_STORES = ("duckdb", "spark")
_DUCKDB_OFFLINE = """offline_store:
  type: duckdb
"""
_SPARK_OFFLINE = """offline_store:
  type: spark
  spark_conf:
{conf}"""
_SQLITE_ONLINE = """online_store:
  type: sqlite
  path: {path}
"""
# The services deployment's online store: a Redis server (docker-compose.yml), feast[redis].
_REDIS_ONLINE = """online_store:
  type: redis
  connection_string: "{connection}"
"""


def offline_store_choice(value: str | None) -> str:
    """MLOPS_OFFLINE_STORE: `duckdb` (unset) or `spark`; anything else fails at load, saying so."""
    choice = (value or "duckdb").strip().lower()
    if choice not in OFFLINE_STORES:
        raise ValueError(f"MLOPS_OFFLINE_STORE={value!r}: expected one of {', '.join(OFFLINE_STORES)}")
    return choice


def _feast_type(kind: str):
    import_feast()
    from feast.types import Bool, Float64, Int64, String

    return {"str": String, "int": Int64, "float": Float64, "bool": Bool}[kind]


class FeastFeatureStore(FromEnvironment, ConfigurableResource):
    """A Feast repo on the local provider (DuckDB or Spark offline store, SQLite or Redis online store)."""

    repo_path: str
    # host:port of a Redis server for the online store (MLOPS_FEAST_REDIS); unset: SQLite in the repo.
    redis_connection: str | None = None
    # "duckdb" (default) or "spark" (MLOPS_OFFLINE_STORE).
    offline_store: str = "duckdb"
    # Spark only: the master URL (MLOPS_SPARK_MASTER), extra session settings (MLOPS_SPARK_CONF),
    # and where the month tables go (MLOPS_FEATURE_DATA_URI; unset: the repo's data folder).
    spark_master: str = spark_engine.DEFAULT_SPARK_MASTER
    spark_conf: dict[str, str] = {}
    feature_data_uri: str | None = None
    # DuckDB store only: the memory DuckDB may hold for a retrieval (MLOPS_DUCKDB_MEMORY_LIMIT);
    # beyond it DuckDB spills to the repo's `.duckdb_tmp` (mlops_assets/duckdb_memory.py).
    duckdb_memory_limit: str = DEFAULT_MEMORY_LIMIT

    @property
    def on_spark(self) -> bool:
        return offline_store_choice(self.offline_store) == "spark"

    @property
    def online_store_path(self) -> str:
        return f"redis://{self.redis_connection}" if self.redis_connection else str(Path(self.repo_path) / "online_store.db")

    @property
    def data_path(self) -> Path:
        return Path(self.repo_path) / "data"

    @property
    def data_uri(self) -> str:
        """Where the month tables are: the data folder, or for Spark `feature_data_uri` if set."""
        if self.on_spark and self.feature_data_uri:
            return self.feature_data_uri.rstrip("/")
        return str(self.data_path)

    def _table_glob(self, view: str) -> str:
        return f"{self.data_uri}/{view}/*.parquet"

    def feature_definitions(self) -> list:
        import_feast()
        from feast import Entity, FeatureView, Field, FileSource, ValueType
        from feast.data_format import ParquetFormat

        user = Entity(name="user", join_keys=[ENTITY_KEY], value_type=ValueType.STRING, description="A StreamFlow user")
        objects: list = [user]
        for view, columns in FEATURE_VIEWS.items():
            if self.on_spark:
                from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource

                source = SparkSource(
                    name=f"{view}_source", path=self._table_glob(view), file_format="parquet", timestamp_field=EVENT_TIMESTAMP
                )
            else:
                source = FileSource(
                    name=f"{view}_source",
                    path=self._table_glob(view),
                    file_format=ParquetFormat(),
                    timestamp_field=EVENT_TIMESTAMP,
                )
            objects.append(
                FeatureView(
                    name=view,
                    entities=[user],
                    ttl=FEATURE_TTL,
                    schema=[Field(name=c, dtype=_feast_type(COLUMN_KINDS[c])) for c in columns],
                    source=source,
                    online=True,
                )
            )
        return objects

    def store(self):
        import_feast()
        from feast import FeatureStore

        repo = Path(self.repo_path)
        repo.mkdir(parents=True, exist_ok=True)
        yaml_path = repo / "feature_store.yaml"
        online = (
            _REDIS_ONLINE.format(connection=self.redis_connection)
            if self.redis_connection
            else _SQLITE_ONLINE.format(path=repo / "online_store.db")
        )
        text = _YAML.format(project=PROJECT, registry=repo / "registry.db", offline_store=self._offline_store_yaml(), online_store=online)
        if not yaml_path.exists() or yaml_path.read_text() != text:
            yaml_path.write_text(text)
        return FeatureStore(repo_path=str(repo))

    def _offline_store_yaml(self) -> str:
        if not self.on_spark:
            return _DUCKDB_OFFLINE
        conf = spark_engine.spark_conf(self.spark_master, self.spark_conf)
        # JSON strings are YAML strings: any value (a URL, a JVM option) is quoted safely.
        return _SPARK_OFFLINE.format(conf="".join(f"    {json.dumps(k)}: {json.dumps(v)}\n" for k, v in conf.items()))

    def apply(self):
        """Register the entity and feature views (idempotent). Returns the FeatureStore."""
        store = self.store()
        if self.on_spark:
            self.spark_session()  # started with the repo's settings before Feast reads a source
        objects = self.feature_definitions()
        registered = {fv.name: fv for fv in store.list_feature_views()}
        wanted = {fv.name: fv for fv in objects if hasattr(fv, "batch_source")}
        # Applied again when a view is missing or reads another source (the store was switched).
        if set(registered) != set(wanted) or any(registered[n].batch_source != fv.batch_source for n, fv in wanted.items()):
            store.apply(objects)
        return store

    def _configure_duckdb(self) -> None:
        """Feast's DuckDB store runs on ibis' default DuckDB connection (one per process): bound
        its memory, hand freed memory back to the system, and give it a place to spill."""
        import ibis

        spill = Path(self.repo_path) / ".duckdb_tmp"
        spill.mkdir(parents=True, exist_ok=True)
        connection = ibis.get_backend()
        for statement in memory_settings(self.duckdb_memory_limit):
            connection.raw_sql(statement)  # returns the connection itself: nothing to close
        # DuckDB refuses to move a temporary directory it has spilled to (a second retrieval in
        # the same process): set once; one that was used already stays where it is, and says so.
        (current,) = connection.raw_sql("SELECT current_setting('temp_directory')").fetchone()
        if current != str(spill):
            import duckdb

            try:
                connection.raw_sql(f"SET temp_directory = '{spill}'")
            except duckdb.NotImplementedException:
                get_dagster_logger().warning(
                    "DuckDB keeps spilling to %s, which this process used already, not to %s", current, spill
                )

    # -- Spark --------------------------------------------------------------------------------
    def spark_session(self):
        """The session Feast's Spark store runs on (started from the repo's spark_conf if none runs)."""
        if not self.on_spark:
            raise ValueError("the offline store is DuckDB (MLOPS_OFFLINE_STORE=spark chooses Spark)")
        return spark_engine.session(self.store().config.offline_store)

    def teardown_after_execution(self, context) -> None:
        # A run's Spark session and its JVM end with the run (Dagster calls this after each run).
        spark_engine.stop()

    @staticmethod
    def feature_refs() -> list[str]:
        # The views are built from the schema, so their declared features are the schema's
        # (a view's Feast schema also holds the join key, which is not a feature).
        return [f"{view}:{column}" for view, columns in FEATURE_VIEWS.items() for column in columns]

    def write_month(self, month_key: str, snapshot: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, int]:
        """Write one month of every feature view to the offline store; returns rows per view."""
        timestamp = pd.Timestamp(as_of).tz_localize("UTC") if pd.Timestamp(as_of).tzinfo is None else pd.Timestamp(as_of)
        rows = {}
        if self.on_spark:
            for view, columns in FEATURE_VIEWS.items():
                table = snapshot[[ENTITY_KEY, *columns]].copy()
                table[EVENT_TIMESTAMP] = timestamp
                rows[view] = self._write_spark_table(view, month_key, table)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            # Each column converted to Arrow once (the user ids went through pandas' Parquet
            # writer once per view), the types pandas' writer gives them.
            arrays = {c: pa.Array.from_pandas(snapshot[c]) for c in (ENTITY_KEY, *(c for cs in FEATURE_VIEWS.values() for c in cs))}
            stamps = pa.array(pd.Series(timestamp, index=snapshot.index))
            for view, columns in FEATURE_VIEWS.items():
                folder = self.data_path / view
                folder.mkdir(parents=True, exist_ok=True)
                target = folder / f"{month_key}.parquet"
                # Write then rename: a reader never sees a half-written month.
                tmp = folder / f".{month_key}.parquet.tmp"
                pq.write_table(pa.table({**{c: arrays[c] for c in (ENTITY_KEY, *columns)}, EVENT_TIMESTAMP: stamps}), tmp)
                os.replace(tmp, target)
                rows[view] = len(snapshot)
        self.apply()
        return rows

    def _write_spark_table(self, view: str, month_key: str, table: pd.DataFrame) -> int:
        """The month's table written by Spark where Spark reads it: staged under a hidden name
        (the glob skips it), then moved over the month's old table."""
        spark = self.spark_session()
        # Arrow-backed or nullable pandas dtypes as plain ones Spark's Arrow path converts.
        frame = table.astype({c: object for c in table.columns if c != EVENT_TIMESTAMP and table[c].dtype.kind not in "fiub"})
        target = f"{self.data_uri}/{view}/{month_key}.parquet"
        staged = f"{self.data_uri}/{view}/.{month_key}.parquet.staged"
        spark.createDataFrame(frame).coalesce(1).write.mode("overwrite").parquet(staged)
        spark_engine.replace_directory(spark, staged, target)
        return len(table)

    def _retrieval(self, entity_df: pd.DataFrame):
        store = self.apply()
        if self.on_spark:
            entity_df = self._entities_on_spark(entity_df)
        else:
            self._configure_duckdb()
        return store.get_historical_features(entity_df=entity_df, features=self.feature_refs())

    def _entities_on_spark(self, entity_df: pd.DataFrame):
        """The entity rows as a Parquet table beside the features, read back as a Spark DataFrame.
        Handed over as pandas, Feast turns them into a local relation inside every query plan: a
        million rows in the plan ran the 10 GB driver out of heap when the scores' plan used it
        again (benchmarks/spark_engine.py). The table is removed when the run's Spark stops."""
        spark = self.spark_session()
        path = f"{self.data_uri}/.entities/{uuid.uuid4().hex}.parquet"
        frame = entity_df.astype({ENTITY_KEY: object})
        spark.createDataFrame(frame).write.parquet(path)
        spark_engine.remove_when_stopped(path)
        return spark.read.parquet(path)

    def historical_features(self, entity_df: pd.DataFrame) -> pd.DataFrame:
        """Point-in-time correct features for (user_id, event_timestamp) rows, sorted by user."""
        job = self._retrieval(entity_df)
        if self.on_spark:
            # Feast does not keep row order.
            return like_duckdb(job.to_df()).sort_values([ENTITY_KEY, EVENT_TIMESTAMP]).reset_index(drop=True)
        # Feast's to_df is to_arrow().to_pandas(); sorting in Arrow first (C++, byte order of UTF-8,
        # which is code point order, as pandas sorts Python strings) saves a sort of a million
        # Python objects, and each column is freed once converted (self_destruct).
        table = job.to_arrow().sort_by([(ENTITY_KEY, "ascending"), (EVENT_TIMESTAMP, "ascending")])
        return table.to_pandas(self_destruct=True, split_blocks=True)

    def historical_features_on_spark(self, entity_df: pd.DataFrame):
        """The same retrieval as a Spark DataFrame, left on the cluster (Spark store only)."""
        if not self.on_spark:
            raise ValueError("historical_features_on_spark needs the Spark offline store (MLOPS_OFFLINE_STORE=spark)")
        return self._retrieval(entity_df).to_spark_df()

    # -- online store -------------------------------------------------------------------------
    def materialize_month(self, as_of: pd.Timestamp) -> None:
        """`feast materialize` of one month into the online store: the rows stamped at this
        month's as_of (every view holds one row per user and month, stamped at as_of)."""
        timestamp = pd.Timestamp(as_of).tz_localize("UTC") if pd.Timestamp(as_of).tzinfo is None else pd.Timestamp(as_of)
        store = self.apply()
        if not self.on_spark:
            self._configure_duckdb()
        store.materialize(
            start_date=(timestamp - timedelta(days=1)).to_pydatetime(),
            end_date=(timestamp + timedelta(seconds=1)).to_pydatetime(),
        )

    def serving_store(self):
        """A FeatureStore for a long-lived online reader (the prediction service): its registry is
        read once and kept (Feast's cache TTL 0: never expires). `feast materialize` rewrites the
        file registry in place, and a reader refreshing its cache at that moment could read it
        half-written; the feature views a reader needs do not change while it runs (a new schema
        is a new deployment)."""
        store = self.store()
        store.registry.cached_registry_proto_ttl = timedelta(0)
        store.list_feature_views()  # read it now, once
        return store

    def online_features(self, user_ids: list[str], store=None) -> list[dict | None]:
        """The online store's features of each user, in order: None for a user the store does not
        hold; otherwise the 14 features plus `feature_timestamp` (UTC), the newest event
        timestamp among them. A user is unknown when no feature has an event timestamp (SQLite
        marks such values NOT_FOUND, Redis does not: the timestamp is what both agree on)."""
        store = store or self.store()
        response = store.get_online_features(features=self.feature_refs(), entity_rows=[{ENTITY_KEY: u} for u in user_ids])
        columns = response.to_dict(include_event_timestamps=True)
        names = [name for name in columns if name != ENTITY_KEY and not name.endswith("__ts")]
        found = []
        for row in range(len(user_ids)):
            stamp = max(columns[f"{name}__ts"][row] or 0 for name in names)
            if not stamp:
                found.append(None)
                continue
            values = {name: columns[name][row] for name in names}
            values["feature_timestamp"] = pd.Timestamp(stamp, unit="s", tz="UTC")
            found.append(values)
        return found


def like_duckdb(frame: pd.DataFrame) -> pd.DataFrame:
    """Spark's answer with the dtypes DuckDB's has: Spark's toPandas gives the session's (UTC)
    wall time without a zone in nanoseconds, DuckDB a UTC timestamp in microseconds. The feature
    columns already agree (ints with nulls as float64, booleans with nulls as object, in both)."""
    frame = frame.copy()
    stamps = pd.to_datetime(frame[EVENT_TIMESTAMP])
    stamps = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
    frame[EVENT_TIMESTAMP] = stamps.astype("datetime64[us, UTC]")
    return frame
