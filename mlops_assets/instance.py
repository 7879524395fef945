"""The embedded Dagster instance: a folder with a dagster.yaml (SQLite storage, queued runs with the
cycle's concurrency limit, the production-alias pool, run monitoring)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

# The instance settings the platform relies on; the services deployment's deploy/dagster.yaml
# repeats them next to its Postgres storage.
INSTANCE_SETTINGS: dict = {
    "run_coordinator": {"module": "dagster.core.run_coordinator", "class": "QueuedRunCoordinator"},
    "concurrency": {
        # One queued run of the monthly cycle at a time: months run in the order the sensors
        # requested them, and two runs of the same month never race.
        "runs": {"tag_concurrency_limits": [{"key": "mlops_assets/cycle", "limit": 1}]},
        # Every pool holds one step at a time across all runs, including runs started outside
        # the queue (`dagster asset materialize`): the `production_alias` pool serializes
        # promotion decisions, so at most one decision moves the alias at any moment.
        "pools": {"default_limit": 1, "granularity": "op"},
    },
    # A run whose process died is marked failed by the daemon's run monitoring, which then frees
    # the pool slots that run still held.
    "run_monitoring": {"enabled": True, "poll_interval_seconds": 30, "free_slots_after_run_end_seconds": 30},
    "telemetry": {"enabled": False},
}


# The embedded instance looks at its run queue every second instead of Dagster's 5 s, so the demo's
# runs (one cycle run at a time) follow each other without idle gaps. The services deployment keeps
# the default (deploy/dagster.yaml repeats INSTANCE_SETTINGS only).
EMBEDDED_SETTINGS: dict = INSTANCE_SETTINGS | {
    "run_coordinator": INSTANCE_SETTINGS["run_coordinator"] | {"config": {"dequeue_interval_seconds": 1}},
}


def dagster_home(home: Path) -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or home / "dagster").resolve()


def ensure_dagster_home(home: Path) -> Path:
    """Create the instance folder and its dagster.yaml if missing; export DAGSTER_HOME."""
    folder = dagster_home(home)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "dagster.yaml"
    if not config.exists():
        config.write_text(
            "# Written by mlops_assets for the embedded default (see mlops_assets/instance.py).\n"
            + yaml.safe_dump(EMBEDDED_SETTINGS, sort_keys=False)
        )
    os.environ["DAGSTER_HOME"] = str(folder)
    return folder


def get_instance(home: Path):
    from dagster import DagsterInstance

    ensure_dagster_home(home)
    return DagsterInstance.get()
