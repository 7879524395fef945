"""training_dataset: point-in-time correct features from Feast at the month's as_of, joined with
that month's labels, plus the split that is stable across months."""


import numpy as np
import pandas as pd
from dagster import AssetExecutionContext, Failure, MetadataValue, Output, asset

from mlops_assets.checks import TRAINING_DATA_SANITY, training_check_specs, training_data_sanity
from mlops_assets.domain.model import data_fingerprint
from mlops_assets.domain.months import as_of_for
from mlops_assets.domain.schema import ENTITY_KEY, EVENT_TIMESTAMP, FEATURES, LABEL, SPLIT
from mlops_assets.domain.split import VALIDATION, assign_split
from mlops_assets.partitions import monthly_partitions
from mlops_assets.resources import FeastFeatureStore

FINGERPRINT_ATTR = "data_fingerprint"


def dataset_fingerprint(dataset: pd.DataFrame) -> str:
    """The data_fingerprint of a frame training_dataset stored: the one it recorded with it, else
    hashed (a stored frame from before the attribute). Not for a slice: pandas copies attrs."""
    return dataset.attrs.get(FINGERPRINT_ATTR) or data_fingerprint(dataset)


def entity_rows(snapshot: pd.DataFrame, as_of: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The month's labelled users, asked for at the month's end. Labels belong to the month:
    they come from this month's snapshot, never from a shared table."""
    labelled = snapshot.loc[snapshot[LABEL].notna(), [ENTITY_KEY, LABEL]]
    entities = labelled[[ENTITY_KEY]].copy()
    entities[EVENT_TIMESTAMP] = as_of.tz_localize("UTC")
    return entities, labelled


def labelled_dataset(
    snapshot: pd.DataFrame, month: str, feature_store: FeastFeatureStore, only_split: str | None = None
) -> pd.DataFrame:
    """Feast features of the month's labelled users at as_of, their labels and their split, sorted
    by user. `only_split` asks Feast for one split's users alone (production_performance scores
    the validation users exactly as training reads them, without retrieving everyone)."""
    entities, labels = entity_rows(snapshot, pd.Timestamp(as_of_for(month)))
    if only_split is not None:
        chosen = assign_split(entities[ENTITY_KEY]) == only_split
        # The labels of the same users: Feast's rows then line up with them (no merge below).
        entities, labels = entities[chosen], labels[chosen]
        if entities.empty:  # no labels yet: nothing to ask Feast for
            return pd.DataFrame(columns=[ENTITY_KEY, EVENT_TIMESTAMP, *FEATURES, LABEL, SPLIT])
    features = feature_store.historical_features(entities)
    if not labels[ENTITY_KEY].is_monotonic_increasing:
        labels = labels.sort_values(ENTITY_KEY)
    if len(features) == len(labels) and features[ENTITY_KEY].is_unique and np.array_equal(
        features[ENTITY_KEY].to_numpy(), labels[ENTITY_KEY].to_numpy()
    ):
        # Feast answers one row per entity row, sorted by user: the labels line up row for row
        # (a merge hashed a million Python strings again for the same rows).
        dataset = features
        dataset[LABEL] = labels[LABEL].to_numpy()
    else:
        dataset = features.merge(labels, on=ENTITY_KEY, how="inner", validate="one_to_one")
    dataset[LABEL] = dataset[LABEL].astype("int64")
    dataset[SPLIT] = assign_split(dataset[ENTITY_KEY])
    # Each copy of a 10M-row frame is gigabytes: select, sort and re-index only when needed.
    columns = [ENTITY_KEY, EVENT_TIMESTAMP, *FEATURES, LABEL, SPLIT]
    if list(dataset.columns) != columns:
        dataset = dataset[columns]
    if not dataset[ENTITY_KEY].is_monotonic_increasing:
        dataset = dataset.sort_values(ENTITY_KEY)
    if not dataset.index.equals(pd.RangeIndex(len(dataset))):
        dataset = dataset.reset_index(drop=True)
    return dataset


@asset(
    partitions_def=monthly_partitions,
    group_name="training",
    kinds={"feast", "pandas"},
    check_specs=training_check_specs,
    description="Feast historical features of the month's labelled users at as_of, joined with the "
    "month's labels and a split column (a hash of user_id: the same users are in validation every month).",
)
def training_dataset(context: AssetExecutionContext, monthly_snapshot: pd.DataFrame, feature_store: FeastFeatureStore):
    month = context.partition_key
    as_of = pd.Timestamp(as_of_for(month))
    dataset = labelled_dataset(monthly_snapshot, month, feature_store)

    fingerprint = data_fingerprint(dataset)
    # Kept with the stored frame (pandas pickles attrs): candidate_model records it on the version
    # without hashing a million rows again.
    dataset.attrs[FINGERPRINT_ATTR] = fingerprint
    check = training_data_sanity(dataset, month)
    validation = dataset[SPLIT] == VALIDATION
    context.log.info(
        f"[DATASET] month={month} rows={len(dataset)} train={int((~validation).sum())} "
        f"validation={int(validation.sum())} churn_rate={dataset[LABEL].mean():.3f}"
    )
    yield Output(
        dataset,
        metadata={
            "as_of": as_of.date().isoformat(),
            "dagster/row_count": len(dataset),
            "train_rows": int((~validation).sum()),
            "validation_rows": int(validation.sum()),
            "churn_rate": float(dataset[LABEL].mean()) if len(dataset) else float("nan"),
            "data_fingerprint": fingerprint,
            "feature_refs": MetadataValue.json(feature_store.feature_refs()),
            "missing_feature_values": MetadataValue.json(
                {c: int(n) for c, n in dataset[list(FEATURES)].isna().sum().items() if n}
            ),
        },
    )
    yield check
    if not check.passed:
        # Dagster's own message for a failed blocking check is "1 blocking asset check failed"; the
        # run fails with the reason instead (month, file, problem), and nothing downstream runs.
        raise Failure(
            description=f"{check.description} (blocking check {TRAINING_DATA_SANITY}: retraining stopped before training)",
            metadata={"month": month, "check": TRAINING_DATA_SANITY, "problems": check.metadata["problems"]},
        )
