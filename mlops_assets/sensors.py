"""Sensors: a new month folder starts the cycle; a drift report over threshold, or production's AUC
dropping since its promotion, retrains (once per ingest of a month, whichever asked); a replaced
month makes the drift reports that used it again."""


import json
import time
from dataclasses import asdict, dataclass, field

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterEventType,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from mlops_assets.assets.performance import PRODUCTION_PERFORMANCE, verdict_from_metadata
from mlops_assets.domain.drift import NO_ACTION, RETRAINING_TRIGGERED
from mlops_assets.domain.performance import performance_line
from mlops_assets.domain.months import next_month_key
from mlops_assets.jobs import drift_report_job, ingest_month_job, online_features_job, retraining_job, scoring_job
from mlops_assets.landing_files import not_a_month_message
from mlops_assets.partitions import monthly_partitions
from mlops_assets.records import (
    REMADE_AFTER_REPLACING_TAG,
    UNFINISHED_RUN_STATUSES,
    drift_report_remade_after,
    materializations_in_run,
    replaced_month,
)
from mlops_assets.resources import LandingArea, RetrainingPolicy
from mlops_assets.settings import sensor_interval_seconds

DRIFT_REPORT = AssetKey("drift_report")
MONTHLY_SNAPSHOT = AssetKey("monthly_snapshot")
INCOMPLETE_TAG = "mlops_assets/incomplete_landing"
_BATCH = 100
# Both retraining sensors tag the run they request with the ingest run whose monitors asked for
# it; each looks for the other's request before making its own (see _retraining_requested_by).
INGEST_RUN_TAG = "mlops_assets/ingest_run"
SENSOR_NAME_TAG = "dagster/sensor_name"
PARTITION_TAG = "dagster/partition"


@dataclass
class LandingCursor:
    """What new_month_sensor remembers between ticks."""

    # month -> fingerprint of the content last requested
    fingerprints: dict[str, str] = field(default_factory=dict)
    # folders whose name is no month, already warned about
    not_months: list[str] = field(default_factory=list)
    # month -> {"signature", "since" (first tick that saw this signature), "requested"}
    incomplete: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None) -> "LandingCursor":
        data = json.loads(text) if text else {}
        if data and "fingerprints" not in data:  # the first cursor format: month -> fingerprint
            return cls(fingerprints=data)
        return cls(**data)

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@sensor(
    job=ingest_month_job,
    minimum_interval_seconds=sensor_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING,
    description="Notices a complete month folder in the landing area (new, or delivered again with "
    "different content) and requests its snapshot and drift report. Names folders that are no month, "
    "and incomplete months with their missing files; an incomplete month unchanged for the grace "
    "period is requested anyway, so it fails visibly.",
)
def new_month_sensor(context: SensorEvaluationContext, landing: LandingArea):
    cursor = LandingCursor.parse(context.cursor)
    before = cursor.dump()
    known_partitions = set(monthly_partitions.get_partition_keys())
    scan = landing.scan()

    for name in scan.not_months:
        if name not in cursor.not_months:
            context.log.warning(not_a_month_message(name, landing.path))
    cursor.not_months = list(scan.not_months)

    ready = scan.ready
    requests, requested = [], set()
    for month in sorted(ready):
        if month not in known_partitions:
            context.log.warning(f"landing folder for {month} is outside the partitions ({min(known_partitions)}..)")
            continue
        fingerprint = landing.fingerprint(month)
        if cursor.fingerprints.get(month) == fingerprint:
            continue
        cursor.fingerprints[month] = fingerprint
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
                    run_key=f"landing:{following}:{cursor.fingerprints.get(following, '')[:16]}:reference:{month}",
                    partition_key=following,
                    tags={"mlops_assets/reference_arrived": month},
                )
            )

    waiting = []
    incomplete_seen = {}
    now = time.time()
    grace = landing.incomplete_grace_seconds
    for month, folder in scan.incomplete.items():
        seen = cursor.incomplete.get(month)
        if seen is None or seen["signature"] != folder.signature:
            seen = {"signature": folder.signature, "since": now, "requested": False}
        incomplete_seen[month] = seen
        missing = ", ".join(folder.missing)
        unchanged = now - seen["since"]
        where = f"month {month}: landing folder {folder.folder} is missing file(s) {missing}"
        if month not in known_partitions:
            context.log.warning(f"{where}; and {month} is outside the partitions ({min(known_partitions)}..): it is never imported")
        elif seen["requested"]:
            context.log.warning(
                f"{where}; its import was requested after {grace:.0f} s unchanged and fails naming them. "
                f"Add the missing file(s), or deliver the whole month: mlops-assets deliver PATH --month {month} --replace"
            )
        elif unchanged >= grace:
            seen["requested"] = True
            context.log.warning(f"{where}; unchanged for {unchanged:.0f} s (grace {grace:.0f} s): requesting its import anyway, so it fails visibly")
            requests.append(
                RunRequest(
                    run_key=f"incomplete:{month}:{folder.signature[:16]}",
                    partition_key=month,
                    tags={INCOMPLETE_TAG: missing},
                )
            )
        else:
            context.log.warning(
                f"{where}; waiting (unchanged for {unchanged:.0f} s; after {grace:.0f} s unchanged its import is "
                "requested anyway and fails naming them)"
            )
        waiting.append(f"{month} (missing {missing})")
    cursor.incomplete = incomplete_seen

    if not requests:
        message = "no new or changed month folder in the landing area" + (
            f"; incomplete: {'; '.join(waiting)}" if waiting else ""
        )
        if cursor.dump() == before:
            return SkipReason(message)
        return SensorResult(skip_reason=message, cursor=cursor.dump())
    # Months are requested oldest first; the cycle's concurrency limit runs them in that order.
    return SensorResult(run_requests=requests, cursor=cursor.dump())


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
    minimum_interval_seconds=sensor_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING,
    description="Watches drift_report materializations; when drift_share >= threshold (or the month is "
    "the first, with no reference) it requests the retraining assets for that month, once per report; "
    "otherwise (NO_ACTION) it requests the month's churn scores, once per report. A report made again "
    "because a month was replaced never retrains: decisions stay as they were.",
)
def drift_sensor(context: SensorEvaluationContext, policy: RetrainingPolicy):
    records = _materializations_after_cursor(context, DRIFT_REPORT)
    if not records:
        return SkipReason("no new drift report")
    requests = []
    for record in records:
        materialization = record.asset_materialization
        month = materialization.partition
        action, drift_share = _drift_action(materialization, policy)
        html = _metadata_value(materialization, "report_html")
        json_path = _metadata_value(materialization, "report_json")
        share = "None" if drift_share is None else f"{drift_share:.4f}"
        line = f"[Evidently] report_html={html} report_json={json_path} drift_share={share}"
        replaced = drift_report_remade_after(context.instance, record)
        if replaced:
            # A replaced month is re-decided only when someone asks: its re-made reports (and the
            # next month's) refresh the drift share, never the decisions.
            context.log.info(
                f"{line} -> {NO_ACTION} (report made again because month {replaced} was replaced; the policy "
                f"alone says {action}; decisions stay as they were. To re-decide {month}: dagster asset "
                f"materialize -m mlops_assets.definitions --select 'training_dataset*' --partition {month})"
            )
            continue
        context.log.info(f"{line} -> {action}")
        if action == RETRAINING_TRIGGERED:
            # One retraining per report: the report's run and month identify it.
            tags = {"mlops_assets/drift_report_run": record.run_id, "mlops_assets/drift_share": share}
            requests += _retraining_request(context, "performance_sensor", month, record.run_id, tags)
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
    job=drift_report_job,
    minimum_interval_seconds=sensor_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING,
    description="Watches monthly_snapshot materializations; when one replaced its month "
    "(replace_existing), it requests the drift reports that compare that month again: its own (unless "
    "the replacing run made it) and the next month's (when that month is imported).",
)
def replaced_month_sensor(context: SensorEvaluationContext):
    instance = context.instance
    after = int(context.cursor) if context.cursor else None
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=MONTHLY_SNAPSHOT, after_storage_id=after), limit=_BATCH, ascending=True
    ).records
    requests, cursor = [], after
    for record in records:
        run = instance.get_run_by_id(record.run_id)
        if run is not None and not run.is_finished:
            break  # the replacing run may still make the month's own report: look again next tick
        cursor = record.storage_id
        month = replaced_month(record)
        if not month:
            continue
        remade_in_run = any(r.asset_materialization.partition == month for r in materializations_in_run(instance, record.run_id, "drift_report"))
        following = next_month_key(month)
        targets = ([] if remade_in_run else [month]) + (
            [following] if following in instance.get_materialized_partitions(MONTHLY_SNAPSHOT) else []
        )
        context.log.info(
            f"month {month} was replaced (run {record.run_id[:8]}): making the drift report again for "
            f"{', '.join(targets) or 'no other month'}"
            + (f" ({month}'s own report was made by the replacing run)" if remade_in_run else "")
        )
        for target in targets:
            requests.append(
                RunRequest(
                    run_key=f"remake-drift:{target}:{record.run_id}",
                    partition_key=target,
                    tags={REMADE_AFTER_REPLACING_TAG: month},
                )
            )
    if cursor == after:
        return SkipReason("no new monthly_snapshot materialization (or its run is still going)")
    return SensorResult(run_requests=requests, cursor=str(cursor))


def _drift_action(materialization, policy: RetrainingPolicy) -> tuple[str, float | None]:
    """What a drift report asks for under the sensor's policy, and its drift share."""
    drift_share = _metadata_value(materialization, "drift_share")
    if drift_share is not None and drift_share != drift_share:  # NaN: no reference
        drift_share = None
    has_reference = bool(_metadata_value(materialization, "has_reference"))
    return policy.action(drift_share, has_reference), drift_share


def _drift_asks_in_run(instance: DagsterInstance, run_id: str, policy: RetrainingPolicy) -> bool | None:
    """Whether the drift report of this ingest run asks for retraining; None while the run is still
    going and its drift report is not in yet (a run that ended without one: False)."""
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.asset_materialization
        if materialization is not None and materialization.asset_key == DRIFT_REPORT:
            return _drift_action(materialization, policy)[0] == RETRAINING_TRIGGERED
    run = instance.get_run_by_id(run_id)
    return False if run is None or run.is_finished else None


def _retraining_request(
    context: SensorEvaluationContext, other_sensor: str, month: str, ingest_run_id: str, tags: dict
) -> list[RunRequest]:
    """The month's retraining, keyed by the ingest run whose monitor asked for it (both sensors
    use the same key), unless `other_sensor` already requested it for that ingest run."""
    already = _retraining_requested_by(context.instance, other_sensor, ingest_run_id)
    if already:
        context.log.info(
            f"month {month}: the retraining for ingest run {ingest_run_id[:8]} was already requested by "
            f"{other_sensor} (run {already[:8]}); not requested again"
        )
        return []
    return [
        RunRequest(
            run_key=f"retrain:{month}:{ingest_run_id}",
            # drift_sensor requests two jobs: name this one.
            job_name=retraining_job.name,
            partition_key=month,
            tags=tags | {INGEST_RUN_TAG: ingest_run_id},
        )
    ]


def _retraining_requested_by(instance: DagsterInstance, sensor_name: str, ingest_run_id: str) -> str | None:
    """The retraining run `sensor_name` already requested for this ingest run, if any.

    Dagster dedupes run keys per sensor only, so drift and performance, both measured in the same
    ingest run, could otherwise each request a retraining of the month. performance_sensor leaves a
    month that drift asks for to drift_sensor; this is the safety net for what that cannot see (a
    drift policy changed between the two ticks, say). The daemon evaluates sensors one after
    another (no `use_threads` in the instance settings) and creates a tick's runs before it
    evaluates the next sensor, so a request made by one is found here by the other (queued,
    running or done). A sensor's own earlier request is not looked for: evaluated again, it
    repeats its run key and the daemon dedupes it."""
    runs = instance.get_run_records(
        RunsFilter(job_name=retraining_job.name, tags={INGEST_RUN_TAG: ingest_run_id, SENSOR_NAME_TAG: sensor_name}), limit=1
    )
    return runs[0].dagster_run.run_id if runs else None


@sensor(
    job=retraining_job,
    minimum_interval_seconds=sensor_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING,
    description="Watches production_performance materializations; when production's AUC on a month's labelled "
    "validation users dropped by more than the threshold since its promotion, it requests the retraining assets "
    "for that month, even without feature drift; once per ingest run, shared with drift_sensor.",
)
def performance_sensor(context: SensorEvaluationContext, policy: RetrainingPolicy):
    records = _materializations_after_cursor(context, AssetKey(PRODUCTION_PERFORMANCE))
    if not records:
        return SkipReason("no new production_performance")
    requests, cursor = [], context.cursor
    for record in records:
        materialization = record.asset_materialization
        month = materialization.partition
        metadata = {key: value.value for key, value in materialization.metadata.items()}
        verdict = verdict_from_metadata(month, metadata, policy)
        # When the drift report of the same ingest run asks too, the month's one retraining is
        # drift_sensor's to request: which sensor requests it never depends on the order the
        # daemon happens to evaluate them in (it shuffles them).
        drift_asks = _drift_asks_in_run(context.instance, record.run_id, policy) if verdict.triggered else False
        if drift_asks is None:
            context.log.info(f"month {month}: ingest run {record.run_id[:8]} has no drift report yet; deciding on the next tick")
            break
        context.log.info(performance_line(month, metadata.get("production_version"), verdict))
        cursor = str(record.storage_id)
        if not verdict.triggered:
            continue
        if drift_asks:
            context.log.info(f"month {month}: the drift report of ingest run {record.run_id[:8]} asks too; drift_sensor requests the one retraining")
            continue
        drop = "None" if verdict.drop is None else f"{verdict.drop:.4f}"
        tags = {"mlops_assets/performance_run": record.run_id, "mlops_assets/performance_drop": drop}
        requests += _retraining_request(context, "drift_sensor", month, record.run_id, tags)
    if cursor == context.cursor:
        return SkipReason("production_performance waits for its ingest run's drift report")
    return SensorResult(run_requests=requests, cursor=cursor)


@sensor(
    job=online_features_job,
    minimum_interval_seconds=sensor_interval_seconds(),
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
    newer = _newer_imports_in_progress(context.instance, newest)
    if newer:
        # That import makes another month the newest: materializing this one now would be
        # overwritten minutes later. The cursor stays, so this month is still served if it fails.
        months = ", ".join(f"{month} (run {run_id[:8]})" for month, run_id in newer)
        return SkipReason(f"{newest} imported, but the import of newer month(s) {months} is queued or running: "
                          "the online store waits for the newest month")
    latest = imports[-1]
    request = RunRequest(
        run_key=f"online:{newest}:{latest.run_id}", partition_key=newest, tags={"mlops_assets/snapshot_run": latest.run_id}
    )
    return SensorResult(run_requests=[request], cursor=cursor)


def _newer_imports_in_progress(instance: DagsterInstance, month: str) -> list[tuple[str, str]]:
    """(month, run id) of ingest runs for months after `month` that are queued or running."""
    runs = instance.get_runs(RunsFilter(job_name=ingest_month_job.name, statuses=list(UNFINISHED_RUN_STATUSES)))
    return sorted((run.tags[PARTITION_TAG], run.run_id) for run in runs if run.tags.get(PARTITION_TAG, "") > month)
