"""Jobs: what the sensors request, and the whole month in one run."""

from dagster import AssetSelection, define_asset_job, job

from mlops_assets.partitions import monthly_partitions
from mlops_assets.rollback import rollback_production

# Every run of the cycle carries this tag; the instance limits it to one run at a time
# (dagster.yaml: tag_concurrency_limits), so queued months run in order and two runs of the
# same month never race on the production alias.
CYCLE_TAG = {"mlops_assets/cycle": "monthly"}

INGEST_ASSETS = ["monthly_snapshot", "drift_report", "production_performance"]
# churn_scores ends the retraining run: the month is scored by what its decision left.
RETRAINING_ASSETS = ["training_dataset", "candidate_model", "production_metrics", "promotion_decision", "churn_scores"]

ingest_month_job = define_asset_job(
    "ingest_month_job",
    selection=AssetSelection.assets(*INGEST_ASSETS),
    partitions_def=monthly_partitions,
    tags=CYCLE_TAG,
    description="A new month: snapshot (and Feast offline tables), its drift report, and production scored on its labelled validation users.",
)
retraining_job = define_asset_job(
    "retraining_job",
    selection=AssetSelection.assets(*RETRAINING_ASSETS),
    partitions_def=monthly_partitions,
    tags=CYCLE_TAG,
    description="Retrain for a month: Feast training set, candidate, production scored on the same rows, decision, "
    "then the month's churn scores.",
)
monthly_cycle_job = define_asset_job(
    "monthly_cycle_job",
    selection=AssetSelection.assets(*INGEST_ASSETS, *RETRAINING_ASSETS, "online_features"),
    partitions_def=monthly_partitions,
    tags=CYCLE_TAG,
    description="The whole month in one run, whatever the drift: ingest, drift, retrain, decide, score, online store.",
)
# The drift report alone: made again when a month it compares was replaced (replaced_month_sensor).
drift_report_job = define_asset_job(
    "drift_report_job",
    selection=AssetSelection.assets("drift_report"),
    partitions_def=monthly_partitions,
    tags=CYCLE_TAG,
    description="The month's drift report again, against the snapshots as they are now (after a replaced month).",
)


@job(
    tags=CYCLE_TAG,
    description="Put production back on an earlier version that cleared delta (it must load and re-score its "
    "logged val_auc); recorded as the month's promotion_decision (decision rolled_back).",
)
def rollback_job():
    rollback_production()



# -- scoring and serving (issue 10) ----------------------------------------------------------------
scoring_job = define_asset_job(
    "scoring_job",
    selection=AssetSelection.assets("churn_scores"),
    partitions_def=monthly_partitions,
    # In the cycle's queue: a month is scored after the runs requested before it (its decision).
    tags=CYCLE_TAG,
    description="Score a month that does not retrain (drift_sensor, NO_ACTION): production as the month's "
    "decisions left it, on the month's users and features.",
)
online_features_job = define_asset_job(
    "online_features_job",
    selection=AssetSelection.assets("online_features"),
    partitions_def=monthly_partitions,
    # Its own run, not the ingest run (feast materialize costs about 16 s per 100k users), but in
    # the cycle's queue: materialize rewrites Feast's file registry in place, which a cycle run
    # reading it at the same moment could find half-written.
    tags=CYCLE_TAG,
    description="feast materialize of the newest month into the online store (online_features_sensor).",
)
ALL_JOBS = [ingest_month_job, retraining_job, monthly_cycle_job, drift_report_job, rollback_job, scoring_job, online_features_job]
