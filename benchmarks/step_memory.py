"""Peak memory per step of one month's `dagster asset materialize` (the cycle's assets), from the
process's RSS sampled every 0.25 s against the steps' start and end in the run's event log.

    python -m benchmarks.step_memory --users 1000000 [--month 2024-01]   (data from BENCH_DATA)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.platform_warm import link_months
from benchmarks.run import CYCLE_ASSETS, DAGSTER, PY, env


def rss_mib(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return int(status.split("VmRSS:")[1].split()[0]) / 1024 if "VmRSS:" in status else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--month", default="2024-01")
    parser.add_argument("--data-root", type=Path, default=Path(os.environ.get("BENCH_DATA", "/var/tmp/mlops_bench_data")))
    args = parser.parse_args(argv)
    from dagster import DagsterInstance

    home = Path(tempfile.mkdtemp(prefix="mlops_step_memory_"))
    try:
        extra = env() | {"MLOPS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
        subprocess.run([PY, "-m", "mlops_assets.cli", "init"], env=extra, check=True, capture_output=True)
        link_months(args.data_root / f"users_{args.users}", home / "landing", [args.month])
        cmd = [DAGSTER, "asset", "materialize", "-m", "mlops_assets.definitions", "--select", ",".join(CYCLE_ASSETS), "--partition", args.month]
        proc = subprocess.Popen(cmd, env=extra, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples = []
        while proc.poll() is None:
            value = rss_mib(proc.pid)
            if value is not None:
                samples.append((time.time(), value))
            time.sleep(0.25)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode})")
        with DagsterInstance.from_config(str(home / "dagster")) as instance:
            (run,) = instance.get_runs()
            spans: dict[str, list[float]] = {}
            for entry in instance.all_logs(run.run_id):
                event = entry.dagster_event
                if event and event.step_key and event.event_type_value in ("STEP_START", "STEP_SUCCESS"):
                    spans.setdefault(event.step_key, []).append(entry.timestamp)
        print(f"| step ({args.users:,} users, {args.month}) | s | peak RSS during the step (MiB) |\n| --- | --- | --- |")
        for step, (start, end) in sorted(spans.items(), key=lambda kv: kv[1][0]):
            peak = max([m for t, m in samples if start <= t <= end], default=float("nan"))
            print(f"| {step} | {end - start:.1f} | {peak:,.0f} |")
        print(f"| whole process | | {max(m for _, m in samples):,.0f} |")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
