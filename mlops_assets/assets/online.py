"""online_features: the newest month's features in Feast's online store, for the prediction service."""


import time

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, MetadataValue, Output, asset

from mlops_assets.domain.months import as_of_for
from mlops_assets.domain.schema import ENTITY_KEY
from mlops_assets.partitions import monthly_partitions
from mlops_assets.resources import FeastFeatureStore

ONLINE_FEATURES = AssetKey("online_features")
_CHECKED_USERS = 5


@asset(
    partitions_def=monthly_partitions,
    group_name="serving",
    kinds={"feast", "sqlite"},
    description="`feast materialize` of the month into the online store (SQLite embedded; Redis in the "
    "services deployment), read by the prediction service. Only the newest month is written: materializing "
    "an older month after a newer one would put old features back online, so it is recorded and skipped.",
)
def online_features(
    context: AssetExecutionContext, monthly_snapshot: pd.DataFrame, feature_store: FeastFeatureStore
) -> Output[dict]:
    month = context.partition_key
    as_of = pd.Timestamp(as_of_for(month))
    newer = sorted(m for m in context.instance.get_materialized_partitions(ONLINE_FEATURES) if m > month)
    if newer:
        note = f"the online store already holds {newer[-1]}, a newer month: {month} is not written over it"
        context.log.warning(f"month {month}: {note}")
        result = {"month": month, "written": False, "online_month": newer[-1], "note": note}
        return Output(result, metadata={"written": False, "online_month": newer[-1], "note": note})

    started = time.perf_counter()
    feature_store.materialize_month(as_of)
    seconds = time.perf_counter() - started
    # Read a few users back: the month is served only if the online store answers for it.
    sample = monthly_snapshot[ENTITY_KEY].head(_CHECKED_USERS).tolist()
    read_back = feature_store.online_features(sample)
    stamps = {str(row["feature_timestamp"].date()) for row in read_back if row is not None}
    if any(row is None for row in read_back) or stamps != {as_of.date().isoformat()}:
        raise RuntimeError(
            f"month {month}: after feast materialize the online store does not serve {as_of.date()} for "
            f"{sample}: feature dates {sorted(stamps)}, missing {[u for u, r in zip(sample, read_back) if r is None]}"
        )
    context.log.info(f"[ONLINE] month={month} users={len(monthly_snapshot)} materialized in {seconds:.1f}s")
    result = {"month": month, "written": True, "online_month": month, "users": len(monthly_snapshot)}
    return Output(
        result,
        metadata={
            "written": True,
            "online_month": month,
            "as_of": as_of.date().isoformat(),
            "users": len(monthly_snapshot),
            "materialize_seconds": round(seconds, 2),
            "online_store": MetadataValue.path(feature_store.online_store_path),
            "checked_users": MetadataValue.json(sample),
        },
    )
