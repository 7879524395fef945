"""Model quality is part of performance: val_auc and fit time of the candidate model kinds on the
scenario months (each month: fit on its train rows, ROC AUC on its validation rows, the platform's
own split, features, pipeline and metric).

    python -m benchmarks.models --data /tmp/bench_data/u100000 --out benchmarks/results/models_100k.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from mlops_assets.domain.metrics import roc_auc
from mlops_assets.domain.model import ModelParams, build_pipeline, score, to_model_frame
from mlops_assets.domain.schema import ENTITY_KEY, FEATURES, LABEL
from mlops_assets.domain.split import TRAIN, assign_split
from mlops_assets.importer import read_month
from benchmarks import publish

CANDIDATES = {
    "random_forest (course: 300 trees, uncapped)": ModelParams(kind="random_forest"),
    "random_forest (300 trees, min_samples_leaf=50)": ModelParams(kind="random_forest", min_samples_leaf=50),
    "hist_gradient_boosting (300 iter)": ModelParams(kind="hist_gradient_boosting"),
    "logistic_regression": ModelParams(kind="logistic_regression"),
}


def month_dataset(folder: Path) -> pd.DataFrame:
    snap = read_month(folder, folder.name)
    data = snap.loc[snap[LABEL].notna(), [ENTITY_KEY, *FEATURES, LABEL]].reset_index(drop=True)
    data[LABEL] = data[LABEL].astype("int64")
    data["split"] = assign_split(data[ENTITY_KEY])
    return data


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--skip", default="", help="comma-separated substrings of candidates to skip")
    args = parser.parse_args(argv)
    skip = [s for s in args.skip.split(",") if s]
    rows = []
    months = sorted(p for p in args.data.iterdir() if p.is_dir())
    for folder in months:
        data = month_dataset(folder)
        train, val = data[data["split"] == TRAIN], data[data["split"] != TRAIN]
        for name, params in CANDIDATES.items():
            if any(s in name for s in skip):
                continue
            pipe = build_pipeline(params)
            t0 = time.perf_counter()
            pipe.fit(to_model_frame(train), train[LABEL].to_numpy())
            fit_s = time.perf_counter() - t0
            auc = roc_auc(val[LABEL], score(pipe, val))
            rows.append({"month": folder.name, "model": name, "train_rows": len(train), "val_auc": round(auc, 4), "fit_s": round(fit_s, 2)})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    pivot = table.pivot_table(index="model", columns="month", values="val_auc")
    pivot["mean_val_auc"] = pivot.mean(axis=1)
    pivot["mean_fit_s"] = table.groupby("model")["fit_s"].mean()
    text = f"users: {args.data.name}, train rows per month ~{table['train_rows'].iloc[0]}\n\n" + pivot.round(4).to_markdown()
    publish(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
