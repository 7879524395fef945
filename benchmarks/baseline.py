"""The bare baseline: one plain Python script doing one month's compute with no orchestration.

Read the month's six CSVs with pyarrow (explicit column types: as fast as an honest script reads
them), join them in Arrow and write one Parquet file per feature view (the offline "store"), the
point-in-time join as a hand-written DuckDB ASOF JOIN, the same model fit and scoring (candidate
and the previous production model on the same validation rows), the same drift statistics as
Evidently's defaults (normed Wasserstein / Jensen-Shannon, threshold 0.1), the same promotion rule,
and the platform's two other outputs: production's AUC on this month's validation users against its
AUC at promotion (`production_performance`; the same rows and scores as the production stage, so
an honest script reuses them) and every user of the month scored by the model the decision left,
written to Parquet (`churn_scores`).
It keeps its state (Parquet files, models) in a folder, like a cron script would, so each month is
its own process, like `dagster asset materialize` of one partition.

    python -m benchmarks.baseline --data DIR --month 2024-02 --state STATE_DIR [--dump]
prints one JSON line: stage timings (s) and the results the harness compares with the platform.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import pickle  # noqa: E402
from pathlib import Path  # noqa: E402

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from scipy import stats  # noqa: E402
from scipy.spatial import distance  # noqa: E402

from mlops_assets.domain.model import ModelParams, build_pipeline, to_model_frame  # noqa: E402
from mlops_assets.domain.schema import (  # noqa: E402
    ENTITY_KEY, FEATURE_VIEWS, FEATURES, FILES, LABEL, NUMERIC_FEATURES,
)
from mlops_assets.domain.months import as_of_for, previous_month_key  # noqa: E402
from mlops_assets.domain.scores import score_table  # noqa: E402
from mlops_assets.domain.split import VALIDATION, assign_split  # noqa: E402
from mlops_assets.duckdb_memory import memory_settings  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

T_IMPORTED = time.perf_counter()
TTL_DAYS = 31
DRIFT_THRESHOLD = 0.1
DELTA = 0.01
PERFORMANCE_DROP = 0.03
_ARROW_TYPES = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "label": pa.bool_(), "date": pa.date32()}


def read_csvs(folder: Path) -> dict[str, pa.Table]:
    """The typed read of the six CSVs, nothing else (the line monthly_snapshot is held to)."""
    return {
        name: pacsv.read_csv(
            folder / name,
            convert_options=pacsv.ConvertOptions(
                include_columns=list(columns),
                column_types={c: _ARROW_TYPES[k] for c, k in columns.items()},
                true_values=["True"], false_values=["False"], null_values=[""], strings_can_be_null=True,
            ),
        )
        for name, columns in FILES.items()
    }


def read_month(tables: dict[str, pa.Table]) -> pa.Table:
    """One row per user of users.csv, sorted by user: absent from an aggregate = 0 events."""
    snap = tables["users.csv"]
    for name, table in tables.items():
        if name != "users.csv":
            snap = snap.join(table, ENTITY_KEY, join_type="left outer")
    for name in ("usage_agg_30d.csv", "payments_agg_90d.csv", "support_agg_90d.csv"):
        for c, k in FILES[name].items():
            if k == "int":
                snap = snap.set_column(snap.schema.get_field_index(c), c, pc.fill_null(snap[c], 0))
    return snap.sort_by(ENTITY_KEY)


def write_views(store: Path, month: str, snap: pa.Table, as_of: pd.Timestamp) -> None:
    stamp = pa.array(np.full(snap.num_rows, as_of.to_datetime64().astype("datetime64[ns]")))
    for view, columns in FEATURE_VIEWS.items():
        (store / view).mkdir(parents=True, exist_ok=True)
        pq.write_table(snap.select([ENTITY_KEY, *columns]).append_column("event_timestamp", stamp), store / view / f"{month}.parquet")


def asof_join(store: Path, entities: pd.DataFrame) -> pd.DataFrame:
    """Features of each (user_id, event_timestamp) as of that timestamp, within the TTL."""
    con = duckdb.connect()
    # The platform's DuckDB settings at their default (mlops_assets/duckdb_memory.py): bounded, and
    # memory handed back once the query is done. Unbounded, 10M users ran this machine out of memory.
    for statement in memory_settings():
        con.execute(statement)
    con.register("entities", entities)
    selects, joins = [], []
    for i, (view, columns) in enumerate(FEATURE_VIEWS.items()):
        fresh = f"v{i}.event_timestamp >= e.event_timestamp - INTERVAL {TTL_DAYS} DAY"
        selects += [f"CASE WHEN {fresh} THEN v{i}.{c} END AS {c}" for c in columns]
        joins.append(
            f"ASOF LEFT JOIN read_parquet('{store / view}/*.parquet') v{i} "
            f"ON e.user_id = v{i}.user_id AND e.event_timestamp >= v{i}.event_timestamp"
        )
    sql = f"SELECT e.user_id, e.event_timestamp, {', '.join(selects)} FROM entities e {' '.join(joins)} ORDER BY e.user_id"
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def _js(ref: pd.Series, cur: pd.Series, numerical: bool) -> float:
    if numerical and ref.nunique() > 20:
        bins = np.histogram_bin_edges(np.concatenate([ref.to_numpy(), cur.to_numpy()]), bins="sturges")
        p = np.histogram(ref, bins)[0] / len(ref)
        q = np.histogram(cur, bins)[0] / len(cur)
    else:
        rc, cc = ref.value_counts(), cur.value_counts()
        keys = rc.index.union(cc.index)
        p = rc.reindex(keys, fill_value=0).to_numpy() / len(ref)
        q = cc.reindex(keys, fill_value=0).to_numpy() / len(cur)
    return float(distance.jensenshannon(p, q))


def drift_statistics(reference: pd.DataFrame, current: pd.DataFrame) -> dict:
    """Evidently's default per-column tests for more than 1000 reference rows."""
    columns = {}
    for col in FEATURES:
        ref, cur = reference[col].dropna(), current[col].dropna()
        assert len(ref) > 1000, "the baseline implements the >1000-row defaults only"
        if col in NUMERIC_FEATURES:
            ref, cur = ref.astype("float64"), cur.astype("float64")
            if pd.concat([ref, cur]).nunique() <= 5:
                method, value = "jensenshannon", _js(ref, cur, True)
            else:
                method = "wasserstein"
                value = float(stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001))
        else:
            method, value = "jensenshannon", _js(ref.astype(str), cur.astype(str), False)
        columns[col] = {"method": method, "score": value, "drifted": bool(value >= DRIFT_THRESHOLD)}
    drifted = [c for c, v in columns.items() if v["drifted"]]
    return {"drift_share": len(drifted) / len(FEATURES), "drifted_columns": drifted, "columns": columns}


def run(data: Path, month: str, state: Path, dump: bool, params: ModelParams) -> dict:
    t = {}
    store, models, scores = state / "store", state / "models", state / "scores"
    models.mkdir(parents=True, exist_ok=True)
    scores.mkdir(parents=True, exist_ok=True)
    as_of = pd.Timestamp(as_of_for(month))

    s = time.perf_counter()
    tables = read_csvs(data / month)
    typed_read = time.perf_counter() - s
    snap = read_month(tables)
    del tables  # every copy of a 10M-user month counts
    write_views(store, month, snap, as_of)
    t["ingest"] = time.perf_counter() - s

    s = time.perf_counter()
    users = snap.select([ENTITY_KEY, LABEL]).to_pandas()
    labelled = users.loc[users[LABEL].notna()]
    entities = pd.DataFrame({ENTITY_KEY: labelled[ENTITY_KEY].astype(object).to_numpy(), "event_timestamp": as_of})
    features = asof_join(store, entities)
    dataset = features.merge(labelled.astype({ENTITY_KEY: object}), on=ENTITY_KEY, validate="one_to_one")
    del features, entities
    dataset[LABEL] = dataset[LABEL].astype("int64")
    dataset["split"] = assign_split(dataset[ENTITY_KEY])
    t["pit_join"] = time.perf_counter() - s
    rows = len(dataset)
    if dump:  # now, so the month's frames need not all be alive at once (10M users)
        dataset.to_parquet(state / f"dataset_{month}.parquet", index=False)

    s = time.perf_counter()
    train, val = dataset[dataset["split"] != VALIDATION], dataset[dataset["split"] == VALIDATION]
    model = build_pipeline(params).fit(to_model_frame(train), train[LABEL].to_numpy())
    val_x = to_model_frame(val)
    candidate_auc = float(roc_auc_score(val[LABEL], model.predict_proba(val_x)[:, 1]))
    with open(models / f"{month}.pkl", "wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    del train, dataset
    t["train"] = time.perf_counter() - s

    s = time.perf_counter()
    pointer = state / "production.json"
    production = json.loads(pointer.read_text()) if pointer.exists() else None
    production_auc, prod_model = None, None
    if production:
        with open(models / f"{production['month']}.pkl", "rb") as fh:
            prod_model = pickle.load(fh)
        production_auc = float(roc_auc_score(val[LABEL], prod_model.predict_proba(val_x)[:, 1]))
    t["production"] = time.perf_counter() - s

    # production_performance: production (trained on an earlier month) on this month's validation
    # users: the rows and scores of the production stage, against its AUC at promotion.
    s = time.perf_counter()
    performance = None
    if production and production["month"] < month:
        drop = production["auc"] - production_auc
        performance = {"auc_now": production_auc, "auc_at_promotion": production["auc"], "drop": drop,
                       "retrain": bool(drop > PERFORMANCE_DROP)}
    t["performance"] = time.perf_counter() - s

    s = time.perf_counter()
    previous = store / "subs_profile_fv" / f"{previous_month_key(month)}.parquet"
    drift = None
    if previous.exists():
        prev = previous_month_key(month)
        reference = pd.concat(
            [pd.read_parquet(store / v / f"{prev}.parquet", columns=list(cols)) for v, cols in FEATURE_VIEWS.items()], axis=1
        )
        drift = drift_statistics(reference, snap.select(list(FEATURES)).to_pandas())
    t["drift"] = time.perf_counter() - s

    s = time.perf_counter()
    promote = production is None or candidate_auc >= production_auc + DELTA
    if promote:
        pointer.write_text(json.dumps({"month": month, "auc": candidate_auc}))
    t["promotion"] = time.perf_counter() - s

    # churn_scores: every user of the month, features as of the month's end (the platform asks
    # Feast again for every user, so this asks DuckDB again), scored by the model the decision left.
    s = time.perf_counter()
    everyone = pd.DataFrame({ENTITY_KEY: users[ENTITY_KEY].astype(object).to_numpy(), "event_timestamp": as_of})
    all_features = asof_join(store, everyone)
    scorer = model if promote else prod_model
    probabilities = scorer.predict_proba(to_model_frame(all_features))[:, 1]
    version = month if promote else production["month"]
    table = score_table(all_features[ENTITY_KEY], probabilities, version, as_of.date().isoformat())
    scores_path = scores / f"churn_scores_{as_of.date().isoformat()}.parquet"
    table.to_parquet(scores_path, index=False)
    t["scores"] = time.perf_counter() - s

    return {
        "month": month,
        "times": t,
        "typed_read_s": typed_read,
        "compute_s": sum(t.values()),
        "import_s": T_IMPORTED - T_START,
        "candidate_auc": candidate_auc,
        "production_auc": production_auc,
        "performance": performance,
        "decision": "promoted" if promote else "skipped",
        "drift_share": None if drift is None else drift["drift_share"],
        "drifted_columns": None if drift is None else drift["drifted_columns"],
        "drift_scores": None if drift is None else {c: v["score"] for c, v in drift["columns"].items()},
        "rows": rows,
        "scored_users": len(table),
        "scores_path": str(scores_path),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--month", required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--dump", action="store_true")
    parser.add_argument("--model-kind", default=None, help="default: the platform's TrainingConfig default")
    args = parser.parse_args(argv)
    params = ModelParams() if args.model_kind is None else ModelParams(kind=args.model_kind)
    result = run(args.data, args.month, args.state, args.dump, params)
    result["script_s"] = time.perf_counter() - T_START
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
