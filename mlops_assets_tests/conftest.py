"""Shared fixtures: a temporary home folder (MLflow SQLite store, Feast repo, reports, landing
area, stored asset values) and a temporary Dagster instance, all real.

Property tests draw at random locally (new cases get found) and reproducibly in CI
(`CI` set): a submission never fails on a lucky draw, and a failure there replays exactly.
"""

import os
from pathlib import Path

import pytest

# The tests' partitions are the course's (2024-01 onward), whatever the environment or a demo's
# record in the checkout's home folder says; set before mlops_assets is imported.
os.environ["MLOPS_FIRST_MONTH"] = "2024-01"

from hypothesis import HealthCheck, settings

# The small cycle on disk that the links and browser tests share (one cycle for both).
pytest_plugins = ["mlops_assets_tests.small_cycle"]

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mlops_home")


@pytest.fixture(scope="module")
def instance():
    """A temporary Dagster instance with the platform's own instance settings (queue, pools)."""
    from dagster import instance_for_test

    from mlops_assets.instance import INSTANCE_SETTINGS

    with instance_for_test(overrides=INSTANCE_SETTINGS) as instance:
        yield instance


@pytest.fixture(scope="module")
def defs(home):
    """The platform's definitions on the module's home folder, embedded defaults (no env vars)."""
    from mlops_assets.definitions import build_definitions

    return build_definitions(home, environ={})
