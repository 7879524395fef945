"""Sensors: a new month folder starts the cycle; a drift report over threshold retrains."""


import json

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from mlops_assets.domain.drift import RETRAINING_TRIGGERED
from mlops_assets.domain.months import next_month_key
from mlops_assets.jobs import ingest_month_job, online_features_job, retraining_job, scoring_job
from mlops_assets.partitions import monthly_partitions
from mlops_assets.resources import LandingArea, RetrainingPolicy

DRIFT_REPORT = AssetKey("drift_report")
MONTHLY_SNAPSHOT = AssetKey("monthly_snapshot")
_BATCH = 100


@sensor(
    job=ingest_month_job,
    minimum_interval_seconds=15,
    default_status=DefaultSensorStatus.RUNNING,
    description="Notices a complete month folder in the landing area (new, or delivered again with "
    "different content) and requests its snapshot and drift report.",
)
def new_month_sensor(context: SensorEvaluationContext, landing: LandingArea):
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    known_partitions = set(monthly_partitions.get_partition_keys())
    ready = landing.ready_months()
    requests, requested = [], set()
    for month in sorted(ready):
        if month not in known_partitions:
            context.log.warning(f"landing folder for {month} is outside the partitions ({min(known_partitions)}..)")
            continue
        fingerprint = landing.fingerprint(month)
        if seen.get(month) == fingerprint:
            continue
        seen[month] = fingerprint
        requested.add(month)
        requests.append(
            RunRequest(
                run_key=f"landing:{month}:{fingerprint[:16]}",
                partition_key=month,
                tags={"mlops_assets/landing_fingerprint": fingerprint},
            )
        )
        # A late month is the missing reference of the month after it: if that month was
        # imported but its drift report could not be made, make it now (the same content
        # re-imports idempotently).
        following = next_month_key(month)
        if following in ready and following not in requested and _waiting_for_reference(context, following):
            requested.add(following)
            requests.append(
                RunRequest(
                    run_key=f"landing:{following}:{seen.get(following, '')[:16]}:reference:{month}",
                    partition_key=following,
                    tags={"mlops_assets/reference_arrived": month},
                )
            )
    if not requests:
        return SkipReason("no new or changed month folder in the landing area")
    # Months are requested oldest first; the cycle's concurrency limit runs them in that order.
    return SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))


def _waiting_for_reference(context: SensorEvaluationContext, month: str) -> bool:
    instance = context.instance
    return month in instance.get_materialized_partitions(MONTHLY_SNAPSHOT) and month not in instance.get_materialized_partitions(
        DRIFT_REPORT
    )


def _materializations_after_cursor(context: SensorEvaluationContext, asset_key: AssetKey):
    """The asset's materializations after the sensor's cursor (a storage id), oldest first."""
    after = int(context.cursor) if context.cursor else None
    return context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key, after_storage_id=after), limit=_BATCH, ascending=True
    ).records


def _metadata_value(materialization, key):
    entry = materialization.metadata.get(key)
    return None if entry is None else entry.value


@sensor(
    jobs=[retraining_job, scoring_job],
    minimum_interval_seconds=15,
    default_status=DefaultSensorStatus.RUNNING,
    description="Watches drift_report materializations; when drift_share >= threshold (or the month is "
    "the first, with no reference) it requests the retraining assets for that month, once per report; "
    "otherwise (NO_ACTION) it requests the month's churn scores, once per report.",
)
def drift_sensor(context: SensorEvaluationContext, policy: RetrainingPolicy):
    records = _materializations_after_cursor(context, DRIFT_REPORT)
    if not records:
        return SkipReason("no new drift report")
    requests = []
    for record in records:
        materialization = record.asset_materialization
        month = materialization.partition
        drift_share = _metadata_value(materialization, "drift_share")
        if drift_share is not None and drift_share != drift_share:  # NaN: no reference
            drift_share = None
        has_reference = bool(_metadata_value(materialization, "has_reference"))
        action = policy.action(drift_share, has_reference)
        html = _metadata_value(materialization, "report_html")
        json_path = _metadata_value(materialization, "report_json")
        share = "None" if drift_share is None else f"{drift_share:.4f}"
        context.log.info(f"[Evidently] report_html={html} report_json={json_path} drift_share={share} -> {action}")
        if action == RETRAINING_TRIGGERED:
            requests.append(
                RunRequest(
                    # One retraining per report: the report's run and month identify it.
                    run_key=f"retrain:{month}:{record.run_id}",
                    job_name=retraining_job.name,
                    partition_key=month,
                    tags={"mlops_assets/drift_report_run": record.run_id, "mlops_assets/drift_share": share},
                )
            )
        else:
            # No retraining, but new users and features: the month is still scored (by the
            # production its previous months left), once per report.
            requests.append(
                RunRequest(
                    run_key=f"score:{month}:{record.run_id}",
                    job_name=scoring_job.name,
                    partition_key=month,
                    tags={"mlops_assets/drift_report_run": record.run_id, "mlops_assets/drift_share": share},
                )
            )
    return SensorResult(run_requests=requests, cursor=str(records[-1].storage_id))


@sensor(
    job=online_features_job,
    minimum_interval_seconds=15,
    default_status=DefaultSensorStatus.RUNNING,
    description="Watches monthly_snapshot materializations; when the newest month is (re)imported it requests "
    "feast materialize of that month into the online store, once per import.",
)
def online_features_sensor(context: SensorEvaluationContext):
    records = _materializations_after_cursor(context, MONTHLY_SNAPSHOT)
    if not records:
        return SkipReason("no new monthly_snapshot")
    newest = max(context.instance.get_materialized_partitions(MONTHLY_SNAPSHOT))
    imports = [r for r in records if r.asset_materialization.partition == newest]
    cursor = str(records[-1].storage_id)
    if not imports:
        # Older months re-imported: the online store serves the newest month only.
        return SensorResult(skip_reason=f"only months older than {newest} were imported", cursor=cursor)
    latest = imports[-1]
    request = RunRequest(
        run_key=f"online:{newest}:{latest.run_id}", partition_key=newest, tags={"mlops_assets/snapshot_run": latest.run_id}
    )
    return SensorResult(run_requests=[request], cursor=cursor)
