"""Shared fixtures: a temporary home folder (MLflow SQLite store, Feast repo, reports, landing
area, stored asset values) and a temporary Dagster instance, all real."""

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mlops_home")
