"""The landing area: one folder per month, in the StreamFlow seed layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource

from mlops_assets.resources.environment import FromEnvironment

DEFAULT_INCOMPLETE_GRACE_SECONDS = 300.0



class LandingArea(FromEnvironment, ConfigurableResource):
    path: str
    # Every imported delivery is copied here (`<month>/<fingerprint>/`), so a later delivery
    # that overwrites the landing folder never loses the files a snapshot was built from.
    archive_path: str
    # A month folder missing some of the six files is imported anyway (and fails, naming the
    # missing files) once it has not changed for this long: it never waits silently.
    incomplete_grace_seconds: float = DEFAULT_INCOMPLETE_GRACE_SECONDS

    def scan(self):
        """Ready months, incomplete months and folders whose name is no month (`LandingScan`)."""
        from mlops_assets.landing_files import scan_landing

        return scan_landing(Path(self.path))

    def ready_months(self) -> dict[str, Path]:
        return self.scan().ready

    def month_folder(self, month_key: str) -> Path:
        """The folder for a month: `YYYY-MM`, or `YYYY-MM-DD` named by its last day."""
        from mlops_assets.domain.months import as_of_for

        root = Path(self.path)
        for name in (month_key, as_of_for(month_key).isoformat()):
            if (root / name).is_dir():
                return root / name
        return root / month_key

    def read_month(self, month_key: str) -> pd.DataFrame:
        from mlops_assets.importer import read_month

        return read_month(self.month_folder(month_key), month_key)

    def fingerprint(self, month_key: str) -> str:
        from mlops_assets.importer import fingerprint

        return fingerprint(self.month_folder(month_key))

    def delivery_hashes(self, month_key: str) -> tuple[str, dict[str, str]]:
        """(fingerprint, sha256 of each file) of the month's delivery, each file read once."""
        from mlops_assets.importer import delivery_hashes

        return delivery_hashes(self.month_folder(month_key))

    def archive(self, month_key: str, fingerprint: str) -> Path:
        """Copy the month's six files aside, once per distinct content."""
        from mlops_assets.domain.schema import REQUIRED_FILES
        from mlops_assets.landing_files import copy_aside_then_rename

        target = Path(self.archive_path) / month_key / fingerprint[:16]

        def copy_files(staging: Path) -> None:
            staging.mkdir(parents=True)
            for name in REQUIRED_FILES:
                shutil.copy2(self.month_folder(month_key) / name, staging / name)

        if not target.exists():
            copy_aside_then_rename(target, copy_files)
        return target
