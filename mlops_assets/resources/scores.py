"""Where the monthly churn scores are written: one Parquet file per month, for anyone to read.
That file is also churn_scores' stored value (`ScoreFiles`, its IO manager): written once, not
pickled beside it (at 1M users that pickle took 0.74-0.77 s a month, a copy nobody read)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from dagster import ConfigurableIOManager, ConfigurableResource, InputContext, OutputContext

from mlops_assets.resources.environment import FromEnvironment


class ScoreStore(FromEnvironment, ConfigurableResource):
    path: str

    def file_for(self, as_of: str) -> Path:
        return Path(self.path) / f"churn_scores_{as_of}.parquet"

    def write(self, as_of: str, table: pd.DataFrame) -> Path:
        """Write a month's scores (temporary file, then rename: a reader never sees half a file).
        Scores that differ from the month's existing file move that file to `history/` first, so
        no month's scores are ever silently overwritten; the same scores again change nothing."""
        target = self.file_for(as_of)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        table.to_parquet(tmp, index=False)
        if target.exists() and target.read_bytes() != tmp.read_bytes():
            history = target.parent / "history"
            history.mkdir(exist_ok=True)
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            target.rename(history / f"{target.stem}.{stamp}{target.suffix}")
        os.replace(tmp, target)
        return target

    def read(self, as_of: str) -> pd.DataFrame | None:
        target = self.file_for(as_of)
        return pd.read_parquet(target) if target.exists() else None


class ScoreFiles(FromEnvironment, ConfigurableIOManager):
    """churn_scores' IO manager: a month's value is its Parquet file in the score store
    (MLOPS_SCORES_DIR), so `load_asset_value("churn_scores", partition_key=...)` reads that file."""

    path: str

    @staticmethod
    def _as_of(month: str) -> str:
        from mlops_assets.domain.months import as_of_for

        return as_of_for(month).isoformat()

    def handle_output(self, context: OutputContext, obj: pd.DataFrame) -> None:
        ScoreStore(path=self.path).write(self._as_of(context.asset_partition_key), obj)

    def load_input(self, context: InputContext) -> pd.DataFrame:
        month, store = context.asset_partition_key, ScoreStore(path=self.path)
        table = store.read(self._as_of(month))
        if table is None:
            raise FileNotFoundError(f"month {month}: no churn scores at {store.file_for(self._as_of(month))}")
        return table
