"""The DuckDB offline store's retrievals: same answer as Feast's own `to_df`, bounded memory."""

import pandas as pd

from mlops_assets.definitions import build_resources
from mlops_assets.domain.months import as_of_for
from mlops_assets.domain.schema import ENTITY_KEY, EVENT_TIMESTAMP
from mlops_assets.generator import write_months
from mlops_assets.importer import read_month


def _store_with_a_month(tmp_path, environ=None):
    store = build_resources(tmp_path, environ or {})["feature_store"]
    (folder,) = write_months(tmp_path / "landing", n_users=300, scenario=("baseline",), seed=3)
    snapshot = read_month(folder, "2024-01")
    store.write_month("2024-01", snapshot, pd.Timestamp(as_of_for("2024-01")))
    entities = snapshot[[ENTITY_KEY]].sample(frac=1.0, random_state=1)  # Feast's order is its own anyway
    entities[EVENT_TIMESTAMP] = pd.Timestamp(as_of_for("2024-01")).tz_localize("UTC")
    return store, entities


def test_retrieval_sorted_in_arrow_equals_feasts_frame_sorted_by_pandas(tmp_path):
    store, entities = _store_with_a_month(tmp_path)
    fast = store.historical_features(entities)
    feast = store.store().get_historical_features(entity_df=entities, features=store.feature_refs()).to_df()
    expected = feast.sort_values([ENTITY_KEY, EVENT_TIMESTAMP]).reset_index(drop=True)
    pd.testing.assert_frame_equal(fast, expected, check_exact=True)
    assert fast[ENTITY_KEY].is_monotonic_increasing and len(fast) == len(entities)


def test_duckdb_memory_is_bounded_from_the_environment_and_spills_in_the_repo(tmp_path):
    import ibis

    store, entities = _store_with_a_month(tmp_path, {"MLOPS_DUCKDB_MEMORY_LIMIT": "1GB"})
    assert store.duckdb_memory_limit == "1GB"
    store.historical_features(entities)
    settings = dict(
        ibis.get_backend().raw_sql(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('memory_limit', 'allocator_background_threads')"
        ).fetchall()
    )
    # DuckDB shows its limit in its own units (1GB = 953.6 MiB).
    assert settings["memory_limit"] == "953.6 MiB" and settings["allocator_background_threads"] == "true"
    assert (tmp_path / "feast" / ".duckdb_tmp").is_dir()
    store.historical_features(entities)  # a second retrieval in the same process sets it again without error
