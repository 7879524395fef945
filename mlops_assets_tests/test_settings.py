"""Settings read from the environment: the partitions' first month (MLOPS_FIRST_MONTH, else the
demo's record in the home folder, else 2024-01) and the sensors' interval."""

import subprocess
import sys

import pytest

from mlops_assets.demo import demo_months
from mlops_assets.domain.months import DEFAULT_FIRST_MONTH, UnknownMonthError
from mlops_assets.settings import DEFAULT_SENSOR_INTERVAL_SECONDS, first_month, record_first_month, sensor_interval_seconds


def test_first_month_defaults_to_the_courses(tmp_path):
    assert first_month({"MLOPS_HOME": str(tmp_path)}) == DEFAULT_FIRST_MONTH == "2024-01"


def test_the_demos_record_in_the_home_sets_the_first_month(tmp_path):
    record_first_month(tmp_path, "2026-08")
    assert first_month({"MLOPS_HOME": str(tmp_path)}) == "2026-08"
    # The environment wins over the record.
    assert first_month({"MLOPS_HOME": str(tmp_path), "MLOPS_FIRST_MONTH": "2025-03"}) == "2025-03"


def test_a_bad_first_month_names_where_it_came_from(tmp_path):
    with pytest.raises(UnknownMonthError, match=r"MLOPS_FIRST_MONTH: '2024-1' is not a month key"):
        first_month({"MLOPS_HOME": str(tmp_path), "MLOPS_FIRST_MONTH": "2024-1"})
    record = record_first_month(tmp_path, "August")
    with pytest.raises(UnknownMonthError, match=rf"{record}: 'August' is not a month key"):
        first_month({"MLOPS_HOME": str(tmp_path)})


def test_the_partitions_start_at_the_first_month(tmp_path):
    # A fresh interpreter: the partitions are defined when the package is imported.
    code = "from mlops_assets.partitions import monthly_partitions as p; print(p.get_first_partition_key())"
    env = {"MLOPS_HOME": str(tmp_path), "MLOPS_FIRST_MONTH": "2025-03", "PATH": ""}
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2025-03"


def test_demo_months_end_at_the_last_complete_month():
    from datetime import date

    assert demo_months(4, today=date(2026, 12, 1)) == ["2026-08", "2026-09", "2026-10", "2026-11"]
    assert demo_months(2, first="2024-01", today=date(2026, 12, 1)) == ["2024-01", "2024-02"]


def test_sensor_interval_comes_from_the_environment():
    assert sensor_interval_seconds({}) == DEFAULT_SENSOR_INTERVAL_SECONDS == 15
    assert sensor_interval_seconds({"MLOPS_SENSOR_INTERVAL_SECONDS": "2"}) == 2
    for bad in ("0", "1.5", "soon"):
        with pytest.raises(ValueError, match="MLOPS_SENSOR_INTERVAL_SECONDS"):
            sensor_interval_seconds({"MLOPS_SENSOR_INTERVAL_SECONDS": bad})
