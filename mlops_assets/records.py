"""Reading the platform's records back from the Dagster instance: the latest materialization of
an asset for a month, and its metadata (the decision record, drift share, fingerprints)."""

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, EventLogRecord


def latest_materialization(instance: DagsterInstance, asset: str, month: str) -> EventLogRecord | None:
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[month]), limit=1, ascending=False
    ).records
    return records[0] if records else None


def latest_metadata(instance: DagsterInstance, asset: str, month: str) -> dict | None:
    record = latest_materialization(instance, asset, month)
    if record is None:
        return None
    return {key: value.value for key, value in record.asset_materialization.metadata.items()}
