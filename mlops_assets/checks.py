"""Asset checks: the training data is sane, and production only ever points at a vetted model.

The check logic lives here as plain functions returning `AssetCheckResult`s; the assets declare
the checks (`check_specs`) and yield these results. The blocking ones stop everything downstream in
the same run; `snapshot_quality` only warns. Every check is partitioned like its asset, so each
result belongs to its month in the UI.
"""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from mlops_assets.domain.model import rows_without_features
from mlops_assets.domain.quality import KINDS, QualityFinding
from mlops_assets.domain.schema import COLUMN_KINDS, ENTITY_KEY, FEATURES, FILE_OF, LABEL, SPLIT
from mlops_assets.domain.split import TRAIN, VALIDATION
from mlops_assets.partitions import monthly_partitions

MIN_TRAINING_ROWS = 20

TRAINING_DATA_SANITY = "training_data_sanity"
PRODUCTION_CLEARED_DELTA = "production_cleared_delta"
PRODUCTION_MATCHES_DECISION = "production_matches_decision"
SNAPSHOT_QUALITY = "snapshot_quality"


def _monthly_check(name: str, asset: str, *, blocking: bool, description: str) -> AssetCheckSpec:
    """A check partitioned like its asset: its result is recorded for the run's month (without
    `partitions_def` Dagster plans it for the month but records it with no partition)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dagster 1.13 marks partitioned check specs as preview
        return AssetCheckSpec(name, asset=asset, blocking=blocking, description=description, partitions_def=monthly_partitions)


snapshot_check_specs = [
    _monthly_check(
        SNAPSHOT_QUALITY,
        "monthly_snapshot",
        blocking=False,
        description="Valid but suspicious data, as warnings: a column with one value or no value for every "
        "user, a file byte-identical to the previous month's, categories never seen before, extra columns ignored.",
    )
]
training_check_specs = [
    _monthly_check(
        TRAINING_DATA_SANITY,
        "training_dataset",
        blocking=True,
        description="Enough rows, both classes in train and validation, no duplicate users, every "
        "user found in Feast, features within their declared types.",
    )
]
promotion_check_specs = [
    _monthly_check(
        PRODUCTION_CLEARED_DELTA,
        "promotion_decision",
        blocking=True,
        description="The production alias points at a version whose decision cleared delta; a candidate "
        "that did not clear delta never became production.",
    ),
    _monthly_check(
        PRODUCTION_MATCHES_DECISION,
        "promotion_decision",
        blocking=True,
        description="The registry's production alias agrees with this month's decision record.",
    ),
]


def snapshot_quality(findings: list[QualityFinding]) -> AssetCheckResult:
    """Never blocks: the month is valid. Fails with WARN severity when anything looks suspicious,
    one line per finding."""
    counts = Counter(f.kind for f in findings)
    return AssetCheckResult(
        check_name=SNAPSHOT_QUALITY,
        asset_key="monthly_snapshot",
        passed=not findings,
        severity=AssetCheckSeverity.WARN,
        description="\n".join(f.message for f in findings) if findings else "nothing suspicious",
        metadata={
            "warnings": len(findings),
            **{kind: counts[kind] for kind in KINDS},
            "findings": MetadataValue.json([f.as_dict() for f in findings]),
        },
    )


def _in_files(columns: list[str]) -> str:
    """`usage_agg_30d.csv feature(s) watch_hours_30d, skips_7d`, one clause per file."""
    by_file: dict[str, list[str]] = {}
    for column in columns:
        by_file.setdefault(FILE_OF.get(column, "snapshot"), []).append(column)
    return "; ".join(f"{file} feature(s) {', '.join(cols)}" for file, cols in by_file.items())


def training_data_problems(dataset: pd.DataFrame) -> list[str]:
    """What is wrong with a training set, each problem naming the landing file it comes from where
    one file is to blame (labels from labels.csv, a feature from its aggregate file)."""
    labels_file = FILE_OF[LABEL]
    problems = []
    if len(dataset) < MIN_TRAINING_ROWS:
        problems.append(f"{labels_file}: only {len(dataset)} labelled rows (at least {MIN_TRAINING_ROWS} needed)")
    duplicated = _duplicated_ids(dataset[ENTITY_KEY])
    if duplicated.any():
        problems.append(f"{int(duplicated.sum())} duplicate user_id rows (e.g. {dataset.loc[duplicated, ENTITY_KEY].iloc[0]})")
    labels = dataset[LABEL]
    if labels.isna().any() or not labels.dropna().isin([0, 1]).all():
        problems.append(f"{labels_file}: labels must be 0 or 1 with none missing")
    in_validation = dataset[SPLIT].to_numpy() == VALIDATION
    for part, rows in ((TRAIN, ~in_validation), (VALIDATION, in_validation)):
        classes = sorted(labels[rows].dropna().unique().tolist())
        if len(classes) < 2:
            problems.append(
                f"{labels_file}: {part} rows hold {'no labels' if not classes else f'one class only ({classes[0]})'}: AUC is undefined"
            )
    missing = {c: dataset[c].isna().to_numpy() for c in FEATURES}
    all_missing = [c for c in FEATURES if len(dataset) and missing[c].all()]
    if all_missing:
        problems.append(f"{_in_files(all_missing)} missing for every user: an upstream extract is broken")
    no_features = rows_without_features(dataset)
    if no_features.any():
        problems.append(f"{int(no_features.sum())} users got no features from Feast (e.g. {dataset.loc[no_features, ENTITY_KEY].iloc[0]})")
    for col in FEATURES:
        kind = COLUMN_KINDS[col]
        column = dataset[col]
        where = f"{FILE_OF[col]} column {col}"
        if kind in ("int", "float") and pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
            # A numeric column (what Feast answers) holds numbers by its dtype: the signs are looked
            # at on one float array, and fractions only where the dtype allows them.
            values = column.to_numpy(dtype="float64", na_value=np.nan)
            if (values < 0).any():
                problems.append(f"{where} holds negative values")
            elif kind == "int" and column.dtype.kind == "f":
                present = values[~missing[col]]
                if not np.array_equal(present, np.round(present)):
                    problems.append(f"{where} holds non-integer values")
            continue
        values = column.dropna()
        if kind in ("int", "float"):
            numeric = pd.to_numeric(values, errors="coerce")
            if numeric.isna().any():
                problems.append(f"{where} holds non-numeric values")
            elif (numeric < 0).any():
                problems.append(f"{where} holds negative values")
            elif kind == "int" and not (numeric == numeric.round()).all():
                problems.append(f"{where} holds non-integer values")
        elif kind == "bool" and not _all_booleans(values):
            problems.append(f"{where} holds values other than True/False/missing")
    return problems


def _duplicated_ids(ids: pd.Series) -> pd.Series:
    """`ids.duplicated()`: for ids sorted already (a training set is sorted by user), a comparison
    with the previous id instead of hashing a million strings."""
    if not ids.is_monotonic_increasing:
        return ids.duplicated()
    values = ids.to_numpy()
    repeated = np.zeros(len(values), dtype=bool)
    repeated[1:] = values[1:] == values[:-1]
    return pd.Series(repeated, index=ids.index)


def _all_booleans(values: pd.Series) -> bool:
    """Every (non-missing) value is True/False. A boolean column is by its dtype, at no cost per
    row; a column of Python objects (Feast's booleans with missing values) by pandas' type
    inference, a loop in C; only a column holding anything else is looked at value by value."""
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.infer_dtype(values, skipna=True) == "boolean":
        return True
    return bool(values.map(lambda v: isinstance(v, (bool,)) or str(v) in ("True", "False")).all())


def training_data_sanity(dataset: pd.DataFrame, month: str) -> AssetCheckResult:
    problems = training_data_problems(dataset)
    return AssetCheckResult(
        check_name=TRAINING_DATA_SANITY,
        asset_key="training_dataset",
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        description=f"month {month}: " + ("; ".join(problems) if problems else "training data is sane"),
        metadata={
            "month": month,
            "rows": len(dataset),
            "problems": MetadataValue.json(problems),
        },
    )


def production_invariants(decision: dict, production_after: dict | None) -> list[AssetCheckResult]:
    """Checked after the decision, against the registry as it is now."""
    after_version = production_after["version"] if production_after else None
    after_tags = production_after["tags"] if production_after else {}
    vetted = after_version is None or after_tags.get("promotion.cleared_delta") == "true"
    moved_to_unvetted = (not decision["cleared_delta"]) and after_version == decision["candidate_version"] and (
        decision["production_version_before"] != decision["candidate_version"]
    )
    cleared = AssetCheckResult(
        check_name=PRODUCTION_CLEARED_DELTA,
        asset_key="promotion_decision",
        passed=vetted and not moved_to_unvetted,
        description=(
            f"production is v{after_version}, which cleared delta"
            if vetted and not moved_to_unvetted
            else f"production is v{after_version}, which did not clear delta"
        ),
        metadata={"production_version": str(after_version), "cleared_delta_tag": str(after_tags.get("promotion.cleared_delta"))},
    )
    expected = decision["production_version_after"]
    matches = AssetCheckResult(
        check_name=PRODUCTION_MATCHES_DECISION,
        asset_key="promotion_decision",
        passed=str(after_version) == str(expected),
        description=f"registry production alias is v{after_version}; decision recorded v{expected}",
        metadata={"registry_production_version": str(after_version), "decision_production_version": str(expected)},
    )
    return [cleared, matches]
