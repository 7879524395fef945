"""How often the performance trigger fires on noise: on quiet months (nothing changes), the drop of
a month-1 model's AUC from its own validation users to the next months' validation users, over
seeds and month sizes. Calls the platform's domain functions directly (the same split, model
frame, pipeline and metric as the assets; no Dagster, Feast or MLflow).

    python -m benchmarks.performance_noise --users 1500,5000 --seeds 10 --out benchmarks/results/performance_noise.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from mlops_assets import generator
from mlops_assets.domain import schema
from mlops_assets.domain.metrics import roc_auc
from mlops_assets.domain.model import build_pipeline, score, to_model_frame
from mlops_assets.domain.performance import DEFAULT_PERFORMANCE_DROP_THRESHOLD
from mlops_assets.domain.split import TRAIN, VALIDATION, assign_split


def month_frame(files: dict[str, pd.DataFrame]) -> pd.DataFrame:
    joined = pd.concat([files[name].set_index(schema.ENTITY_KEY) for name in schema.FILES], axis=1).reset_index()
    joined[schema.SPLIT] = assign_split(joined[schema.ENTITY_KEY])
    return joined


def quiet_month_drops(n_users: int, seed: int, quiet_months: int = 2) -> list[float]:
    frames = generator.generate_month_frames(n_users=n_users, scenario=("baseline",) + ("quiet",) * quiet_months, seed=seed)
    months = [month_frame(files) for files in frames.values()]
    first = months[0]
    train, validation = first[first[schema.SPLIT] == TRAIN], first[first[schema.SPLIT] == VALIDATION]
    model = build_pipeline().fit(to_model_frame(train), train[schema.LABEL].to_numpy())
    at_promotion = roc_auc(validation[schema.LABEL], score(model, validation))
    drops = []
    for month in months[1:]:
        rows = month[month[schema.SPLIT] == VALIDATION]
        drops.append(at_promotion - roc_auc(rows[schema.LABEL], score(model, rows)))
    return drops


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", default="1500,5000")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--threshold", type=float, default=DEFAULT_PERFORMANCE_DROP_THRESHOLD)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    lines = [
        f"Quiet-month AUC drops of a month-1 model (logistic regression), seeds 1..{args.seeds}, 2 quiet months each; "
        f"threshold {args.threshold}",
        "",
        "| users | months | mean drop | sd | max | share over threshold |",
        "|---|---|---|---|---|---|",
    ]
    for n_users in (int(u) for u in args.users.split(",")):
        drops = np.array([d for seed in range(1, args.seeds + 1) for d in quiet_month_drops(n_users, seed)])
        lines.append(
            f"| {n_users} | {len(drops)} | {drops.mean():.4f} | {drops.std():.4f} | {drops.max():.4f} | "
            f"{(drops > args.threshold).mean():.2f} |"
        )
        print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
