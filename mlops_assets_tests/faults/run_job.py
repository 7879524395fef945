"""Run one job for one month in a separate process, against a given home folder and Dagster
instance; optionally die (os._exit) when a registry method is called, to simulate a crash."""

import argparse
import os
from pathlib import Path

from dagster import DagsterInstance

from mlops_assets.definitions import build_definitions
from mlops_assets.resources.registry import MlflowModelRegistry


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("home")
    parser.add_argument("instance_dir")
    parser.add_argument("job")
    parser.add_argument("month")
    parser.add_argument("--delta", type=float, default=0.01)
    parser.add_argument("--crash-at", default=None, help="MlflowModelRegistry method that kills the process")
    args = parser.parse_args()
    if args.crash_at:
        setattr(MlflowModelRegistry, args.crash_at, lambda *a, **k: os._exit(137))
    defs = build_definitions(Path(args.home), environ={})
    result = defs.resolve_job_def(args.job).execute_in_process(
        instance=DagsterInstance.from_config(args.instance_dir),
        partition_key=args.month,
        run_config={"ops": {"promotion_decision": {"config": {"delta": args.delta}}}},
        raise_on_error=False,
    )
    return 0 if result.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
