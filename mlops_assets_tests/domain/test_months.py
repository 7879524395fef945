from datetime import date

import pytest

from mlops_assets.domain.months import (
    UnknownMonthError,
    as_of_for,
    month_key_for,
    last_complete_month,
    month_key_from_folder_name,
    month_keys,
    months_ending_at,
    next_month_key,
    previous_month_key,
)
from mlops_assets.partitions import monthly_partitions


@pytest.mark.parametrize(
    "key,as_of",
    [("2024-01", date(2024, 1, 31)), ("2024-02", date(2024, 2, 29)), ("2023-02", date(2023, 2, 28)), ("2024-12", date(2024, 12, 31))],
)
def test_partition_key_maps_to_month_end_and_back(key, as_of):
    assert as_of_for(key) == as_of
    assert month_key_for(as_of) == key


@pytest.mark.parametrize("bad", ["2024-13", "2024-00", "2024-2", "2024/02", "february", "2024-02-01x"])
def test_bad_month_keys_are_clear_errors(bad):
    with pytest.raises(UnknownMonthError, match="month"):
        as_of_for(bad)


def test_neighbours_cross_years():
    assert previous_month_key("2024-01") == "2023-12"
    assert next_month_key("2024-12") == "2025-01"
    assert month_keys("2024-11", 4) == ["2024-11", "2024-12", "2025-01", "2025-02"]


def test_folder_names():
    assert month_key_from_folder_name("2024-02") == "2024-02"
    assert month_key_from_folder_name("2024-02-29") == "2024-02"
    assert month_key_from_folder_name("2024-02-28") is None  # not the month's last day: ambiguous
    assert month_key_from_folder_name("2024-13") is None
    assert month_key_from_folder_name("tmp") is None


def test_dagster_partition_keys_are_what_users_type():
    keys = monthly_partitions.get_partition_keys()
    assert keys[:2] == ["2024-01", "2024-02"]
    for key in keys:
        assert month_key_for(as_of_for(key)) == key


@pytest.mark.parametrize(
    "today,last",
    [(date(2026, 12, 1), "2026-11"), (date(2026, 12, 31), "2026-11"), (date(2024, 1, 15), "2023-12"), (date(2024, 3, 1), "2024-02")],
)
def test_last_complete_month_is_the_month_before_today(today, last):
    assert last_complete_month(today) == last


def test_months_ending_at_counts_back_across_a_year():
    assert months_ending_at("2026-02", 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert months_ending_at("2026-02", 1) == ["2026-02"]
