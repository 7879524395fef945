"""Reading the platform's records back from the Dagster instance: the latest materialization of
an asset for a month, and its metadata (the decision record, drift share, fingerprints); and why
a drift report was made again (a replaced month)."""

from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, DagsterInstance, DagsterRunStatus, EventLogRecord

# Tag of the runs that make a drift report again because a month it compares was replaced.
REMADE_AFTER_REPLACING_TAG = "mlops_assets/remade_after_replacing"
# A run that is waiting or running: what status shows as "running" and what sensors wait for.
UNFINISHED_RUN_STATUSES = (
    DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
)


def latest_materialization(instance: DagsterInstance, asset: str, month: str) -> EventLogRecord | None:
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[month]), limit=1, ascending=False
    ).records
    return records[0] if records else None


def latest_metadata(instance: DagsterInstance, asset: str, month: str) -> dict | None:
    record = latest_materialization(instance, asset, month)
    if record is None:
        return None
    return metadata_values(record)


def metadata_values(record: EventLogRecord) -> dict:
    return {key: value.value for key, value in record.asset_materialization.metadata.items()}


def materializations_in_run(instance: DagsterInstance, run_id: str, asset: str) -> list[EventLogRecord]:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    return [r for r in records if r.asset_materialization and r.asset_materialization.asset_key == AssetKey(asset)]


def replaced_month(record: EventLogRecord) -> str | None:
    """The month a `monthly_snapshot` materialization replaced (`replace_existing: true`), else None."""
    if record.asset_materialization.metadata.get("replaced_fingerprint") is None:
        return None
    return record.asset_materialization.partition if metadata_values(record)["replaced_fingerprint"] else None


def drift_report_remade_after(instance: DagsterInstance, record: EventLogRecord) -> str | None:
    """The replaced month behind a drift report, if it is a re-made one: its run was requested
    because that month was replaced, or replaced it itself. None for a report of new data."""
    run = instance.get_run_by_id(record.run_id)
    if run is not None and run.tags.get(REMADE_AFTER_REPLACING_TAG):
        return run.tags[REMADE_AFTER_REPLACING_TAG]
    for snapshot in materializations_in_run(instance, record.run_id, "monthly_snapshot"):
        month = replaced_month(snapshot)
        if month:
            return month
    return None
