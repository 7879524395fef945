"""Feast's online store on a real Redis server (the compose file's `redis` service, here Debian's
redis-server on loopback): online_features' `feast materialize` writes it and the prediction
service's read returns exactly what the embedded SQLite online store returns for the same month."""

import pandas as pd
import pytest

from mlops_assets.domain.months import as_of_for
from mlops_assets.generator import write_months
from mlops_assets.importer import read_month
from mlops_assets.resources import FeastFeatureStore
from mlops_assets_tests.services.compose import load_compose

pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_redis_online_store_serves_what_sqlite_serves(redis_server, tmp_path):
    assert load_compose()["services"]["code_location"]["environment"]["MLOPS_FEAST_REDIS"] == "redis:6379"
    months = write_months(tmp_path / "incoming", n_users=300, scenario=("baseline", "quiet"), seed=5)
    stores = {
        "redis": FeastFeatureStore(repo_path=str(tmp_path / "feast_redis"), redis_connection=redis_server.connection),
        "sqlite": FeastFeatureStore(repo_path=str(tmp_path / "feast_sqlite")),
    }
    for store in stores.values():
        for folder in months:
            store.write_month(folder.name, read_month(folder, folder.name), pd.Timestamp(as_of_for(folder.name)))
        store.materialize_month(pd.Timestamp(as_of_for("2024-02")))
    assert "type: redis" in (tmp_path / "feast_redis" / "feature_store.yaml").read_text()
    assert stores["redis"].online_store_path == f"redis://{redis_server.connection}"
    users = read_month(months[1], "2024-02")["user_id"].tolist()[:100] + ["no-such-user"]
    from_redis = stores["redis"].online_features(users)
    assert from_redis == stores["sqlite"].online_features(users)
    assert from_redis[-1] is None
    assert {str(row["feature_timestamp"].date()) for row in from_redis[:-1]} == {"2024-02-29"}
