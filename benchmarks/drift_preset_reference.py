"""THE PREVIOUS REPORT, kept for the benchmark: the `DataDriftPreset` report the platform built
before issue 4 (46-100 s at 1M rows). benchmarks/drift.py compares its decisions and time with
`mlops_assets.drift_reports.build_drift_report`. Only the report differs: the frame preparation
and the reading of the result (`summarize`, which reads the preset's DriftedColumnsCount) are
the platform's own.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlops_assets.domain.schema import BOOLEAN_FEATURES, CATEGORICAL_FEATURES, FEATURES, LABEL, NUMERIC_FEATURES
from mlops_assets.drift_reports import DriftSummary, _evidently_frame, summarize


def build_drift_report(reference: pd.DataFrame, current: pd.DataFrame, html_path: Path, json_path: Path) -> DriftSummary:
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    has_label = LABEL in reference and LABEL in current and reference[LABEL].notna().any() and current[LABEL].notna().any()
    definition = DataDefinition(
        numerical_columns=list(NUMERIC_FEATURES),
        categorical_columns=list(CATEGORICAL_FEATURES) + list(BOOLEAN_FEATURES) + ([LABEL] if has_label else []),
    )
    metrics = [DataDriftPreset(columns=list(FEATURES))]
    if has_label:
        metrics.append(ValueDrift(column=LABEL))
    report = Report(metrics, include_tests=True)
    ref, cur = _evidently_frame(reference), _evidently_frame(current)
    if not has_label:
        ref, cur = ref.drop(columns=[LABEL], errors="ignore"), cur.drop(columns=[LABEL], errors="ignore")
    snapshot = report.run(
        current_data=Dataset.from_pandas(cur, data_definition=definition),
        reference_data=Dataset.from_pandas(ref, data_definition=definition),
    )
    html_path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(html_path))
    snapshot.save_json(str(json_path))
    return summarize(snapshot.dict())
