"""Where state lives. One home folder holds everything the embedded default needs: the Dagster
instance, the MLflow SQLite store and artifacts, the Feast repo, the Evidently reports, the landing
area and the assets' stored values. Deleting it resets everything.

Every location can be moved by an environment variable, which is how the production-like
deployment (docker-compose.yml) points the same code at Postgres and an MLflow server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[1]
DEFAULT_HOME = _CHECKOUT / ".mlops_home"


def home_dir() -> Path:
    return Path(os.environ.get("MLOPS_HOME", DEFAULT_HOME)).resolve()


def sqlite_uri(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


# -- the monthly partitions' first month -----------------------------------------------------------
# `mlops-assets demo` writes the first month of the months it generated here, so that `make dev`,
# `make status` and `make materialize` on that home show exactly the demo's months.
FIRST_MONTH_FILE = "first_month"


def first_month(environ: Mapping[str, str] | None = None) -> str:
    """The first monthly partition: `MLOPS_FIRST_MONTH`, else the month the demo recorded in the
    home folder, else the course's 2024-01."""
    from mlops_assets.domain.months import DEFAULT_FIRST_MONTH, UnknownMonthError, parse_month_key

    env = os.environ if environ is None else environ
    explicit = (env.get("MLOPS_FIRST_MONTH") or "").strip()
    recorded = Path(env.get("MLOPS_HOME") or DEFAULT_HOME).resolve() / FIRST_MONTH_FILE
    if explicit:
        value, source = explicit, "MLOPS_FIRST_MONTH"
    elif recorded.is_file():
        value, source = recorded.read_text().strip(), str(recorded)
    else:
        return DEFAULT_FIRST_MONTH
    try:
        parse_month_key(value)
    except UnknownMonthError as error:
        raise UnknownMonthError(f"{source}: {error}") from None
    return value


def record_first_month(home: Path, month: str) -> Path:
    path = home / FIRST_MONTH_FILE
    path.write_text(month + "\n")
    return path


# -- sensors ---------------------------------------------------------------------------------------
DEFAULT_SENSOR_INTERVAL_SECONDS = 15


def sensor_interval_seconds(environ: Mapping[str, str] | None = None) -> int:
    """How often the daemon evaluates each sensor (`MLOPS_SENSOR_INTERVAL_SECONDS`, default 15);
    the demo uses 1 so that a month's next run is requested as soon as its report lands."""
    env = os.environ if environ is None else environ
    value = (env.get("MLOPS_SENSOR_INTERVAL_SECONDS") or "").strip()
    if not value:
        return DEFAULT_SENSOR_INTERVAL_SECONDS
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"MLOPS_SENSOR_INTERVAL_SECONDS={value!r}: expected a whole number of seconds, at least 1")
    return int(value)
