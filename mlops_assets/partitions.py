"""One partition per calendar month. The key is what users type (`--partition 2024-02`); the
month's `as_of` is its last day (`domain.months.as_of_for`)."""

from dagster import MonthlyPartitionsDefinition, TimeWindowPartitionMapping

from mlops_assets.domain.months import FIRST_MONTH

# fmt="%Y-%m": the default format gives `2024-02-01` and `--partition 2024-02` would fail.
monthly_partitions = MonthlyPartitionsDefinition(start_date=FIRST_MONTH, fmt="%Y-%m")

# This month and the one before it (the drift reference; the previous promotion decision).
previous_and_this_month = TimeWindowPartitionMapping(start_offset=-1, end_offset=0)
previous_month = TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
