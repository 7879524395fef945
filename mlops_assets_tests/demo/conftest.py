"""One real `mlops-assets demo` for the demo's tests: a separate process on a temporary home, small
(two months of 1,000 users: a bootstrap and a concept-drift month, so both jobs run twice), driving
the real dagster-daemon. Shared by the tests of this folder (session scope: it takes about a minute)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from mlops_assets.demo import demo_months

BIN = Path(sys.executable).parent
N_MONTHS = 2


def demo_env(home: Path) -> dict[str, str]:
    """The environment of a person on a fresh shell: only the home is set, so the demo chooses its
    months and every later process reads them from the home."""
    env = dict(os.environ, MLOPS_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    for name in ("MLOPS_FIRST_MONTH", "MLOPS_SENSOR_INTERVAL_SECONDS", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI",
                 "MLOPS_LANDING_DIR", "MLOPS_FEAST_REPO", "MLOPS_REPORTS_DIR", "MLOPS_STORAGE_DIR", "MLOPS_ARCHIVE_DIR"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo") / "home"
    # The months the demo should choose (computed on both sides of the run, so a run that crosses
    # midnight at a month's end cannot fail by chance).
    expected = [demo_months(N_MONTHS, today=datetime.now(timezone.utc).date())]
    started = time.time()
    result = subprocess.run(
        [str(BIN / "mlops-assets"), "demo", "--reset", "--users", "1000", "--months", str(N_MONTHS),
         "--scenario", "baseline,concept_drift", "--seed", "11"],
        env=demo_env(home), capture_output=True, text=True, timeout=600,
    )
    seconds = time.time() - started
    expected.append(demo_months(N_MONTHS, today=datetime.now(timezone.utc).date()))
    assert result.returncode == 0, f"demo failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    recorded = (home / "first_month").read_text().strip()
    assert recorded in {m[0] for m in expected}, f"the demo recorded first month {recorded}, expected {expected}"
    months = next(m for m in expected if m[0] == recorded)
    return {"home": home, "months": months, "stdout": result.stdout, "seconds": seconds, "env": demo_env(home)}
