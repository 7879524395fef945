"""The embedded Dagster instance: a folder with a dagster.yaml (SQLite storage, queued runs with the
cycle's concurrency limit, sensors on the daemon)."""

from __future__ import annotations

import os
from pathlib import Path

DAGSTER_YAML = """\
# Written by mlops_assets for the embedded default; the services deployment has its own
# (deploy/dagster.yaml, Postgres storage).
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    # One run of the monthly cycle at a time: months queue in order, and two runs of the same
    # month never race on the production alias.
    tag_concurrency_limits:
      - key: "mlops_assets/cycle"
        limit: 1
telemetry:
  enabled: false
"""


def dagster_home(home: Path) -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or home / "dagster").resolve()


def ensure_dagster_home(home: Path) -> Path:
    """Create the instance folder and its dagster.yaml if missing; export DAGSTER_HOME."""
    folder = dagster_home(home)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(folder)
    return folder


def get_instance(home: Path):
    from dagster import DagsterInstance

    ensure_dagster_home(home)
    return DagsterInstance.get()
