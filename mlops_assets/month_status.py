"""Where each month stands, read from the Dagster instance (runs, step failures, check evaluations,
materializations) and the landing area: exactly one state per month, for `mlops-assets status`.

States, first match wins:
- `running`: a run for the month is queued or started;
- `import failed` / `retraining blocked` / `retraining failed`: the newest failure of a step that
  no later materialization of its asset superseded (the first line of its message; for a blocking
  check, the check and its reason);
- `waiting`: the landing folder is incomplete (what is missing), or complete and not imported yet;
- `decided`: the month's latest decision (promoted/skipped, both AUCs);
- `no retraining`: the drift report found drift below the threshold (the share);
- `retraining due`: the drift report asks for retraining and no decision was made yet;
- `imported`: the snapshot exists, its drift report does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from mlops_assets.domain.drift import NO_ACTION
from mlops_assets.landing_files import LandingScan
from mlops_assets.records import UNFINISHED_RUN_STATUSES, latest_materialization, metadata_values

RUNNING = "running"
IMPORT_FAILED = "import failed"
RETRAINING_BLOCKED = "retraining blocked"
RETRAINING_FAILED = "retraining failed"
WAITING = "waiting"
DECIDED = "decided"
NO_RETRAINING = "no retraining"
RETRAINING_DUE = "retraining due"
IMPORTED = "imported"
FAILED_STATES = (IMPORT_FAILED, RETRAINING_BLOCKED, RETRAINING_FAILED)

INGEST_STEPS = ("monthly_snapshot", "drift_report")
PARTITION_TAG = "dagster/partition"


@dataclass(frozen=True)
class MonthStatus:
    month: str
    state: str
    detail: str
    drift: dict | None  # the latest drift_report metadata
    decision: dict | None  # the latest decision record


@dataclass(frozen=True)
class _Failure:
    state: str
    detail: str


def first_line(text: str | None) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def months_known(instance: DagsterInstance, scan: LandingScan) -> list[str]:
    """Every month with a run, a snapshot or a landing folder."""
    tagged = {value for _, values in instance.get_run_tags(tag_keys=[PARTITION_TAG]) for value in values}
    landed = set(scan.ready) | set(scan.incomplete)
    return sorted(tagged | landed)


def month_status(instance: DagsterInstance, month: str, scan: LandingScan) -> MonthStatus:
    drift_record = latest_materialization(instance, "drift_report", month)
    drift = metadata_values(drift_record) if drift_record else None
    decision_record = latest_materialization(instance, "promotion_decision", month)
    decision = metadata_values(decision_record)["record"] if decision_record else None

    def status(state: str, detail: str) -> MonthStatus:
        return MonthStatus(month, state, detail, drift, decision)

    runs = instance.get_runs(RunsFilter(tags={PARTITION_TAG: month}))
    active = [run for run in runs if run.status in UNFINISHED_RUN_STATUSES]
    if active:
        run = active[0]
        return status(RUNNING, f"{run.job_name} {run.status.value.lower()} (run {run.run_id[:8]})")
    failure = _current_failure(instance, month, runs)
    if failure:
        return status(failure.state, failure.detail)
    if month in scan.incomplete:
        folder = scan.incomplete[month]
        return status(WAITING, f"landing folder {folder.folder.name} is missing {', '.join(folder.missing)}")
    snapshot = latest_materialization(instance, "monthly_snapshot", month)
    if snapshot is None:
        if month in scan.ready:
            return status(WAITING, f"landing folder {scan.ready[month].name} is complete, not imported yet (new_month_sensor requests it)")
        return status(WAITING, "no snapshot yet")
    if decision:
        return status(
            DECIDED,
            f"{decision['decision']}: candidate v{decision['candidate_version']} {_auc(decision['candidate_auc'])} vs "
            f"production v{decision['production_version_before'] or '-'} {_auc(decision['production_auc'])} "
            f"(delta {decision['delta']})",
        )
    if drift is None:
        return status(IMPORTED, "snapshot imported, no drift report yet")
    share = drift.get("drift_share")
    if drift.get("action") == NO_ACTION:
        return status(NO_RETRAINING, f"drift_share {share:.3f} < threshold {drift.get('drift_threshold')}")
    return status(RETRAINING_DUE, "the drift report asks for retraining; drift_sensor requests it")


def _auc(value) -> str:
    return "AUC -" if value is None or value != value else f"AUC {value:.4f}"


def _current_failure(instance: DagsterInstance, month: str, runs) -> _Failure | None:
    """The newest step failure of the month not superseded by a later materialization of its asset."""
    # Times, not storage ids: SQLite event logs number each run's events on their own.
    latest: dict[str, float] = {}

    def superseded(asset: str, failed_at: float) -> bool:
        if asset not in latest:
            record = latest_materialization(instance, asset, month)
            latest[asset] = record.event_log_entry.timestamp if record else float("-inf")
        return latest[asset] > failed_at

    succeeded_jobs = set()
    for run in runs:  # newest first
        if run.status == DagsterRunStatus.SUCCESS:
            succeeded_jobs.add(run.job_name)
        if run.status != DagsterRunStatus.FAILURE:
            continue
        step_failures = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.STEP_FAILURE).records
        for record in reversed(step_failures):
            event = record.event_log_entry.dagster_event
            if not superseded(event.step_key, record.event_log_entry.timestamp):
                return _Failure(*_classify(instance, run.run_id, event.step_key, _failure_message(event)))
        if not step_failures and run.job_name not in succeeded_jobs:
            # The run failed outside any step (it could not start, or its process died).
            run_failures = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_FAILURE).records
            message = first_line(run_failures[-1].event_log_entry.dagster_event.message) if run_failures else "run failed"
            state = RETRAINING_FAILED if run.job_name == "retraining_job" else IMPORT_FAILED
            return _Failure(state, f"{run.job_name}: {message}")
    return None


def _failure_message(event) -> str:
    data = event.event_specific_data
    user = getattr(data, "user_failure_data", None)
    if user is not None and user.description:
        return first_line(user.description)
    error = getattr(data, "error", None)
    if error is not None and error.cls_name == "DagsterExecutionStepExecutionError" and error.cause is not None:
        error = error.cause  # Dagster's wrapper around the exception the step raised: show that one
    return first_line(error.message if error is not None else event.message)


def _classify(instance: DagsterInstance, run_id: str, asset: str, message: str) -> tuple[str, str]:
    checks = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    for record in checks:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.asset_key.to_user_string() != asset:
            continue
        # A failed ERROR check of the asset whose step failed: the check is what stopped the run.
        if not evaluation.passed and evaluation.severity.value == "ERROR":
            state = IMPORT_FAILED if asset in INGEST_STEPS else RETRAINING_BLOCKED
            return state, f"{evaluation.check_name}: {first_line(evaluation.description)}"
    return (IMPORT_FAILED if asset in INGEST_STEPS else RETRAINING_FAILED), message


def month_statuses(instance: DagsterInstance, scan: LandingScan) -> list[MonthStatus]:
    return [month_status(instance, month, scan) for month in months_known(instance, scan)]

