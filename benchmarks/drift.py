"""The drift report: the platform's per-feature ValueDrift report against the previous
DataDriftPreset report (benchmarks/drift_preset_reference.py), on the scenario months.

For each consecutive pair of months (reference, current) both reports are built from the
importer's snapshots; the harness asserts the same drift_share, the same drifted features and the
same per-feature scores, and times both (also against the baseline's scipy statistics, whose
per-feature scores it asserts equal to the report's within 1e-12). The platform's report is timed
twice: in this process alone (workers=1) and as the asset builds it (default_workers: two forked
processes from 200k rows on a machine with two cores or more); both must give the same report.

    python -m benchmarks.drift --data DIR --out benchmarks/results/drift_1m.md
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks.baseline import drift_statistics
from benchmarks.drift_preset_reference import build_drift_report as build_preset_report
from mlops_assets.domain.schema import FEATURES
from mlops_assets.drift_reports import build_drift_report, default_workers
from mlops_assets.importer import read_month
from mlops_assets.domain.drift import DEFAULT_DRIFT_THRESHOLD, retraining_action
from benchmarks import publish

MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--skip-preset", action="store_true", help="time only the platform's report")
    args = parser.parse_args(argv)
    snapshots = {m: read_month(args.data / m, m) for m in MONTHS}
    load_before = os.getloadavg()[0]
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="drift_bench_"))
    build_drift_report(snapshots[MONTHS[0]].head(5000), snapshots[MONTHS[1]].head(5000), tmp / "w.html", tmp / "w.json")  # imports
    for ref_m, cur_m in zip(MONTHS, MONTHS[1:]):
        ref, cur = snapshots[ref_m], snapshots[cur_m]
        workers = default_workers(max(len(ref), len(cur)))
        t = time.perf_counter()
        new = build_drift_report(ref, cur, tmp / f"new_{cur_m}.html", tmp / f"new_{cur_m}.json", workers=workers)
        new_s = time.perf_counter() - t
        t = time.perf_counter()
        alone = build_drift_report(ref, cur, tmp / f"alone_{cur_m}.html", tmp / f"alone_{cur_m}.json", workers=1)
        alone_s = time.perf_counter() - t
        assert alone == new, cur_m
        t = time.perf_counter()
        base = drift_statistics(ref, cur)
        base_s = time.perf_counter() - t
        old_s, same = float("nan"), "not run"
        if not args.skip_preset:
            t = time.perf_counter()
            old = build_preset_report(ref, cur, tmp / f"old_{cur_m}.html", tmp / f"old_{cur_m}.json")
            old_s = time.perf_counter() - t
            assert old.drift_share == new.drift_share and old.drifted_columns == new.drifted_columns, (cur_m, old, new)
            assert [c.score for c in old.columns] == [c.score for c in new.columns], cur_m
            same = "yes"
        assert abs(base["drift_share"] - new.drift_share) < 1e-12 and base["drifted_columns"] == new.drifted_columns, cur_m
        for c in new.columns:
            assert abs(base["columns"][c.column]["score"] - c.score) < 1e-12, (cur_m, c.column, base["columns"][c.column], c)
        action = retraining_action(new.drift_share, DEFAULT_DRIFT_THRESHOLD, True)
        rows.append(
            f"| {ref_m} -> {cur_m} | {len(cur):,} x {len(FEATURES)} | {new.drift_share:.3f} | {new.drifted_count} | {action} | "
            f"{same} | {old_s:.1f} | {alone_s:.1f} | {new_s:.1f} ({workers}) | {base_s:.1f} | {alone_s / base_s:.2f}x | {new_s / base_s:.2f}x |"
        )
        print(rows[-1], flush=True)
    text = "\n".join(
        [
            f"Drift reports on the scenario months of {args.data.name} (Evidently 0.7.23; HTML + JSON written by both reports).",
            f"{os.cpu_count()} cores; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after: other work on the "
            "machine takes cores from the report's processes and from the baseline alike.",
            "",
            "| months | rows x features | drift_share | drifted | action | same decisions & scores as the preset | "
            "DataDriftPreset s (before) | per-feature ValueDrift s, one process | the same, as the asset runs it (processes) | "
            "scipy baseline s | one process / scipy | asset / scipy |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    publish(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
