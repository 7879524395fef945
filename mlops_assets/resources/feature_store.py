"""The Feast feature store: one entity (`user`), four feature views, DuckDB offline store.

The feature definitions are built from `domain.schema` (one source of truth) and applied
idempotently on first use, so `feast apply` is never a manual step. The repo folder holds a real
`feature_store.yaml`, so the Feast CLI works on it too (`feast -c <repo> feature-views list`).

Offline data: one folder per feature view, one Parquet file per month (`<view>/<YYYY-MM>.parquet`).
Re-importing a month replaces exactly that month's file; other months are never rewritten.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource

from mlops_assets.resources.environment import FromEnvironment

from mlops_assets.domain.schema import COLUMN_KINDS, ENTITY_KEY, EVENT_TIMESTAMP, FEATURE_VIEWS

PROJECT = "streamflow"
# A snapshot describes the month that ends at its timestamp; it stays valid until the next one.
FEATURE_TTL = timedelta(days=31)

_YAML = """\
project: {project}
provider: local
registry: {registry}
offline_store:
  type: duckdb
{online_store}entity_key_serialization_version: 3
"""
_SQLITE_ONLINE = """online_store:
  type: sqlite
  path: {path}
"""
# The services deployment's online store: a Redis server (docker-compose.yml), feast[redis].
_REDIS_ONLINE = """online_store:
  type: redis
  connection_string: "{connection}"
"""


def _feast_type(kind: str):
    from feast.types import Bool, Float64, Int64, String

    return {"str": String, "int": Int64, "float": Float64, "bool": Bool}[kind]


class FeastFeatureStore(FromEnvironment, ConfigurableResource):
    """A Feast repo on the local provider (DuckDB offline store, SQLite online store)."""

    repo_path: str
    # host:port of a Redis server for the online store (MLOPS_FEAST_REDIS); unset: SQLite in the repo.
    redis_connection: str | None = None

    @property
    def online_store_path(self) -> str:
        return f"redis://{self.redis_connection}" if self.redis_connection else str(Path(self.repo_path) / "online_store.db")

    @property
    def data_path(self) -> Path:
        return Path(self.repo_path) / "data"

    def feature_definitions(self) -> list:
        from feast import Entity, FeatureView, Field, FileSource, ValueType
        from feast.data_format import ParquetFormat

        user = Entity(name="user", join_keys=[ENTITY_KEY], value_type=ValueType.STRING, description="A StreamFlow user")
        objects: list = [user]
        for view, columns in FEATURE_VIEWS.items():
            source = FileSource(
                name=f"{view}_source",
                path=str(self.data_path / view / "*.parquet"),
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
        from feast import FeatureStore

        repo = Path(self.repo_path)
        repo.mkdir(parents=True, exist_ok=True)
        yaml_path = repo / "feature_store.yaml"
        online = (
            _REDIS_ONLINE.format(connection=self.redis_connection)
            if self.redis_connection
            else _SQLITE_ONLINE.format(path=repo / "online_store.db")
        )
        text = _YAML.format(project=PROJECT, registry=repo / "registry.db", online_store=online)
        if not yaml_path.exists() or yaml_path.read_text() != text:
            yaml_path.write_text(text)
        return FeatureStore(repo_path=str(repo))

    def apply(self):
        """Register the entity and feature views (idempotent). Returns the FeatureStore."""
        store = self.store()
        objects = self.feature_definitions()
        registered = {fv.name for fv in store.list_feature_views()}
        if registered != set(FEATURE_VIEWS):
            store.apply(objects)
        return store

    @staticmethod
    def feature_refs() -> list[str]:
        # The views are built from the schema, so their declared features are the schema's
        # (a view's Feast schema also holds the join key, which is not a feature).
        return [f"{view}:{column}" for view, columns in FEATURE_VIEWS.items() for column in columns]

    def write_month(self, month_key: str, snapshot: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, int]:
        """Write one month of every feature view to the offline store; returns rows per view."""
        timestamp = pd.Timestamp(as_of).tz_localize("UTC") if pd.Timestamp(as_of).tzinfo is None else pd.Timestamp(as_of)
        rows = {}
        for view, columns in FEATURE_VIEWS.items():
            table = snapshot[[ENTITY_KEY, *columns]].copy()
            table[EVENT_TIMESTAMP] = timestamp
            folder = self.data_path / view
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{month_key}.parquet"
            # Write then rename: a reader never sees a half-written month.
            tmp = folder / f".{month_key}.parquet.tmp"
            table.to_parquet(tmp, index=False)
            os.replace(tmp, target)
            rows[view] = len(table)
        self.apply()
        return rows

    def historical_features(self, entity_df: pd.DataFrame) -> pd.DataFrame:
        """Point-in-time correct features for (user_id, event_timestamp) rows, sorted by user."""
        store = self.apply()
        frame = store.get_historical_features(entity_df=entity_df, features=self.feature_refs()).to_df()
        # Feast does not keep row order.
        return frame.sort_values([ENTITY_KEY, EVENT_TIMESTAMP]).reset_index(drop=True)

    # -- online store -------------------------------------------------------------------------
    def materialize_month(self, as_of: pd.Timestamp) -> None:
        """`feast materialize` of one month into the online store: the rows stamped at this
        month's as_of (every view holds one row per user and month, stamped at as_of)."""
        timestamp = pd.Timestamp(as_of).tz_localize("UTC") if pd.Timestamp(as_of).tzinfo is None else pd.Timestamp(as_of)
        store = self.apply()
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
