"""DuckDB's memory settings: bounded, and memory handed back once a query is done.

One list for Feast's DuckDB offline store (`resources/feature_store.py`, on ibis' default DuckDB
connection) and the benchmark baseline's own DuckDB connection, so both sides of the harness run
DuckDB the same way. No Dagster import: the baseline script imports this.
"""

from __future__ import annotations

# DuckDB's own default is 80% of RAM: one 10M-user retrieval then kept gigabytes that the month's
# other frames needed (MLOPS_DUCKDB_MEMORY_LIMIT moves it).
DEFAULT_MEMORY_LIMIT = "2GB"


def memory_settings(limit: str = DEFAULT_MEMORY_LIMIT) -> list[str]:
    """The SET statements. DuckDB's allocator kept a retrieval's memory after it was done (3M users:
    1.7 GB the next steps could not use); flushing early and in the background gives it back
    (benchmarks/results/step_memory_3m.md)."""
    return [
        f"SET memory_limit = '{limit}'",
        "SET allocator_flush_threshold = '32MB'",
        "SET allocator_bulk_deallocation_flush_threshold = '32MB'",
        "SET allocator_background_threads = true",
    ]
