"""Where the Evidently drift reports are written."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource


class ReportStore(ConfigurableResource):
    path: str

    def report_paths(self, reference_as_of: str, current_as_of: str) -> tuple[Path, Path]:
        folder = Path(self.path)
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"drift_{reference_as_of}_vs_{current_as_of}"
        return folder / f"{stem}.html", folder / f"{stem}.json"
