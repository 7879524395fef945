"""Cold `dagster asset materialize` of one partition on the demo size (5,000 users), as a user runs
it (`make materialize`): a fresh process per month, every asset (`--select '*'`), after
`mlops-assets init`. Target: under 30 s.

    python -m benchmarks.cold_demo --out benchmarks/results/cold_demo.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
from pathlib import Path

from benchmarks.platform_warm import link_months
from benchmarks.run import DAGSTER, PY, ensure_data, run_wait4
from benchmarks import publish

MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--data-root", type=Path, default=Path(os.environ.get("BENCH_DATA", "/tmp/mlops_bench_data")))
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("BENCH_WORK", "/tmp/mlops_bench_work")) / "cold_demo")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    data = ensure_data(args.data_root, args.users)
    times: dict[str, list[float]] = {m: [] for m in MONTHS}
    rss = 0.0
    for rep in range(args.reps):
        home = args.work / f"rep{rep}"
        shutil.rmtree(home, ignore_errors=True)
        extra = {"MLOPS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
        home.mkdir(parents=True)
        run_wait4([PY, "-m", "mlops_assets.cli", "init"], extra, out_path=home / "init.log")
        link_months(data, home / "landing", MONTHS)
        for month in MONTHS:
            cmd = [DAGSTER, "asset", "materialize", "-m", "mlops_assets.definitions", "--select", "*", "--partition", month]
            wall, peak, _ = run_wait4(cmd, extra, out_path=home / f"{month}.log")
            times[month].append(wall)
            rss = max(rss, peak)
            print(month, round(wall, 1), flush=True)
    lines = [
        f"Cold `dagster asset materialize -m mlops_assets.definitions --select '*' --partition M` at {args.users:,} users "
        f"(one process per month, imports included; {args.reps} repetitions, medians; peak RSS {rss:.0f} MiB):",
        "",
        "| month | median s | runs |",
        "|---|---|---|",
        *[f"| {m} | {statistics.median(v):.1f} | {', '.join(f'{x:.1f}' for x in v)} |" for m, v in times.items()],
        "",
        f"Slowest month (median): **{max(statistics.median(v) for v in times.values()):.1f} s** (target: under 30 s).",
        "",
    ]
    publish(args.out, "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
