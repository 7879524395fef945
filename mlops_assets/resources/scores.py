"""Where the monthly churn scores are written: one Parquet file per month, for anyone to read."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource

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
