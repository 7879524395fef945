"""monthly_snapshot: a landing month folder, typed and validated, written to the Feast offline store."""


import warnings

import pandas as pd
from dagster import AssetExecutionContext, Failure, MetadataValue, Output, asset
from dagster_pandera import pandera_schema_to_dagster_type

from mlops_assets.domain.months import as_of_for
from mlops_assets.domain.schema import LABEL
from mlops_assets.importer import SNAPSHOT_SCHEMA, SnapshotError
from mlops_assets.partitions import monthly_partitions
from mlops_assets.resources import FeastFeatureStore, LandingArea

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # dagster-pandera marks this function beta
    # The snapshot's pandera schema as a Dagster type: shown in the UI, checked on every output.
    SnapshotFrame = pandera_schema_to_dagster_type(SNAPSHOT_SCHEMA)


@asset(
    partitions_def=monthly_partitions,
    group_name="ingest",
    kinds={"pandas", "feast"},
    dagster_type=SnapshotFrame,
    description="One month of StreamFlow users from the landing area: six files joined per user, "
    "typed and validated (pandera), and written to the Feast offline store (one table per feature view).",
)
def monthly_snapshot(
    context: AssetExecutionContext, landing: LandingArea, feature_store: FeastFeatureStore
) -> Output[pd.DataFrame]:
    month = context.partition_key
    folder = landing.month_folder(month)
    try:
        snapshot = landing.read_month(month)
    except SnapshotError as exc:
        raise Failure(description=str(exc), metadata={"month": month, "landing_folder": str(folder)}) from exc

    as_of = pd.Timestamp(as_of_for(month))
    feast_rows = feature_store.write_month(month, snapshot, as_of)
    labelled = snapshot[LABEL].notna()
    churn_rate = float(snapshot.loc[labelled, LABEL].astype(float).mean()) if labelled.any() else float("nan")
    fingerprint = landing.fingerprint(month)
    context.log.info(
        f"[SNAPSHOT] month={month} as_of={as_of.date()} users={len(snapshot)} labelled={int(labelled.sum())} "
        f"churn_rate={churn_rate:.3f} fingerprint={fingerprint[:12]}"
    )
    return Output(
        snapshot,
        metadata={
            "as_of": as_of.date().isoformat(),
            "dagster/row_count": len(snapshot),
            "labelled_users": int(labelled.sum()),
            "churn_rate": churn_rate,
            "landing_folder": MetadataValue.path(str(folder)),
            "landing_fingerprint": fingerprint,
            "unknown_label_users": int(snapshot.attrs.get("unknown_label_users", 0)),
            "feast_rows": MetadataValue.json(feast_rows),
            "feast_repo": MetadataValue.path(feature_store.repo_path),
            "preview": MetadataValue.md(snapshot.head(5).to_markdown(index=False)),
        },
    )
