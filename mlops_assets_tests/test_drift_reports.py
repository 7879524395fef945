"""The drift report (mlops_assets/drift_reports.py) is the report one Evidently Report of every
column's ValueDrift over the whole month makes, though it is built column by column on one-column
Datasets (without their summary statistics, categories as pandas Categoricals) and merged, in up
to two forked processes. These tests pin that on Evidently 0.7.23: a change in Evidently that
broke the equality fails them, not the numbers people read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from mlops_assets import generator
from mlops_assets.domain.schema import BOOLEAN_FEATURES, CATEGORICAL_FEATURES, FEATURES, LABEL, NUMERIC_FEATURES
from mlops_assets.drift_reports import _unsummarized_dataset_type, build_drift_report, summarize
from mlops_assets.importer import read_month

N_USERS = 3000
REFERENCE, CURRENT = "2024-03", "2024-04"  # the demo scenario's covariate-drift month against the month before


@pytest.fixture(scope="module")
def months(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    root = tmp_path_factory.mktemp("landing")
    frames = generator.generate_month_frames(n_users=N_USERS, seed=12)
    for month in (REFERENCE, CURRENT):
        generator.write_month(root / month, frames[month])
    return read_month(root / REFERENCE, REFERENCE), read_month(root / CURRENT, CURRENT)


def whole_frame_report(reference: pd.DataFrame, current: pd.DataFrame, html: Path, json_path: Path) -> None:
    """The report as it was built before issue 12: one Report, every column's ValueDrift, over the
    whole month with categories as Python objects (None for missing)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    def frame(month: pd.DataFrame) -> pd.DataFrame:
        out = month[[*FEATURES, LABEL]].copy()
        for col in NUMERIC_FEATURES:
            out[col] = pd.to_numeric(out[col]).astype("float64")
        for col in (*BOOLEAN_FEATURES, *CATEGORICAL_FEATURES):
            out[col] = out[col].astype("object").where(out[col].notna(), None)
        out[LABEL] = out[LABEL].astype("float64")
        return out

    definition = DataDefinition(
        numerical_columns=list(NUMERIC_FEATURES), categorical_columns=[*CATEGORICAL_FEATURES, *BOOLEAN_FEATURES, LABEL]
    )
    snapshot = Report([ValueDrift(column=c) for c in (*FEATURES, LABEL)], include_tests=True).run(
        current_data=Dataset.from_pandas(frame(current), data_definition=definition),
        reference_data=Dataset.from_pandas(frame(reference), data_definition=definition),
    )
    snapshot.save_html(str(html))
    snapshot.save_json(str(json_path))


def without_random_ids(html: str) -> str:
    """Evidently gives every widget a fresh uuid4 and the page a random variable name."""
    html = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", html)
    return re.sub(r"[0-9a-f]{32}", "<hex>", html)


def assert_same_report(reference: pd.DataFrame, current: pd.DataFrame, tmp_path: Path, workers: int) -> None:
    whole_frame_report(reference, current, tmp_path / "whole.html", tmp_path / "whole.json")
    summary = build_drift_report(reference, current, tmp_path / "ours.html", tmp_path / "ours.json", workers=workers)
    ours, whole = json.loads((tmp_path / "ours.json").read_text()), json.loads((tmp_path / "whole.json").read_text())
    assert ours == whole
    assert without_random_ids((tmp_path / "ours.html").read_text()) == without_random_ids((tmp_path / "whole.html").read_text())
    assert summary == summarize(whole)
    assert [c.column for c in summary.columns] == list(FEATURES) and summary.target.column == LABEL


def test_the_report_is_the_whole_frame_report(months, tmp_path):
    reference, current = months
    assert_same_report(reference, current, tmp_path, workers=1)
    summary = summarize(json.loads((tmp_path / "ours.json").read_text()))
    assert 0 < summary.drifted_count < len(FEATURES), "the covariate-drift month drifts some features, not all"


def test_categories_seen_in_one_month_only_and_missing_booleans_report_the_same(months, tmp_path):
    reference, current = (m.copy() for m in months)
    current.loc[current.index[:40], "contract_type"] = "Lifetime"  # new in the current month
    gone = reference["net_service"].iloc[0]
    reference.loc[reference["net_service"] == gone, "net_service"] = "Retired"  # only in the reference
    current["plan_stream_tv"] = current["plan_stream_tv"].fillna(True)  # missing in the reference only
    current.loc[current.index[::3], "plan_stream_movies"] = pd.NA
    assert reference["plan_stream_tv"].isna().any() and not current["plan_stream_tv"].isna().any()
    assert_same_report(reference, current, tmp_path, workers=1)


def test_two_forked_workers_make_the_same_report(months, tmp_path):
    reference, current = months
    assert_same_report(reference, current, tmp_path, workers=2)


def test_a_failing_column_in_a_worker_fails_the_report(months, tmp_path):
    reference, current = months
    broken = current.copy()
    broken["monthly_fee"] = "not a number"
    with pytest.raises(ValueError, match="not a number"):
        build_drift_report(reference, broken, tmp_path / "r.html", tmp_path / "r.json", workers=2)


def test_the_datasets_skip_their_summary_statistics_and_refuse_to_serve_them(months):
    """The override of Evidently 0.7.23's PandasDataset._collect_stats took effect (the statistics
    are empty), and a drift that read them would fail rather than read empty ones."""
    from evidently import DataDefinition

    reference, _ = months
    frame = reference[["monthly_fee"]].astype("float64")
    dataset = _unsummarized_dataset_type()(frame, DataDefinition(numerical_columns=["monthly_fee"], categorical_columns=[]))
    assert dataset._dataset_stats.column_stats["monthly_fee"].numerical_stats is None
    with pytest.raises(NotImplementedError, match="no summary statistics"):
        dataset.stats()
    pd.testing.assert_frame_equal(dataset.as_dataframe(), frame)


def test_workers_small_months_stay_in_process_and_the_setting_is_checked(monkeypatch):
    from mlops_assets.drift_reports import PARALLEL_MIN_ROWS, default_workers

    monkeypatch.setenv("MLOPS_DRIFT_WORKERS", "3")
    assert default_workers(PARALLEL_MIN_ROWS - 1) == 1
    assert default_workers(PARALLEL_MIN_ROWS) == 3
    monkeypatch.setenv("MLOPS_DRIFT_WORKERS", "two")
    with pytest.raises(ValueError, match="MLOPS_DRIFT_WORKERS='two'"):
        default_workers(PARALLEL_MIN_ROWS)
    with pytest.raises(ValueError, match="MLOPS_DRIFT_WORKERS='two'"):  # small months too, not only the first large one
        default_workers(10)
    monkeypatch.delenv("MLOPS_DRIFT_WORKERS")
    assert 1 <= default_workers(PARALLEL_MIN_ROWS) <= 2
