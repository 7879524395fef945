"""What the Spark engine costs on one machine: Feast's Spark offline store on `local[2]` against
the DuckDB store, for writing the months, point-in-time retrieval and scoring, on the same data.

Both stores are the platform's own resource (`FeastFeatureStore`, `offline_store="duckdb"` and
`"spark"`), written with `write_month` from the importer's snapshots. Retrieval: the last month's
labelled users at as_of (`historical_features`, as `training_dataset` asks), with the answers
asserted equal. Scoring: every user of the last month, as `churn_scores` scores them
(`assets.scores.scored_users`: DuckDB retrieval + pandas `score`, or the Spark retrieval left on
Spark + `mlflow.pyfunc.spark_udf`), the probabilities asserted equal within 1e-9. The model is
the platform's default pipeline fit on the first 50,000 training rows (the model is not what is
measured). `--users N` takes the first N users of each month (so 100k and 1M come from the same
generated data).

    python -m benchmarks.spark_engine --data /var/tmp/mlops_bench_data/users_1000000 --users 100000 \
        --out benchmarks/results/spark_100k.md
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mlops_assets.assets.scores import scored_users, scoring_entities
from mlops_assets.assets.training import entity_rows
from mlops_assets.domain.model import build_pipeline, to_model_frame
from mlops_assets.domain.months import as_of_for
from mlops_assets.domain.schema import ENTITY_KEY, LABEL
from mlops_assets.importer import read_month
from mlops_assets.resources import FeastFeatureStore
from mlops_assets.resources import spark as spark_engine
from benchmarks import publish

FIT_ROWS = 50_000


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--months", default="2024-01,2024-02")
    parser.add_argument("--users", type=int, default=None, help="the first N users of each month (default: all)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mlops_bench_work/spark_engine"))
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--spark-conf", default="spark.driver.memory=6g", help="MLOPS_SPARK_CONF for the benchmark's session")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    months = args.months.split(",")
    shutil.rmtree(args.work, ignore_errors=True)
    stores = {
        "duckdb": FeastFeatureStore(repo_path=str(args.work / "duckdb")),
        "spark": FeastFeatureStore(repo_path=str(args.work / "spark"), offline_store="spark",
                                   spark_conf=spark_engine.parse_spark_conf(args.spark_conf)),
    }
    rows = Progress()  # (step, duckdb, spark, note), each printed as it lands
    try:
        _, spark_start = timed(lambda: stores["spark"].spark_session())
        rows.append(("Spark session start (JVM, local[2])", "-", f"{spark_start:.1f}", "once per run"))
        snapshots = {}
        for month in months:
            snapshot = read_month(args.data / month, month)
            if args.users:
                keep = np.sort(snapshot[ENTITY_KEY].unique())[: args.users]
                snapshot = snapshot[snapshot[ENTITY_KEY].isin(keep)].reset_index(drop=True)
            snapshots[month] = snapshot
            as_of = pd.Timestamp(as_of_for(month))
            took = {name: timed(lambda s=store: s.write_month(month, snapshot, as_of))[1] for name, store in stores.items()}
            rows.append((f"write_month {month} (4 views, feast apply)", f"{took['duckdb']:.1f}", f"{took['spark']:.1f}", ""))
        last = months[-1]
        as_of = pd.Timestamp(as_of_for(last))
        snapshot = snapshots[last]
        entities, labels = entity_rows(snapshot, as_of)
        for store in stores.values():
            store.historical_features(entities.head(1000))  # registry read, sessions warm: both sides warm

        times = {"duckdb": [], "spark": []}
        answers = {}
        for _ in range(args.reps):
            for name, store in stores.items():
                answers[name], took = timed(lambda s=store: s.historical_features(entities))
                times[name].append(took)
            print({k: round(v[-1], 2) for k, v in times.items()}, flush=True)
        pd.testing.assert_frame_equal(answers["spark"], answers["duckdb"])
        rows.append((f"get_historical_features, {len(entities):,} labelled users at {as_of.date()}",
                     _runs(times["duckdb"]), _runs(times["spark"]), "answers equal (asserted)"))

        train = answers["duckdb"].merge(labels, on=ENTITY_KEY).head(FIT_ROWS)
        model = build_pipeline().fit(to_model_frame(train), train[LABEL].astype(int))
        everyone = scoring_entities(snapshot, as_of)
        times = {"duckdb": [], "spark": []}
        scored = {}
        for _ in range(args.reps):
            for name, store in stores.items():
                scored[name], took = timed(lambda s=store: scored_users(s, model, everyone))
                times[name].append(took)
            print({k: round(v[-1], 2) for k, v in times.items()}, flush=True)
        pandas_scores = pd.Series(np.asarray(scored["duckdb"][1]), index=np.asarray(scored["duckdb"][0]))
        spark_scores = pd.Series(np.asarray(scored["spark"][1]), index=np.asarray(scored["spark"][0]))
        difference = float((spark_scores.loc[pandas_scores.index] - pandas_scores).abs().max())
        assert difference <= 1e-9, difference
        rows.append((f"churn_scores: retrieval + scoring of {len(everyone):,} users",
                     _runs(times["duckdb"]), _runs(times["spark"]),
                     f"DuckDB + pandas score vs Spark + spark_udf; max abs difference {difference:.1e}"))
    finally:
        spark_engine.stop()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    users = len(snapshots[months[-1]])
    table = "\n".join(f"| {step} | {duck} | {spark} | {note} |" for step, duck, spark, note in rows)
    text = (
        f"Spark `local[2]` against DuckDB, {users:,} users x {len(months)} months ({', '.join(months)}; "
        f"`{args.data.name}`{f', first {args.users:,} users' if args.users else ''}), {args.reps} repetitions "
        f"(each run listed), seconds, on this 2-core machine shared with other work. Spark settings: "
        f"`{json.dumps(stores['spark'].spark_conf)}` over the platform's defaults.\n\n"
        f"| step | DuckDB s | Spark s | note |\n|---|---|---|---|\n{table}\n\n"
        f"Peak RSS of the Python driver process: {peak_gb:.1f} GB (the JVM's own heap is on top of it).\n"
    )
    publish(args.out, text)
    return 0


class Progress(list):
    def append(self, row):
        print("|", " | ".join(row), "|", flush=True)
        super().append(row)


def _runs(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({', '.join(f'{v:.1f}' for v in values)})"


if __name__ == "__main__":
    raise SystemExit(main())
