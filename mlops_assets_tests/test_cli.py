"""The README's command-line paths: `dagster asset materialize` of one month, `mlops-assets status`,
and `mlops-assets deliver` (new, same content, different content, replace, bad input)."""

import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_assets import cli
from mlops_assets.generator import write_months
from mlops_assets.cli import deliver

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_dagster_asset_materialize_one_month_then_status(tmp_path):
    home = tmp_path / "home"
    env = dict(os.environ, MLOPS_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLOPS_LANDING_DIR", "MLOPS_FEAST_REPO"):
        env.pop(name, None)
    (month,) = write_months(tmp_path / "incoming", n_users=300, scenario=("baseline",), seed=3)
    deliver(month, home / "landing")
    subprocess.run([str(BIN / "mlops-assets"), "init"], env=env, check=True, capture_output=True)
    result = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "mlops_assets.definitions", "--select", "*", "--partition", "2024-01"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "[DECISION] promoted" in result.stderr
    assert "[SUMMARY] as_of=2024-01-31 cand_v=1" in result.stderr
    status = subprocess.run([str(BIN / "mlops-assets"), "status"], env=env, capture_output=True, text=True, check=True)
    assert "2024-01-31" in status.stdout and "promoted" in status.stdout
    assert "@production -> v1" in status.stdout


@pytest.mark.slow
@pytest.mark.parametrize("month", ["2024-13", "2023-12"])
def test_dagster_cli_rejects_a_partition_that_does_not_exist(tmp_path, month):
    env = dict(os.environ, MLOPS_HOME=str(tmp_path), DAGSTER_HOME=str(tmp_path / "dagster"))
    subprocess.run([str(BIN / "mlops-assets"), "init"], env=env, check=True, capture_output=True)
    result = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "mlops_assets.definitions", "--select", "*", "--partition", month],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0
    assert f"partition key `{month}`" in result.stderr


# -- mlops-assets deliver ---------------------------------------------------------------------------
def run_cli(home: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLOPS_HOME", str(home))
        env.delenv("MLOPS_LANDING_DIR", raising=False)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_deliver_command_says_what_it_did_and_refuses_other_content(tmp_path):
    first, second = write_months(tmp_path / "incoming", n_users=50, scenario=("baseline", "quiet"), seed=3)
    course = tmp_path / "course" / "month_000"
    shutil.copytree(first, course)
    home, landing = tmp_path / "home", tmp_path / "home" / "landing"

    code, out, _ = run_cli(home, "deliver", str(course), "--month", "2024-01")
    assert code == 0
    assert f"delivered {course} as month 2024-01: {landing / '2024-01'}" in out
    assert "new_month_sensor requests its import at its next tick" in out

    code, out, _ = run_cli(home, "deliver", str(course), "--month", "2024-01")
    assert code == 0 and "month 2024-01 is already in the landing area with the same content" in out

    code, out, err = run_cli(home, "deliver", str(second), "--month", "2024-01")
    assert code == 1 and out == ""
    assert "already holds different content" in err and f"mlops-assets deliver {second} --month 2024-01 --replace" in err
    assert (landing / "2024-01" / "users.csv").read_bytes() == (course / "users.csv").read_bytes()

    code, out, _ = run_cli(home, "deliver", str(second), "--month", "2024-01", "--replace")
    assert code == 0 and "replaced content" in out and "replace_existing: true" in out
    assert (landing / "2024-01" / "users.csv").read_bytes() == (second / "users.csv").read_bytes()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--month", "2023-12"], "month '2023-12' is not a partition: expected YYYY-MM from 2024-01"),
        (["--month", "january"], "month 'january' is not a partition"),
    ],
)
def test_deliver_command_refuses_a_month_that_is_no_partition(tmp_path, argv, message):
    (month,) = write_months(tmp_path / "incoming", n_users=50, scenario=("baseline",), seed=3)
    code, out, err = run_cli(tmp_path / "home", "deliver", str(month), *argv)
    assert code == 2 and message in err and out == ""
    assert not (tmp_path / "home" / "landing").exists()


def test_deliver_command_refuses_an_incomplete_source(tmp_path):
    (month,) = write_months(tmp_path / "incoming", n_users=50, scenario=("baseline",), seed=3)
    (month / "labels.csv").unlink()
    code, _, err = run_cli(tmp_path / "home", "deliver", str(month), "--month", "2024-01")
    assert code == 2 and "is missing file(s) labels.csv: nothing delivered for month 2024-01" in err


@pytest.mark.slow
def test_deliver_is_on_the_command_line(tmp_path):
    (month,) = write_months(tmp_path / "incoming", n_users=50, scenario=("baseline",), seed=3)
    env = dict(os.environ, MLOPS_HOME=str(tmp_path / "home"))
    env.pop("MLOPS_LANDING_DIR", None)
    result = subprocess.run([str(BIN / "mlops-assets"), "deliver", str(month), "--month", "2024-01"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "delivered" in result.stdout
    assert (tmp_path / "home" / "landing" / "2024-01" / "labels.csv").is_file()
