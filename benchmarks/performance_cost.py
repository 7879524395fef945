"""What production_performance adds to the cheap ingest run: per-step times of every ingest run
(monthly_snapshot, drift_report, production_performance) and, for scale, the retraining run's
training_dataset (Feast retrieval of every labelled user) and production_metrics, from the
instance's event log. The months are played through the real sensors (`cli.play_months`) on a
fresh temporary home and instance.

    python -m benchmarks.performance_cost --users 5000 --out benchmarks/results/performance_5k.md
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.platform_warm import step_times
from benchmarks import publish

INGEST_STEPS = ("monthly_snapshot", "drift_report", "production_performance")
RETRAINING_STEPS = ("training_dataset", "production_metrics")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--scenario", default="baseline,quiet,concept_drift,covariate_drift,silent_concept_drift")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    from dagster import instance_for_test

    from mlops_assets.cli import play_months
    from mlops_assets.definitions import build_definitions
    from mlops_assets.generator import write_months
    from mlops_assets.instance import INSTANCE_SETTINGS

    rows = []
    with tempfile.TemporaryDirectory() as tmp, instance_for_test(overrides=INSTANCE_SETTINGS) as instance:
        home = Path(tmp)
        defs = build_definitions(home, environ={})
        folders = write_months(home / "incoming", n_users=args.users, scenario=args.scenario.split(","), seed=args.seed)
        runs = play_months(defs, instance, folders)
        by_month: dict[str, dict] = {}
        for sensor, month, outcome in runs:
            assert outcome.success, (sensor, month)
            by_month.setdefault(month, {}).update(step_times(instance, outcome.run_id))
            if outcome.job_name == "retraining_job":
                by_month[month]["_retrained_by"] = sensor
        for month, kind in zip(sorted(by_month), args.scenario.split(",")):
            steps = by_month[month]
            rows.append((month, kind, *(steps.get(s) for s in INGEST_STEPS + RETRAINING_STEPS), steps.get("_retrained_by", "-")))

    def cell(value):
        return "-" if value is None else (f"{value:.2f}" if isinstance(value, float) else str(value))

    header = ("month", "kind", *(f"{s} s" for s in INGEST_STEPS + RETRAINING_STEPS), "retrained by")
    lines = [f"production_performance cost, {args.users} users, seed {args.seed} (step times from the event log)", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    publish(args.out, "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
