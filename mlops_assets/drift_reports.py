"""Evidently 0.7 drift reports: previous month (reference) against this month (current).

Drift is measured on the 14 model features only; ids and the label are excluded from
`drift_share`. Target drift (the label) is reported on its own.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mlops_assets.domain.schema import FEATURES, LABEL, NUMERIC_FEATURES


@dataclass
class ColumnDrift:
    column: str
    method: str
    threshold: float
    score: float | None
    drifted: bool


@dataclass
class DriftSummary:
    drift_share: float
    drifted_count: int
    columns: list[ColumnDrift] = field(default_factory=list)
    target: ColumnDrift | None = None

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]


def _evidently_column(frame: pd.DataFrame, col: str) -> pd.Series:
    """One column as Evidently reads it."""
    if col in NUMERIC_FEATURES:
        return pd.to_numeric(frame[col]).astype("float64")
    if col == LABEL:
        return frame[col].astype("float64")
    # Booleans and categories are categories; a missing value stays missing (as text "missing"
    # would invent a category that the data does not have). A pandas Categorical rather than
    # Python objects: Evidently's counting, hashing and missing-value checks run on its integer
    # codes, 5-6x faster at 1M rows, with the same scores and report as object values with None
    # (mlops_assets_tests/test_drift_reports.py compares both, a category seen in one month only
    # included).
    return frame[col].astype("category")


def _evidently_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The features (and the label) as Evidently reads them, one frame (the DataDriftPreset
    reference in benchmarks/ uses it)."""
    columns = list(FEATURES) + ([LABEL] if LABEL in frame else [])
    return pd.DataFrame({c: _evidently_column(frame, c) for c in columns}, index=frame.index)


def _unsummarized_dataset_type():
    """An Evidently PandasDataset that skips the per-column summary statistics its constructor
    computes (min, max, mean, std, quantiles, value counts: a seventh of the report at 1M users),
    which ValueDrift never reads. Built on first use to keep Evidently's import out of module
    import. `stats()` raises, so a future Evidently whose drift did read them fails loudly instead
    of reading empty statistics (mlops_assets_tests/test_drift_reports.py pins this on 0.7.23)."""
    global _UNSUMMARIZED
    if _UNSUMMARIZED is None:
        from evidently.core.datasets import ColumnStats, GeneralColumnStats, PandasDataset, StatCountValue

        class UnsummarizedDataset(PandasDataset):
            def _collect_stats(self, column_type, data):  # Evidently 0.7.23 internal, called per column
                return ColumnStats(GeneralColumnStats(missing_values=StatCountValue(0, 0)), None, None)

            def stats(self):
                raise NotImplementedError("the drift report's datasets carry no summary statistics")

        _UNSUMMARIZED = UnsummarizedDataset
    return _UNSUMMARIZED


_UNSUMMARIZED = None


def _column_snapshot(reference: pd.DataFrame, current: pd.DataFrame, col: str):
    """One column's ValueDrift (with its drift test) in a Report of its own, on one-column Datasets.

    Why not one Report over the whole frame: Evidently 0.7.23's ValueDrift hands the Dataset's
    WHOLE frame to the legacy per-column drift (evidently/legacy/calculations/data_drift.py,
    `get_one_column_drift`), which copies and row-filters all of it for every numeric column
    (`current_data.copy()`, `dropna(subset=[column])`) to draw that one column's plot: at 1M users
    that was a third of the report. On a one-column Dataset the same code computes the same score,
    test and plot on only the data the metric reads.
    """
    from evidently import DataDefinition, Report
    from evidently.metrics import ValueDrift

    numeric = col in NUMERIC_FEATURES
    # An explicit definition: auto-typing took low-cardinality integer features for categorical.
    definition = DataDefinition(numerical_columns=[col] if numeric else [], categorical_columns=[] if numeric else [col])
    dataset = _unsummarized_dataset_type()
    return Report([ValueDrift(column=col)], include_tests=True).run(
        current_data=dataset(_evidently_column(current, col).to_frame(), definition),
        reference_data=dataset(_evidently_column(reference, col).to_frame(), definition),
    )


def merge_snapshots(models: list):
    """One Evidently Snapshot holding the metrics, widgets and tests of several snapshots (their
    `to_snapshot_model()`), in their order: the report a single Report with all their metrics would
    have produced (the same JSON and HTML, mlops_assets_tests/test_drift_reports.py checks it),
    built through Evidently's own serialization model (`Snapshot.load_model`). The tests summary
    widgets are made by the functions Evidently's Snapshot.run makes them with."""
    from evidently.core.report import Snapshot, metric_tests_stats, metric_tests_widget

    merged = models[0].copy(deep=False)
    merged.metric_results = {k: v for m in models for k, v in m.metric_results.items()}
    merged.top_level_metrics = [k for m in models for k in m.top_level_metrics]
    merged.widgets = [w for m in models for w in m.widgets]
    tests = [t for k in merged.top_level_metrics for t in merged.metric_results[k].tests]
    merged.tests_widgets = [metric_tests_stats(tests), metric_tests_widget(tests)] if tests else []
    return Snapshot.load_model(merged)


# Below this many rows a month's columns are computed in this process: a report then takes about a
# second or less, and forking workers saves nothing (10k rows: 0.9 s in one process, 1.0-1.3 s with
# two; 100k: 1.4-1.5 s either way, on a busy machine). At 1M, with a core free, two took 3.1-4.2 s
# where one took 4.8-5.3 s.
PARALLEL_MIN_ROWS = 200_000
_WORKER_FRAMES: tuple[pd.DataFrame, pd.DataFrame] | None = None


def _hold_frames(reference: pd.DataFrame, current: pd.DataFrame) -> None:
    global _WORKER_FRAMES
    _WORKER_FRAMES = (reference, current)


def _column_snapshot_model(col: str):
    reference, current = _WORKER_FRAMES
    return _column_snapshot(reference, current, col).to_snapshot_model()


def default_workers(rows: int) -> int:
    """Processes for a month's columns: `MLOPS_DRIFT_WORKERS` when set (1 keeps the report in the
    step's process), else the cores this process may use, at most two (the platform's machines
    have two and Dagster's other steps share them); one for small months or where processes cannot
    be forked."""
    configured = os.environ.get("MLOPS_DRIFT_WORKERS", "").strip()
    # A bad setting fails every month, not only the first large one.
    if configured and (not configured.isdigit() or int(configured) < 1):
        raise ValueError(f"MLOPS_DRIFT_WORKERS={configured!r}: expected a whole number of processes, 1 or more")
    if rows < PARALLEL_MIN_ROWS or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if configured:
        return int(configured)
    return max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def column_snapshot_models(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str], workers: int) -> list:
    """Each column's one-metric snapshot model, in `columns` order, computed by `workers` processes.

    The processes are forked: they read the frames this process holds (no copy, no pickling of a
    million rows) and send back only the small snapshot models (tens of kB a column). Each column
    is computed by the same code whichever process runs it, so the report does not depend on
    `workers` (mlops_assets_tests/test_drift_reports.py checks it). A worker that dies (out of
    memory) fails the report with BrokenProcessPool rather than hanging it.
    """
    if workers <= 1:
        return [_column_snapshot(reference, current, c).to_snapshot_model() for c in columns]
    # Evidently imported here, before the fork, or every worker would import it (2.5 s each).
    import evidently.metrics  # noqa: F401

    _unsummarized_dataset_type()
    # Frozen objects are left alone by the workers' garbage collector, which would otherwise touch
    # (and so copy, page by page) every object this process holds.
    gc.freeze()
    try:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("fork"),
            initializer=_hold_frames, initargs=(reference, current),
        ) as pool:
            return list(pool.map(_column_snapshot_model, columns))
    finally:
        gc.unfreeze()


def build_drift_report(
    reference: pd.DataFrame, current: pd.DataFrame, html_path: Path, json_path: Path, workers: int | None = None
) -> DriftSummary:
    """One Evidently `ValueDrift` per feature (and the label), each with its drift test.

    Not `DataDriftPreset`: the preset computes every column's drift three times (its
    DriftedColumnsCount, its per-column ValueDrift, and the legacy DataDriftTable it renders), which
    took 46-100 s at 1M rows. The per-column ValueDrift metrics are the same tests with the same
    methods and thresholds (Evidently's defaults), computed once; `drift_share` is the share of the
    14 features whose test failed, which is how DriftedColumnsCount defines it
    (benchmarks/drift.py checks both give the same decisions on the scenario months).
    """
    # A feature missing for every user in either month cannot be compared (Evidently refuses an
    # empty column) and has plainly drifted: it is counted as drifted and left out of the report.
    empty = [c for c in FEATURES if reference[c].isna().all() or current[c].isna().all()]
    compared = [c for c in FEATURES if c not in empty]
    has_label = LABEL in reference and LABEL in current and reference[LABEL].notna().any() and current[LABEL].notna().any()
    columns = compared + ([LABEL] if has_label else [])
    if workers is None:
        workers = default_workers(max(len(reference), len(current)))
    snapshot = merge_snapshots(column_snapshot_models(reference, current, columns, workers))
    html_path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(html_path))  # a Path silently wrote nothing
    snapshot.save_json(str(json_path))
    summary = summarize(snapshot.dict())
    if empty:
        summary.columns += [ColumnDrift(c, "all values missing", float("nan"), None, True) for c in empty]
        summary.drifted_count += len(empty)
        summary.drift_share = summary.drifted_count / len(FEATURES)
    return summary


def summarize(result: dict) -> DriftSummary:
    """Read drift_share, per-column drift and target drift out of an Evidently snapshot dict."""
    drift_share, drifted_count = None, 0
    scores: dict[str, tuple[str, float, float | None]] = {}
    for metric in result["metrics"]:
        config = metric.get("config", {})
        kind = config.get("type", "")
        if kind.endswith(":DriftedColumnsCount"):
            drift_share = float(metric["value"]["share"])
            drifted_count = int(metric["value"]["count"])
        elif kind.endswith(":ValueDrift"):
            value = metric.get("value")
            scores[config["column"]] = (config.get("method", ""), float(config.get("threshold", float("nan"))), None if value is None else float(value))
    # A ValueDrift value is a score (a distance or a p-value), not a flag: the per-column
    # verdict is its test's status.
    drifted: dict[str, bool] = {}
    for test in result.get("tests", []):
        params = test.get("metric_config", {}).get("params", {})
        if params.get("type", "").endswith(":ValueDrift"):
            drifted[params["column"]] = str(test.get("status", "")).upper().endswith("FAIL")
    if drift_share is None:
        # Per-column ValueDrift report (build_drift_report): the share of the features whose
        # drift test failed, as DriftedColumnsCount computes it.
        tested = [c for c in FEATURES if c in drifted]
        if not tested:
            raise ValueError("Evidently result holds neither DriftedColumnsCount nor per-feature ValueDrift tests")
        drifted_count = sum(drifted[c] for c in tested)
        drift_share = drifted_count / len(tested)

    def column(name: str) -> ColumnDrift:
        method, threshold, score = scores.get(name, ("", float("nan"), None))
        return ColumnDrift(name, method, threshold, score, drifted.get(name, False))

    return DriftSummary(
        drift_share=drift_share,
        drifted_count=drifted_count,
        columns=[column(c) for c in FEATURES if c in scores],
        target=column(LABEL) if LABEL in scores else None,
    )


def write_no_reference_report(json_path: Path, current_as_of: str) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({"as_of": current_as_of, "reference": None, "reason": "first month: no reference"}))
