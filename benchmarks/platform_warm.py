"""The platform, warm and in-process: one Python process imports the code location and the
libraries its steps use once (STEP_LIBRARIES), then materializes every asset (or the `--assets`
given) of each month in order (the same job `dagster asset materialize --select '*'` runs), on a
real Dagster instance in a fresh home. Per-asset times come from the
instance's event log (STEP_START -> STEP_SUCCESS).

    python -m benchmarks.platform_warm --data DIR --home HOME --months 2024-01,2024-02 --out result.json
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402


# The libraries the steps import when they first need them (none at code-location load). A
# long-lived process has them imported before its first month, as the baseline script has its own
# before its timer starts: the warm side compares compute with compute (the cold side, a process
# per month, pays every import on both sides).
STEP_LIBRARIES = (
    "feast", "feast.infra.offline_stores.duckdb", "ibis", "duckdb", "mlflow", "mlflow.sklearn",
    "skops.io", "git", "alembic", "sqlalchemy", "evidently", "evidently.metrics", "evidently.core.report",
    "sklearn.compose", "sklearn.linear_model", "sklearn.pipeline", "sklearn.metrics", "scipy.stats",
    "matplotlib.figure", "matplotlib.backends.backend_agg",
)


def link_months(data: Path, landing: Path, months: list[str]) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    for month in months:
        target = landing / month
        if not target.exists():
            target.symlink_to((data / month).resolve(), target_is_directory=True)


def step_times(instance, run_id: str) -> dict[str, float]:
    """step key -> seconds from STEP_START to STEP_SUCCESS (or STEP_FAILURE)."""
    starts, times = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            times[event.step_key] = entry.timestamp - starts[event.step_key]
    return times


def _asset_job():
    """monthly_cycle_job (every asset), rebuilt from the environment (for `reconstructable`)."""
    from mlops_assets.definitions import build_definitions

    return build_definitions().resolve_job_def("monthly_cycle_job")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--months", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model-kind", default=None)
    parser.add_argument("--assets", default=None, help="comma-separated assets to materialize each month (default: every asset)")
    parser.add_argument(
        "--no-capture", action="store_true",
        help="run with dagster.execute_job (in-process executor, same process) instead of execute_in_process, "
        "which keeps every output of the run in memory; for the peak-memory figure",
    )
    args = parser.parse_args(argv)
    months = args.months.split(",")
    home = args.home.resolve()
    os.environ["MLOPS_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")

    from mlops_assets.definitions import build_definitions
    from mlops_assets.instance import get_instance

    home.mkdir(parents=True, exist_ok=True)
    instance = get_instance(home)
    defs = build_definitions(home)
    job = defs.resolve_implicit_global_asset_job_def()
    link_months(args.data, home / "landing", months)
    from dagster import AssetKey

    selection = [AssetKey(a) for a in args.assets.split(",")] if args.assets else None
    import importlib

    for library in STEP_LIBRARIES:
        importlib.import_module(library)
    imported = time.perf_counter() - T_START
    results = []
    for month in months:
        start = time.perf_counter()
        run_config = {"ops": {"candidate_model": {"config": {"model_kind": args.model_kind}}}} if args.model_kind else None
        if args.no_capture:
            from dagster import execute_job, reconstructable

            with execute_job(reconstructable(_asset_job), instance=instance, run_config=run_config,
                             tags={"dagster/partition": month}, raise_on_error=True, asset_selection=selection) as outcome:
                assert outcome.success
        else:
            outcome = job.execute_in_process(instance=instance, partition_key=month, raise_on_error=True, run_config=run_config,
                                             asset_selection=selection)
        wall = time.perf_counter() - start
        results.append({"month": month, "wall_s": wall, "steps": step_times(instance, outcome.run_id), "run_id": outcome.run_id})
        # execute_in_process keeps every output of the run in memory (its output capture) for as
        # long as the result lives: drop it, as a run launcher's process would end.
        del outcome
        print(json.dumps(results[-1]), flush=True)
    import resource

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    args.out.write_text(json.dumps({"import_s": imported, "months": results, "peak_rss_mib": peak_mib}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
