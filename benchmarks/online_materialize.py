"""Feast online materialization of one month (offline Parquet -> SQLite online store), measured.

The platform's cycle does not materialize to the online store (training and scoring read the
offline store); this measures what an optional, separate `feast materialize` of a month would
cost, with the platform's own Feast repo definitions.

    python -m benchmarks.online_materialize --data DIR --month 2024-01 --out benchmarks/results/online_100k.md
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd

from mlops_assets.domain.months import as_of_for
from mlops_assets.importer import read_month
from mlops_assets.resources import FeastFeatureStore
from benchmarks import publish


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--month", default="2024-01")
    parser.add_argument("--repo", type=Path, default=Path("/tmp/mlops_bench_work/feast_online_repo"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    shutil.rmtree(args.repo, ignore_errors=True)
    store = FeastFeatureStore(repo_path=str(args.repo))
    snapshot = read_month(args.data / args.month, args.month)
    as_of = pd.Timestamp(as_of_for(args.month)).tz_localize("UTC")
    store.write_month(args.month, snapshot, as_of.tz_localize(None))
    feast = store.apply()
    start = time.perf_counter()
    feast.materialize(start_date=(as_of - timedelta(days=1)).to_pydatetime(), end_date=(as_of + timedelta(seconds=1)).to_pydatetime())
    elapsed = time.perf_counter() - start
    user = snapshot["user_id"].iloc[0]
    online = feast.get_online_features(features=store.feature_refs(), entity_rows=[{"user_id": user}]).to_dict()
    assert online["monthly_fee"][0] is not None or pd.isna(snapshot["monthly_fee"].iloc[0])
    rows = len(snapshot)
    text = (
        f"Feast `materialize` of month {args.month} ({rows:,} users, 4 feature views, 14 features) into the SQLite "
        f"online store: **{elapsed:.1f} s** ({elapsed / rows * 1e5:.1f} s per 100k users). Online read checked.\n"
    )
    publish(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
