"""Asset checks: the training data is sane, and production only ever points at a vetted model.

The check logic lives here as plain functions returning `AssetCheckResult`s; the assets declare
the checks (`check_specs`, blocking) and yield these results, so a failure blocks everything
downstream in the same run.
"""

from __future__ import annotations

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from mlops_assets.domain.schema import COLUMN_KINDS, ENTITY_KEY, FEATURES, LABEL, SPLIT
from mlops_assets.domain.split import TRAIN, VALIDATION
from mlops_assets.partitions import monthly_partitions

MIN_TRAINING_ROWS = 20

TRAINING_DATA_SANITY = "training_data_sanity"
PRODUCTION_CLEARED_DELTA = "production_cleared_delta"
PRODUCTION_MATCHES_DECISION = "production_matches_decision"

training_check_specs = [
    AssetCheckSpec(
        TRAINING_DATA_SANITY,
        asset="training_dataset",
        blocking=True,
        partitions_def=monthly_partitions,  # each result belongs to its month
        description="Enough rows, both classes in train and validation, no duplicate users, every "
        "user found in Feast, features within their declared types.",
    )
]
promotion_check_specs = [
    AssetCheckSpec(
        PRODUCTION_CLEARED_DELTA,
        asset="promotion_decision",
        blocking=True,
        partitions_def=monthly_partitions,  # each result belongs to its month
        description="The production alias points at a version whose decision cleared delta; a candidate "
        "that did not clear delta never became production.",
    ),
    AssetCheckSpec(
        PRODUCTION_MATCHES_DECISION,
        asset="promotion_decision",
        blocking=True,
        partitions_def=monthly_partitions,  # each result belongs to its month
        description="The registry's production alias agrees with this month's decision record.",
    ),
]


def training_data_problems(dataset: pd.DataFrame) -> list[str]:
    problems = []
    if len(dataset) < MIN_TRAINING_ROWS:
        problems.append(f"only {len(dataset)} labelled rows (at least {MIN_TRAINING_ROWS} needed)")
    duplicated = dataset[ENTITY_KEY].duplicated()
    if duplicated.any():
        problems.append(f"{int(duplicated.sum())} duplicate user_id rows (e.g. {dataset.loc[duplicated, ENTITY_KEY].iloc[0]})")
    labels = dataset[LABEL]
    if labels.isna().any() or not labels.dropna().isin([0, 1]).all():
        problems.append("labels must be 0 or 1 with none missing")
    for part in (TRAIN, VALIDATION):
        classes = sorted(labels[dataset[SPLIT] == part].dropna().unique().tolist())
        if len(classes) < 2:
            problems.append(f"{part} rows hold {'no labels' if not classes else f'one class only ({classes[0]})'}: AUC is undefined")
    all_missing = [c for c in FEATURES if len(dataset) and dataset[c].isna().all()]
    if all_missing:
        problems.append(f"feature(s) {', '.join(all_missing)} missing for every user: an upstream extract is broken")
    no_features = dataset[list(FEATURES)].isna().all(axis=1)
    if no_features.any():
        problems.append(f"{int(no_features.sum())} users got no features from Feast (e.g. {dataset.loc[no_features, ENTITY_KEY].iloc[0]})")
    for col in FEATURES:
        kind = COLUMN_KINDS[col]
        values = dataset[col].dropna()
        if kind in ("int", "float"):
            numeric = pd.to_numeric(values, errors="coerce")
            if numeric.isna().any():
                problems.append(f"{col} holds non-numeric values")
            elif (numeric < 0).any():
                problems.append(f"{col} holds negative values")
            elif kind == "int" and not (numeric == numeric.round()).all():
                problems.append(f"{col} holds non-integer values")
        elif kind == "bool" and not values.map(lambda v: isinstance(v, (bool,)) or str(v) in ("True", "False")).all():
            problems.append(f"{col} holds values other than True/False/missing")
    return problems


def training_data_sanity(dataset: pd.DataFrame) -> AssetCheckResult:
    problems = training_data_problems(dataset)
    return AssetCheckResult(
        check_name=TRAINING_DATA_SANITY,
        asset_key="training_dataset",
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        description="; ".join(problems) if problems else "training data is sane",
        metadata={
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
