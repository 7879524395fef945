"""Where the Evidently drift reports are written."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from dagster import ConfigurableResource


class ReportStore(ConfigurableResource):
    path: str

    def report_paths(self, reference_as_of: str, current_as_of: str) -> tuple[Path, Path]:
        """`drift_<ref>_vs_<cur>.html|json`. A report made again for the same months keeps the
        name; the earlier one moves to `history/` first, so no report is ever overwritten."""
        folder = Path(self.path)
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"drift_{reference_as_of}_vs_{current_as_of}"
        paths = folder / f"{stem}.html", folder / f"{stem}.json"
        existing = [p for p in paths if p.exists()]
        if existing:
            history = folder / "history"
            history.mkdir(exist_ok=True)
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            for path in existing:
                path.rename(history / f"{path.stem}.{stamp}{path.suffix}")
        return paths
