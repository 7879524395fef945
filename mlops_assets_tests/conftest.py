"""Shared fixtures: a temporary home folder (MLflow SQLite store, Feast repo, reports, landing
area, stored asset values) and a temporary Dagster instance, all real."""

import shutil
from pathlib import Path

import pytest


def deliver(month_folder: Path, landing: Path) -> Path:
    """Drop a month folder into the landing area as a whole (copy aside, then rename)."""
    landing.mkdir(parents=True, exist_ok=True)
    staging = landing / f".{month_folder.name}.partial"
    shutil.copytree(month_folder, staging)
    target = landing / month_folder.name
    staging.rename(target)
    return target


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mlops_home")
