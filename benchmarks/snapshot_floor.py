"""What `monthly_snapshot` cannot skip, against the typed pyarrow read issue 12 holds it to.

Per month of the cycle's data, each timed alone on the same files (medians over `--reps`):
- the typed read of the six CSVs (`baseline.read_csvs`: the issue's yardstick);
- the bare script's whole ingest: that read, the join per user and the Parquet table per feature
  view (`baseline.read_month` + `write_views`: what any script that feeds a feature store does);
- the importer's read (`importer.read_month`: typed fast path, validation, one row per user);
- hashing the delivery (`importer.delivery_hashes`: the fingerprint of the re-delivery rule and
  the per-file digests of the stale-extract warning) and copying it aside (the archive that keeps a
  replaced delivery), both required by the first-day issue.

    python -m benchmarks.snapshot_floor --data DIR --out benchmarks/results/snapshot_floor_1m.md [--reps 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks import publish
from benchmarks.baseline import read_csvs, read_month, write_views
from mlops_assets import importer
from mlops_assets.domain.months import as_of_for
from mlops_assets.domain.schema import REQUIRED_FILES

MONTHS = ("2024-01", "2024-02", "2024-03", "2024-04")


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def measure(folder: Path, month: str, scratch: Path) -> dict[str, float]:
    def bare_ingest():
        write_views(scratch / "views", month, read_month(read_csvs(folder)), pd.Timestamp(as_of_for(month)))

    def copy_aside():
        target = scratch / "archive" / month
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in REQUIRED_FILES:
            shutil.copy2(folder / name, target / name)

    return {
        "typed_read": _timed(lambda: read_csvs(folder)),
        "bare_ingest": _timed(bare_ingest),
        "importer_read": _timed(lambda: importer.read_month(folder, month)),
        "delivery_hashes": _timed(lambda: importer.delivery_hashes(folder)),
        "copy_aside": _timed(copy_aside),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mlops_snapshot_floor_") as scratch:
        for month in MONTHS:
            runs = [measure(args.data / month, month, Path(scratch)) for _ in range(args.reps)]
            rows.append({"month": month} | {k: statistics.median(r[k] for r in runs) for k in runs[0]})
    table = pd.DataFrame(rows)
    total = table.drop(columns="month").sum()
    read = total["typed_read"]
    size_mb = sum((args.data / m / n).stat().st_size for m in MONTHS for n in REQUIRED_FILES) / 1e6
    floor = total["typed_read"] + total["delivery_hashes"] + total["copy_aside"]
    lines = [
        "# What monthly_snapshot cannot skip (issue 12)",
        "",
        f"`python -m benchmarks.snapshot_floor --data {args.data} --reps {args.reps}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, 2 cores; medians per month, {size_mb:,.0f} MB of CSV over "
        f"{len(MONTHS)} months.",
        "",
        table.round(3).to_markdown(index=False),
        "",
        "Summed over the months, against the typed read (the issue's target for the asset: 1.2x):",
        "",
        "| work | s | x typed read |",
        "| --- | --- | --- |",
        *[f"| {name} | {total[name]:.2f} | {total[name] / read:.2f} |" for name in total.index],
        f"| typed read + hashing + copying aside (the least a delivery-keeping import does) | {floor:.2f} | {floor / read:.2f} |",
        "",
    ]
    publish(args.out, "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
