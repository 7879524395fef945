"""The targets table of issue 4, computed from the harness's JSON and result files.

    python -m benchmarks.summary   (reads benchmarks/results/*.json|md, writes benchmarks/results/targets.md)

"Steady state" = months 2024-03 and 2024-04: by then the long-lived process has imported Feast,
MLflow and Evidently (which the platform imports lazily, inside the assets that use them, in the
first months), like a code server that has run once; the baseline's stage times never include
imports (it imports everything up front).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]
STEADY = ["2024-03", "2024-04"]


def load(name: str) -> dict:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else {}


def whole(raw: dict, months: list[str]) -> tuple[float, float, float, float]:
    """(baseline s, platform in-process s, baseline processes s, platform cold processes s): sums of medians."""
    reps = raw["reps"]
    med = statistics.median
    base = sum(med(r["baseline"][m]["compute_s"] for r in reps) for m in months)
    warm = sum(med(r["warm"]["months"][m]["month_s"] for r in reps) for m in months)
    base_p = sum(med(r["baseline"][m]["process_s"] for r in reps) for m in months)
    cold_p = sum(med(r["cold"]["months"][m]["process_s"] for r in reps) for m in months)
    return base, warm, base_p, cold_p


def main() -> int:
    runs = {}
    for name in ("cycle.json", "cycle_1m.json", "cycle_100k_random_forest.json"):
        for size, raw in load(name).items():
            runs[(name, int(size))] = raw
    lines = ["# Issue 4 targets (this machine; see the result files for every figure)", ""]
    lines += ["| size | model | months | baseline s | platform in-process s | ratio | baseline processes s | "
              "dagster asset materialize s | ratio | peak RSS platform (MiB) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for (name, size), raw in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        model = "random_forest (course)" if "random_forest" in name else "logistic_regression (default)"
        peak = max(raw["peaks"]["warm_rss_mib"], raw["peaks"]["cold_rss_mib"])
        for label, months in (("all 4", MONTHS), ("steady (03-04)", STEADY)):
            b, w, bp, cp = whole(raw, months)
            lines.append(f"| {size:,} | {model} | {label} | {b:.1f} | {w:.1f} | {w / b:.2f}x | {bp:.1f} | {cp:.1f} | {cp / bp:.2f}x | {peak:.0f} |")
    key100, key1m = ("cycle.json", 100000), ("cycle_1m.json", 1000000)
    if key100 in runs and key1m in runs:
        lines.append("")
        for label, months in (("all 4 months", MONTHS), ("steady months", STEADY)):
            _, w100, _, c100 = whole(runs[key100], months)
            _, w1m, _, c1m = whole(runs[key1m], months)
            lines.append(f"- 100k -> 1M users ({label}): platform in-process {w1m / w100:.1f}x, "
                         f"`dagster asset materialize` {c1m / c100:.1f}x (target: at most 11x).")
    for name in ("feast_1m.md", "drift_1m.md", "memory_1m.md", "cold_demo.md", "online_100k.md", "online_10k.md"):
        path = RESULTS / name
        if path.exists():
            lines += ["", f"## {name}", "", path.read_text().strip()]
    text = "\n".join(lines) + "\n"
    (RESULTS / "targets.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
