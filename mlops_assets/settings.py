"""Where state lives. One home folder holds everything the embedded default needs: the Dagster
instance, the MLflow SQLite store and artifacts, the Feast repo, the Evidently reports, the landing
area and the assets' stored values. Deleting it resets everything.

Every location can be moved by an environment variable, which is how the production-like
deployment (docker-compose.yml) points the same code at Postgres and an MLflow server.
"""

from __future__ import annotations

import os
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[1]
DEFAULT_HOME = _CHECKOUT / ".mlops_home"


def home_dir() -> Path:
    return Path(os.environ.get("MLOPS_HOME", DEFAULT_HOME)).resolve()


def sqlite_uri(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"
