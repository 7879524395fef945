"""One partition per calendar month. The key is what users type (`--partition 2024-02`); the
month's `as_of` is its last day (`domain.months.as_of_for`)."""

from dagster import MonthlyPartitionsDefinition, TimeWindowPartitionMapping

from mlops_assets.settings import first_month

# fmt="%Y-%m": the default format gives `2024-02-01` and `--partition 2024-02` would fail.
# The first month comes from the environment (MLOPS_FIRST_MONTH) or the demo's record in the home
# folder (settings.first_month); the last is the newest complete month (Dagster's default end).
monthly_partitions = MonthlyPartitionsDefinition(start_date=first_month(), fmt="%Y-%m")

# This month and the one before it (the drift reference; the previous promotion decision).
previous_and_this_month = TimeWindowPartitionMapping(start_offset=-1, end_offset=0)
previous_month = TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
