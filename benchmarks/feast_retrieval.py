"""Feast historical retrieval against a hand-written DuckDB ASOF JOIN, on the same Parquet files.

Builds a Feast repo with the platform's own resource (FeastFeatureStore.write_month of the
importer's snapshots, months 1..K), then, for the month-K entity rows (every labelled user at
as_of), alternates `FeastFeatureStore.historical_features` and the baseline's ASOF JOIN over the
Feast offline files, asserts equal features, and reports medians and the ratio.

    python -m benchmarks.feast_retrieval --data DIR --months 2024-01,2024-02 --reps 3 --out benchmarks/results/feast_1m.md
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd

from benchmarks.baseline import asof_join
from mlops_assets.assets.training import entity_rows
from mlops_assets.domain.model import to_model_frame
from mlops_assets.domain.months import as_of_for
from mlops_assets.domain.schema import ENTITY_KEY, FEATURES
from mlops_assets.importer import read_month
from mlops_assets.resources import FeastFeatureStore
from benchmarks import publish


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--months", default="2024-01,2024-02,2024-03,2024-04")
    parser.add_argument("--repo", type=Path, default=Path("/tmp/mlops_bench_work/feast_repo"))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    months = args.months.split(",")
    store = FeastFeatureStore(repo_path=str(args.repo))
    snapshot = None
    for month in months:
        if not (store.data_path / "subs_profile_fv" / f"{month}.parquet").exists() or month == months[-1]:
            snapshot = read_month(args.data / month, month)
            store.write_month(month, snapshot, pd.Timestamp(as_of_for(month)))
    as_of = pd.Timestamp(as_of_for(months[-1]))
    entities, _ = entity_rows(snapshot, as_of)
    store.historical_features(entities.head(1000))  # registry loaded, files cached: both sides warm

    times = {"feast": [], "asof": []}
    results = {}
    for _ in range(args.reps):
        t = time.perf_counter()
        results["feast"] = store.historical_features(entities)
        times["feast"].append(time.perf_counter() - t)
        t = time.perf_counter()
        results["asof"] = asof_join(store.data_path, entities)
        times["asof"].append(time.perf_counter() - t)
        print({k: round(v[-1], 2) for k, v in times.items()}, flush=True)
    feast, asof = results["feast"], results["asof"]
    assert list(feast[ENTITY_KEY]) == list(asof[ENTITY_KEY])
    pd.testing.assert_frame_equal(to_model_frame(feast[list(FEATURES)]), to_model_frame(asof[list(FEATURES)]))
    med = {k: statistics.median(v) for k, v in times.items()}
    text = (
        f"Feast {len(entities):,} entity rows at {as_of.date()}, offline store holding {len(months)} month(s) "
        f"of {len(snapshot):,} users per view; {args.reps} repetitions, medians.\n\n"
        f"| side | median s | runs |\n|---|---|---|\n"
        f"| Feast get_historical_features (DuckDB offline store) | {med['feast']:.2f} | {', '.join(f'{x:.2f}' for x in times['feast'])} |\n"
        f"| hand-written DuckDB ASOF JOIN | {med['asof']:.2f} | {', '.join(f'{x:.2f}' for x in times['asof'])} |\n\n"
        f"ratio Feast / ASOF: **{med['feast'] / med['asof']:.2f}x**; features equal (asserted).\n"
    )
    publish(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
