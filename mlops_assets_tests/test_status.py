"""`mlops-assets status` on real runs: every month shows exactly one state, read from the Dagster
instance and the landing area, and the command exits non-zero when the newest month failed to
import or its retraining was blocked.

One platform (real Dagster instance, Feast repo, MLflow registry, Evidently reports) is walked
month by month; after each step the command runs as a user runs it (`mlops_assets.cli.main`, with
the platform's home and instance in the environment) and its output and exit code are kept.
"""

from __future__ import annotations

import contextlib
import io
import shutil

import pytest
from dagster import DagsterRunStatus

from mlops_assets import cli
from mlops_assets.definitions import build_definitions
from mlops_assets.domain.schema import REQUIRED_FILES

from mlops_assets_tests.faults.platform import Platform, failure_text
from mlops_assets_tests.faults.test_bad_input import set_value
from mlops_assets_tests.faults.test_faults import closed_port

pytestmark = pytest.mark.slow
SCENARIO = ("baseline", "quiet", "quiet", "quiet", "quiet", "quiet")


def run_status(platform: Platform) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLOPS_HOME", str(platform.home))
        env.setenv("DAGSTER_HOME", str(platform.instance_dir))
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLOPS_LANDING_DIR", "MLOPS_FEAST_REPO"):
            env.delenv(name, raising=False)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["status"])
    return code, out.getvalue(), err.getvalue()


def states(output: str) -> dict[str, tuple[str, str]]:
    """month -> (state, the rest of the line) from the status table."""
    found = {}
    for line in output.splitlines():
        if line[:4].isdigit() and line[4] == "-" and line[10:12] == "  ":
            for state in ("retraining blocked", "retraining failed", "import failed", "no retraining", "retraining due",
                          "running", "waiting", "decided", "imported"):
                if line[12:].lstrip().startswith(state):
                    found[line[:7]] = (state, line)
    return found


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    platform = Platform(tmp_path_factory.mktemp("status"), scenario=SCENARIO, seed=11)
    stages = {}
    platform.process("2024-01")  # bootstrap: decided (promoted)
    platform.deliver("2024-02")
    assert platform.ingest("2024-02").success  # a quiet month: no retraining
    assert platform.latest("drift_report", "2024-02")["action"] == "NO_ACTION"
    stages["quiet"] = run_status(platform)

    # Labels of one class: the import is fine, the blocking sanity check stops retraining.
    platform.deliver("2024-03", set_value("labels.csv", "churn_label", "0", rows=slice(None)))
    assert platform.ingest("2024-03").success
    assert not platform.retrain("2024-03").success
    stages["blocked"] = run_status(platform)

    platform.deliver("2024-04", set_value("subscriptions.csv", "monthly_fee", "abc"))
    failed = platform.ingest("2024-04")
    assert not failed.success and "monthly_fee" in failure_text(failed)
    stages["import failed"] = run_status(platform)

    # Half a month in the landing area, and a folder named like no month.
    waiting = platform.landing / "2024-05"
    waiting.mkdir()
    for name in REQUIRED_FILES[:-1]:
        shutil.copy2(platform.source("2024-05") / name, waiting / name)
    shutil.copytree(platform.source("2024-05"), platform.landing / "month_000")
    stages["waiting"] = run_status(platform)

    # A run of the next month that has started and not finished (as the run launcher records it).
    platform.instance.create_run_for_job(
        platform.defs.resolve_job_def("ingest_month_job"), run_config={}, tags={"dagster/partition": "2024-06"},
        status=DagsterRunStatus.STARTED,
    )
    stages["running"] = run_status(platform)

    # 2024-04 delivered again, good this time: the failure is superseded.
    platform.deliver("2024-04")
    assert platform.ingest("2024-04").success
    stages["fixed"] = run_status(platform)

    # Its retraining with the registry down: a step failure that is no check.
    down = build_definitions(platform.home, environ={"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{closed_port()}"})
    assert not platform.run("retraining_job", "2024-04", defs=down).success
    stages["retraining failed"] = run_status(platform)
    return stages


def test_a_decided_month_and_a_quiet_month(walk):
    code, out, _ = walk["quiet"]
    found = states(out)
    assert list(found) == ["2024-01", "2024-02"]
    state, line = found["2024-01"]
    assert state == "decided" and "promoted" in line and "candidate v1 AUC 0." in line and "production v- AUC -" in line
    state, line = found["2024-02"]
    assert state == "no retraining" and "drift_share 0.000 < threshold 0.02" in line
    assert code == 0
    assert "@production -> v1" in out


def test_blocked_retraining_names_the_check_and_its_reason_and_fails_the_command(walk):
    code, out, err = walk["blocked"]
    state, line = states(out)["2024-03"]
    assert state == "retraining blocked"
    assert "training_data_sanity:" in line and "one class" in line
    assert code == 1 and "newest month 2024-03: retraining blocked" in err


def test_a_failed_import_shows_the_first_line_of_its_message_and_fails_the_command(walk):
    code, out, err = walk["import failed"]
    found = states(out)
    state, line = found["2024-04"]
    assert state == "import failed"
    assert "month 2024-04" in line and "subscriptions.csv" in line and "monthly_fee" in line and "'abc'" in line
    assert found["2024-03"][0] == "retraining blocked"  # older months keep their own state
    assert code == 1 and "newest month 2024-04: import failed" in err


def test_an_incomplete_folder_is_waiting_and_a_folder_named_like_no_month_is_listed(walk):
    code, out, _ = walk["waiting"]
    state, line = states(out)["2024-05"]
    assert state == "waiting" and "landing folder 2024-05 is missing labels.csv" in line
    assert "landing folder 'month_000'" in out and "mlops-assets deliver" in out and "YYYY-MM" in out
    assert code == 0  # waiting is not a failure


def test_a_started_run_is_running(walk):
    code, out, _ = walk["running"]
    state, line = states(out)["2024-06"]
    assert state == "running" and "ingest_month_job started" in line
    assert code == 0


def test_a_failure_superseded_by_a_good_import_is_gone(walk):
    _, out, _ = walk["fixed"]
    found = states(out)
    state, line = found["2024-04"]  # the good delivery drifted (seed 11): retraining is due, not yet run
    assert state == "retraining due" and "0.071" in line and "drift_sensor requests it" in line
    assert [state for state, _ in found.values()].count("import failed") == 0
    assert list(found) == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]


def test_a_failed_retraining_step_is_retraining_failed(walk):
    _, out, _ = walk["retraining failed"]
    state, line = states(out)["2024-04"]
    assert state == "retraining failed" and "is unreachable" in line
