"""Where the Evidently drift reports are written."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from dagster import ConfigurableResource

from mlops_assets.resources.environment import FromEnvironment


class ReportStore(FromEnvironment, ConfigurableResource):
    path: str

    def report_paths(self, reference_as_of: str, current_as_of: str) -> tuple[Path, Path]:
        """`drift_<ref>_vs_<cur>.html|json`. A report made again for the same months keeps the
        name; the earlier one moves to `history/` first, so no report is ever overwritten."""
        stem = f"drift_{reference_as_of}_vs_{current_as_of}"
        html, json = _fresh(Path(self.path), f"{stem}.html", f"{stem}.json")
        return html, json

    def figure_path(self, name: str, month: str) -> Path:
        """`figures/<name>_<month>.png`, beside the reports; an earlier one moves to `figures/history/`."""
        (path,) = _fresh(Path(self.path) / "figures", f"{name}_{month}.png")
        return path


def _fresh(folder: Path, *names: str) -> tuple[Path, ...]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = tuple(folder / name for name in names)
    existing = [p for p in paths if p.exists()]
    if existing:
        history = folder / "history"
        history.mkdir(exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        for path in existing:
            path.rename(history / f"{path.stem}.{stamp}{path.suffix}")
    return paths
