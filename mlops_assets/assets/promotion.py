"""promotion_decision: the policy, the alias move, and the record (the audit trail MLflow lacks)."""


from datetime import datetime, timezone

import numpy as np
import pandas as pd
from dagster import AssetDep, AssetExecutionContext, Config, Failure, MetadataValue, Output, asset
from pydantic import Field

from mlops_assets import figures
from mlops_assets.assets.models import rows_fingerprint, validation_rows
from mlops_assets.assets.performance import retraining_trigger_record
from mlops_assets.checks import production_invariants, promotion_check_specs
from mlops_assets.domain.metrics import format_auc, roc_auc
from mlops_assets.domain.model import score
from mlops_assets.domain.model_card import version_card
from mlops_assets.domain.months import as_of_for
from mlops_assets.domain.promotion import DEFAULT_ALPHA, DEFAULT_POLICY, PROMOTE, Decision, PolicyKind, PromotionPolicy, decide
from mlops_assets.domain.schema import ENTITY_KEY, LABEL
from mlops_assets.domain.significance import AucComparison, ComparisonError, delong
from mlops_assets.partitions import monthly_partitions, previous_month
from mlops_assets.records import latest_metadata
from mlops_assets.resources import MlflowModelRegistry, ReportStore

# The logged model must score the validation rows exactly as it did at training time.
_RESCORE_TOLERANCE = 1e-9


class PromotionConfig(Config):
    policy: PolicyKind = Field(
        default=DEFAULT_POLICY,
        description="delta: candidate_auc >= production_auc + delta (the course's rule) | significant: the gain is "
        "at least delta AND significant at alpha (one-sided DeLong test on the same validation rows) | "
        "lower_bound: the (1 - alpha) lower confidence bound of the gain is at least delta. README, "
        "Deciding with significance.",
    )
    delta: float = Field(default=0.01, ge=0.0, description="The smallest AUC gain worth a promotion.")
    alpha: float = Field(
        default=DEFAULT_ALPHA, gt=0.0, lt=0.5, description="One-sided significance level (significant, lower_bound)."
    )

    def promotion_policy(self) -> PromotionPolicy:
        return PromotionPolicy(min_absolute_change=self.delta, kind=self.policy, alpha=self.alpha)


_fmt = format_auc


def _nan_if_none(value, digits: int):
    return float("nan") if value is None else round(value, digits)


def _trend(context: AssetExecutionContext, record: dict) -> list[figures.TrendPoint]:
    """Every earlier month's latest decision, and this one's, for the AUC trend."""
    month = record["month"]
    earlier = sorted(k for k in context.instance.get_materialized_partitions(context.asset_key) if k < month)
    records = [r for r in ((latest_metadata(context.instance, "promotion_decision", k) or {}).get("record") for k in earlier) if r]
    return [
        figures.TrendPoint(r["month"], r.get("candidate_auc"), r.get("production_auc"), r.get("decision") == PROMOTE)
        for r in [*records, record]
    ]


def paired_comparison(
    month: str, validation: pd.DataFrame, candidate_model: dict, production_metrics: dict, ci_level: float
) -> AucComparison | None:
    """DeLong's paired test of the two models on the same validation rows; None when there is
    nothing to compare against (no production model, or one that failed to score)."""
    if production_metrics.get("validation_scores") is None:
        return None
    ids = validation[ENTITY_KEY].to_numpy()
    for name, output in (("candidate_model", candidate_model), ("production_metrics", production_metrics)):
        if not np.array_equal(output["validation_user_ids"], ids):
            raise Failure(description=f"month {month}: {name}'s validation scores are not aligned with the validation rows; re-run the month")
    try:
        return delong(validation[LABEL], candidate_model["validation_scores"], production_metrics["validation_scores"], ci_level)
    except ComparisonError as exc:
        raise Failure(description=f"month {month}: candidate and production cannot be compared: {exc}") from exc


def comparison_fields(comparison: AucComparison | None) -> dict:
    """What the record, the metadata and the tags say about the paired comparison."""
    if comparison is None:
        return {"difference": None, "difference_se": None, "difference_ci": None, "ci_level": None, "p_value": None}
    return {
        "difference": comparison.difference,
        "difference_se": comparison.standard_error,
        "difference_ci": [comparison.ci_low, comparison.ci_high],
        "ci_level": comparison.ci_level,
        "p_value": comparison.p_value,
    }


def compare_line(decision: Decision) -> str:
    comparison = decision.comparison
    stats = (
        "diff=None ci=None p=None"
        if comparison is None
        else f"diff={comparison.difference:.4f} ci=[{comparison.ci_low:.4f}, {comparison.ci_high:.4f}] p={comparison.p_value:.4f}"
    )
    alpha = "" if decision.alpha is None else f" alpha={decision.alpha}"
    return (
        f"[COMPARE] candidate_auc={_fmt(decision.candidate_auc)} vs prod_auc={_fmt(decision.production_auc)} "
        f"(delta={decision.delta}) {stats} policy={decision.policy}{alpha}"
    )


@asset(
    partitions_def=monthly_partitions,
    group_name="promotion",
    kinds={"mlflow"},
    # Each month compares against the production model the previous month left, so a backfill
    # over many months runs the decisions in order.
    deps=[AssetDep("promotion_decision", partition_mapping=previous_month)],
    check_specs=promotion_check_specs,
    # One decision at a time across all runs (the instance gives each pool one slot): between
    # reading production and moving the alias, no other run can move it.
    pool="production_alias",
    description="Promote the candidate only if it passes the promotion policy (delta: candidate_auc >= "
    "production_auc + delta; significant: that gain also significant by DeLong's paired test), by moving the "
    "registry's production alias after the model loads and scores; otherwise keep production and record why.",
)
def promotion_decision(
    context: AssetExecutionContext,
    config: PromotionConfig,
    candidate_model: dict,
    production_metrics: dict,
    drift_report: dict,
    training_dataset: pd.DataFrame,
    registry: MlflowModelRegistry,
    reports: ReportStore,
):
    month = context.partition_key
    candidate_version = candidate_model["version"]
    if candidate_model["validation_fingerprint"] != production_metrics["validation_fingerprint"]:
        raise Failure(description=f"month {month}: candidate and production were scored on different validation rows")
    validation = validation_rows(training_dataset)
    if rows_fingerprint(validation) != candidate_model["validation_fingerprint"]:
        raise Failure(description=f"month {month}: training_dataset changed since the candidate was trained; re-run the month")

    registry.check_reachable()
    production_before = registry.production()
    before_version = production_before["version"] if production_before else None
    if before_version != production_metrics["production_version"]:
        raise Failure(
            description=f"month {month}: production moved from v{production_metrics['production_version']} to "
            f"v{before_version} after it was scored; re-run production_metrics and promotion_decision"
        )

    policy = config.promotion_policy()
    comparison = paired_comparison(month, validation, candidate_model, production_metrics, policy.ci_level)
    decision = decide(
        candidate_model["val_auc"],
        production_metrics["production_auc"],
        policy,
        comparison=comparison,
        has_production=production_metrics["has_production"],
        month=month,
        production_month=production_metrics["production_month"],
    )
    context.log.info(compare_line(decision))
    compared = comparison_fields(comparison)

    ci = compared["difference_ci"]
    decision_tags = {
        "promotion.month": month,
        "promotion.decision": decision.outcome,
        # "This version passed the promotion policy" (for `delta`: cleared delta), whatever the policy.
        "promotion.cleared_delta": str(decision.cleared_delta).lower(),
        "promotion.delta": str(decision.delta),
        "promotion.policy": decision.policy,
        "promotion.alpha": str(decision.alpha),
        "promotion.difference": str(compared["difference"]),
        "promotion.difference_ci": "None" if ci is None else f"[{ci[0]:.6f}, {ci[1]:.6f}]",
        "promotion.p_value": str(compared["p_value"]),
        "promotion.reason": decision.reason[:4000],
    }
    if decision.promote:
        # A model must load and score before the alias moves to it.
        loaded = registry.load_version(candidate_version)
        rescored = roc_auc(validation[LABEL], score(loaded, validation))
        if abs(rescored - candidate_model["val_auc"]) > _RESCORE_TOLERANCE:
            registry.tag_version(candidate_version, decision_tags | {"promotion.decision": "rejected_on_load"})
            raise Failure(
                description=f"month {month}: registered v{candidate_version} scores AUC {rescored:.6f} after loading, "
                f"not the {candidate_model['val_auc']:.6f} it was trained with; production stays v{before_version}"
            )
        # Tag first ("promoting"), then move, then confirm ("promoted"): production never points at
        # a version without its decision record, and a crash between the two writes leaves a
        # version marked "promoting" that production does not point at.
        registry.tag_version(candidate_version, decision_tags | {"promotion.decision": "promoting"})
        registry.set_production(candidate_version)
        registry.tag_version(candidate_version, {"promotion.decision": decision.outcome})
    else:
        registry.tag_version(candidate_version, decision_tags)

    production_after = registry.production()
    after_version = production_after["version"] if production_after else None
    context.log.info(f"[DECISION] {decision.outcome}: {decision.reason}")
    context.log.info(
        f"[SUMMARY] as_of={as_of_for(month).isoformat()} cand_v={candidate_version} cand_auc={_fmt(decision.candidate_auc)} "
        f"prod_v={before_version} prod_auc={_fmt(decision.production_auc)} -> {decision.outcome}"
    )
    trigger = retraining_trigger_record(context.instance, month, drift_report)
    record = {
        "month": month,
        "as_of": as_of_for(month).isoformat(),
        "decision": decision.outcome,
        "reason": decision.reason,
        "cleared_delta": decision.cleared_delta,  # passed the policy (see Decision.cleared_delta)
        "policy": decision.policy,
        "alpha": decision.alpha,
        "delta": decision.delta,
        "required_auc": decision.required_auc,
        "gain_reaches_delta": decision.gain_reaches_delta,
        "significant": decision.significant,
        "comparison_method": None if comparison is None else comparison.method,
        **compared,
        "candidate_version": candidate_version,
        "candidate_auc": decision.candidate_auc,
        "production_version_before": before_version,
        "production_auc": decision.production_auc,
        "production_version_after": after_version,
        "drift_share": drift_report.get("drift_share"),
        "drift_action": drift_report.get("action"),
        # What asked for this retraining (drift / performance / both / manual), with the numbers.
        "retraining_trigger": trigger["trigger"],
        "retraining_trigger_detail": trigger,
        "requested_by": context.run.tags.get("dagster/sensor_name", "manual"),
        "validation_rows": len(validation),
        "dagster_run_id": context.run.run_id,
        "decided_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    pictures, links = _pictures_links_and_card(
        context, record, decision, candidate_model, production_metrics, validation, registry, reports
    )
    yield Output(
        record,
        metadata={
            "decision": decision.outcome,
            "reason": decision.reason,
            "candidate_version": candidate_version,
            "candidate_auc": _nan_if_none(decision.candidate_auc, 4),
            "production_version_before": str(before_version),
            "production_auc": _nan_if_none(decision.production_auc, 4),
            "production_version_after": str(after_version),
            "delta": decision.delta,
            "cleared_delta": decision.cleared_delta,
            "policy": decision.policy,
            "alpha": float("nan") if decision.alpha is None else decision.alpha,
            "difference": float("nan") if comparison is None else comparison.difference,
            "difference_ci_low": float("nan") if comparison is None else comparison.ci_low,
            "difference_ci_high": float("nan") if comparison is None else comparison.ci_high,
            "p_value": float("nan") if comparison is None else comparison.p_value,
            "drift_share": _nan_if_none(record["drift_share"], 3),
            "retraining_trigger": record["retraining_trigger"],
            **links,
            "record": MetadataValue.json(record),
            "summary": MetadataValue.md(
                f"**{decision.outcome}** for {month}: candidate v{candidate_version} AUC {_fmt(decision.candidate_auc)} "
                f"vs production v{before_version} AUC {_fmt(decision.production_auc)} (delta {decision.delta}, "
                f"policy {policy.describe()}).\n\n"
                + ("" if comparison is None else
                   f"Paired difference {comparison.difference:+.4f}, {comparison.ci_level:.0%} CI "
                   f"[{comparison.ci_low:+.4f}, {comparison.ci_high:+.4f}], one-sided p={comparison.p_value:.4f} "
                   f"(DeLong, {comparison.positives} churners and {comparison.negatives} stayers).\n\n")
                + f"{decision.reason}\n\nProduction is now v{after_version}."
            ),
            **pictures,
        },
    )
    yield from production_invariants(record, production_after)


def _pictures_links_and_card(context, record, decision, candidate_model, production_metrics, validation, registry, reports):
    """The ROC of both models on the same rows and the AUC trend (metadata and PNG files), links
    to both versions and the candidate's run, and the decision written into the version's card and
    the candidate's run."""
    month, labels = record["month"], validation[LABEL].to_numpy()
    candidate_scores = candidate_model.get("validation_scores")
    if candidate_scores is None:  # stored by a version of candidate_model before the figures
        candidate_scores = score(registry.load_version(record["candidate_version"]), validation)
    production_scores = production_metrics.get("validation_scores")
    if production_scores is None and record["production_version_before"] and decision.production_auc is not None:
        production_scores = score(registry.load_version(record["production_version_before"]), validation)
    roc_png = figures.roc_figure(
        labels, candidate_scores, production_scores, candidate_auc=decision.candidate_auc,
        production_auc=decision.production_auc, delta=decision.delta, decision=decision.outcome, month=month,
    )
    trend_png = figures.auc_trend_figure(_trend(context, record))
    roc_path, trend_path = reports.figure_path("roc", month), reports.figure_path("auc_trend", month)
    roc_path.write_bytes(roc_png)
    trend_path.write_bytes(trend_png)

    card_note = {}
    try:
        # After the alias move: the decision is made and recorded in the tags already; a registry
        # that fails now costs the card and the run's extra metric, said in the log and metadata.
        registry.annotate_run(candidate_model["run_id"], {"production_auc_same_rows": decision.production_auc}, [roc_path])
        if "card" in candidate_model:  # absent from a candidate_model stored before the cards
            registry.describe_version(record["candidate_version"], version_card(candidate_model["card"] | {
                "version": record["candidate_version"],
                "production_auc": decision.production_auc,
                "production_version": record["production_version_before"],
                "decision": f"{decision.outcome} (production now v{record['production_version_after']})",
                "reason": decision.reason,
                "drift_share": record["drift_share"],
            }))
    except Exception as exc:  # noqa: BLE001 - any MLflow failure here: keep the decision, say so
        card_note = {"model_card": f"not updated: {type(exc).__name__}: {str(exc)[:200]}"}
        context.log.warning(f"[CARD] v{record['candidate_version']} card not updated in MLflow: {card_note['model_card']}")
    context.log.info(f"[FIGURES] roc={roc_path} auc_trend={trend_path}")

    urls = {
        "candidate_version_url": registry.version_url(record["candidate_version"]),
        "production_version_before_url": record["production_version_before"]
        and registry.version_url(record["production_version_before"]),
        "candidate_run_url": candidate_model.get("experiment_id")
        and registry.run_url(candidate_model["experiment_id"], candidate_model["run_id"]),
    }
    pictures = {
        "roc": MetadataValue.md(figures.markdown_image(roc_png, f"ROC {month}")),
        "auc_trend": MetadataValue.md(figures.markdown_image(trend_png, "AUC per month")),
        "roc_png": MetadataValue.path(str(roc_path)),
        "auc_trend_png": MetadataValue.path(str(trend_path)),
    } | card_note
    return pictures, {name: MetadataValue.url(url) for name, url in urls.items() if url}
