"""production_performance: once a month's labels are in, the production model scored on that
month's labelled validation users, against the AUC it had when it was promoted.

It runs in the cheap ingest run, next to the drift report: features come from Feast for the
validation users alone (the same retrieval, split and model frame as training), so production is
scored exactly as a candidate of this month would be, at a fifth of the retrieval.
"""

import math

import pandas as pd
from dagster import AssetExecutionContext, DagsterInstance, MetadataValue, Output, asset

from mlops_assets.assets.models import rows_fingerprint
from mlops_assets.assets.training import labelled_dataset
from mlops_assets.domain.metrics import roc_auc
from mlops_assets.domain.model import score
from mlops_assets.domain.performance import performance_line, retraining_trigger
from mlops_assets.domain.schema import LABEL
from mlops_assets.domain.split import VALIDATION
from mlops_assets.partitions import monthly_partitions
from mlops_assets.records import latest_metadata
from mlops_assets.resources import FeastFeatureStore, MlflowModelRegistry, RetrainingPolicy

PRODUCTION_PERFORMANCE = "production_performance"


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def _or_none(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


@asset(
    partitions_def=monthly_partitions,
    group_name="monitoring",
    kinds={"mlflow", "feast"},
    description="The production model's ROC AUC on this month's labelled validation users (Feast features at "
    "as_of, the stable split), against the AUC it had when it was promoted (its version's val_auc). A drop "
    "over the threshold asks for retraining (performance_sensor), even without feature drift.",
)
def production_performance(
    context: AssetExecutionContext,
    monthly_snapshot: pd.DataFrame,
    feature_store: FeastFeatureStore,
    registry: MlflowModelRegistry,
    policy: RetrainingPolicy,
) -> Output[dict]:
    month = context.partition_key
    registry.check_reachable()
    production = registry.production()
    version = production["version"] if production else None
    tags = production["tags"] if production else {}
    production_month = tags.get("partition")
    auc_at_promotion = float(tags["val_auc"]) if tags.get("val_auc") else None
    inputs = {"has_production": production is not None, "month": month, "production_month": production_month}

    validation = pd.DataFrame()
    auc_now, note, measurable = None, None, True
    # Score only when the answer depends on it: there is a production model, trained on an
    # earlier month (the rule takes no action otherwise, whatever it would score).
    if production is not None and not (production_month and production_month >= month):
        validation = labelled_dataset(monthly_snapshot, month, feature_store, only_split=VALIDATION)
        classes = validation[LABEL].nunique() if len(validation) else 0
        measurable = classes == 2
        if measurable:
            # Loading errors (registry down) fail the run; a model that loads but cannot score
            # these rows is broken, which asks for retraining.
            model = registry.load_version(version)
            try:
                auc_now = roc_auc(validation[LABEL], score(model, validation))
            except Exception as exc:  # noqa: BLE001 - a model that raises on valid rows is broken
                note = f"production model failed to score: {type(exc).__name__}: {exc}"
        else:
            note = f"{len(validation)} labelled validation users, {classes} class(es)"
    verdict = policy.performance(auc_at_promotion, auc_now, measurable=measurable, **inputs)
    reason = verdict.reason + (f" ({note})" if note else "")
    context.log.info(performance_line(month, version, verdict) + f" ({reason})")

    result = {
        "month": month,
        "has_production": production is not None,
        "production_version": version,
        "production_month": production_month,
        "auc_at_promotion": verdict.auc_at_promotion,
        "auc_now": verdict.auc_now,
        "drop": verdict.drop,
        "drop_threshold": verdict.threshold,
        "measurable": measurable,
        "action": verdict.action,
        "reason": reason,
        "validation_rows": len(validation),
        "validation_fingerprint": rows_fingerprint(validation) if len(validation) else None,
    }
    return Output(
        result,
        metadata={
            "has_production": result["has_production"],
            "production_version": str(version),
            "production_month": str(production_month),
            "auc_at_promotion": _number(verdict.auc_at_promotion),
            "auc_now": _number(verdict.auc_now),
            "drop": _number(verdict.drop),
            "drop_threshold": verdict.threshold,
            "measurable": measurable,
            "action": verdict.action,
            "retraining_triggered": verdict.triggered,
            "reason": reason,
            "validation_rows": len(validation),
            "validation_fingerprint": str(result["validation_fingerprint"]),
            "summary": MetadataValue.md(
                f"**{verdict.action}** for {month}: production v{version} "
                f"AUC {_fmt(verdict.auc_now)} now, {_fmt(verdict.auc_at_promotion)} at promotion "
                f"(drop {_fmt(verdict.drop)}, threshold {verdict.threshold:.4f}).\n\n{reason}"
            ),
        },
    )


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def _text(value) -> str | None:
    return None if value in (None, "None", "") else str(value)


def verdict_from_metadata(month: str, metadata: dict, policy: RetrainingPolicy):
    """The sensor's verdict on a production_performance materialization, under its own policy."""
    return policy.performance(
        _or_none(metadata.get("auc_at_promotion")),
        _or_none(metadata.get("auc_now")),
        has_production=bool(metadata.get("has_production")),
        measurable=bool(metadata.get("measurable", True)),
        month=month,
        production_month=_text(metadata.get("production_month")),
    )


def retraining_trigger_record(instance: DagsterInstance, month: str, drift_report: dict) -> dict:
    """What asked for this month's retraining, with the numbers: the month's drift report (an input
    of the decision) and its latest production_performance (read from the instance, so a
    retraining never fails because a monitor did)."""
    performance = latest_metadata(instance, PRODUCTION_PERFORMANCE, month) or {}
    return {
        "trigger": retraining_trigger(drift_report.get("action"), performance.get("action")),
        "drift_action": drift_report.get("action"),
        "drift_share": drift_report.get("drift_share"),
        "performance_action": performance.get("action"),
        "performance_production_version": _text(performance.get("production_version")),
        "auc_at_promotion": _or_none(performance.get("auc_at_promotion")),
        "auc_now": _or_none(performance.get("auc_now")),
        "drop": _or_none(performance.get("drop")),
        "drop_threshold": performance.get("drop_threshold"),
    }
