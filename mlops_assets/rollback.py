"""Rollback: put production back on an earlier version that cleared delta, recorded like any decision.

`mlops-assets rollback --to VERSION --reason "..."` and the Launchpad's `rollback_job` run the same
op. It refuses a version that never cleared delta (tag `promotion.cleared_delta`), one that is
already production, and one that does not load from the registry and re-score its logged val_auc
on its own month's validation rows. Then it moves the alias (in the `production_alias` pool, one
decision at a time, like `promotion_decision`) and records a `promotion_decision` materialization
for the month it acts in (decision `rolled_back`), with the same two checks evaluated after the
move: `status` and the decision history read it like any decision, and the next month compares
its candidate against the rolled-back model.
"""

from datetime import datetime, timezone

from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    AssetMaterialization,
    Config,
    Failure,
    MetadataValue,
    OpExecutionContext,
    build_input_context,
    op,
)
from pydantic import Field

from mlops_assets.assets.models import validation_rows
from mlops_assets.assets.promotion import _RESCORE_TOLERANCE as RESCORE_TOLERANCE
from mlops_assets.checks import production_invariants
from mlops_assets.domain.metrics import roc_auc
from mlops_assets.domain.model import data_fingerprint, score
from mlops_assets.domain.months import as_of_for
from mlops_assets.domain.schema import LABEL
from mlops_assets.partitions import monthly_partitions
from mlops_assets.resources import MlflowModelRegistry

ROLLED_BACK = "rolled_back"
PROMOTION_DECISION = AssetKey("promotion_decision")


class RollbackConfig(Config):
    """What the rollback needs, typed for the Launchpad."""

    to_version: str = Field(description="The registered model version production goes back to (it must have cleared delta).")
    reason: str = Field(min_length=1, description="Why: recorded in the decision record and on both versions' tags.")
    month: str | None = Field(
        default=None,
        description="The month the rollback is recorded in (YYYY-MM); default: the latest month with a decision.",
    )


class RollbackRefused(Failure):
    """A rollback that would put production on a version that is not vetted or does not score."""


def _refuse(message: str) -> RollbackRefused:
    return RollbackRefused(description=f"rollback refused: {message}")


def _acting_month(context: OpExecutionContext, requested: str | None) -> str:
    decided = sorted(context.instance.get_materialized_partitions(PROMOTION_DECISION))
    if requested is None:
        if not decided:
            raise _refuse("no month has a decision yet; there is nothing to roll back")
        return decided[-1]
    if not monthly_partitions.has_partition_key(requested):
        raise _refuse(f"month {requested!r} is not a partition (YYYY-MM from {monthly_partitions.get_first_partition_key()})")
    if decided and requested < decided[-1]:
        raise _refuse(f"month {requested} is before the latest decision ({decided[-1]}); a rollback is recorded in the current month")
    return requested


def _load_training_dataset(context: OpExecutionContext, month: str):
    """The stored training_dataset of `month`, through the code location's IO manager."""
    input_context = build_input_context(
        asset_key=AssetKey("training_dataset"),
        partition_key=month,
        asset_partitions_def=monthly_partitions,
        instance=context.instance,
    )
    return context.resources.io_manager.load_input(input_context)


def _logged_val_auc(registry: MlflowModelRegistry, version: str) -> float:
    """The val_auc logged with the version's MLflow run (full precision; the tag is rounded)."""
    client = registry.client()
    run_id = client.get_model_version(registry.model_name, version).run_id
    return float(client.get_run(run_id).data.metrics["val_auc"])


def vet_for_rollback(context: OpExecutionContext, registry: MlflowModelRegistry, version: str, production_version: str | None) -> dict:
    """Every reason to refuse `version`, checked before anything moves; returns what was measured."""
    known = {v["version"]: v["tags"] for v in registry.versions()}
    if version not in known:
        raise _refuse(f"v{version} is not a version of {registry.model_name} (versions: {', '.join(known) or 'none'})")
    tags = known[version]
    if version == production_version:
        raise _refuse(f"v{version} is already production")
    if tags.get("promotion.cleared_delta") != "true":
        raise _refuse(
            f"v{version} never cleared delta (promotion.cleared_delta={tags.get('promotion.cleared_delta')}, "
            f"decision {tags.get('promotion.decision')}); production stays v{production_version}"
        )
    month = tags.get("partition")
    try:
        dataset = _load_training_dataset(context, month)
    except Exception as exc:  # noqa: BLE001 - whatever the storage says, the version cannot be re-scored
        raise _refuse(f"v{version}: the training_dataset of its month {month} cannot be loaded to re-score it: {exc}") from exc
    if tags.get("data_fingerprint") and data_fingerprint(dataset) != tags["data_fingerprint"]:
        raise _refuse(
            f"v{version}: the stored training_dataset of {month} is not the data it was trained on "
            f"(fingerprint {data_fingerprint(dataset)} vs {tags['data_fingerprint']})"
        )
    validation = validation_rows(dataset)
    logged = _logged_val_auc(registry, version)
    try:
        model = registry.load_version(version)
        rescored = roc_auc(validation[LABEL], score(model, validation))
    except Exception as exc:  # noqa: BLE001 - a version that cannot load or score is not a production model
        raise _refuse(f"v{version} does not load and score its month's validation rows: {type(exc).__name__}: {exc}") from exc
    if abs(rescored - logged) > RESCORE_TOLERANCE:
        raise _refuse(
            f"v{version} scores AUC {rescored:.6f} on {month}'s {len(validation)} validation rows, not the "
            f"{logged:.6f} it logged; production stays v{production_version}"
        )
    return {"version": version, "version_month": month, "logged_val_auc": logged, "rescored_auc": rescored,
            "validation_rows": len(validation), "tags": tags}


@op(
    pool="production_alias",
    # The IO manager loads the stored training_dataset of the version's month (an op cannot take
    # a resource both ways, so the registry comes the same way).
    required_resource_keys={"io_manager", "registry"},
    description="Move production back to an earlier version that cleared delta, after it loads and re-scores its "
    "logged val_auc on its own month's validation rows; recorded as that month's promotion_decision.",
)
def rollback_production(context: OpExecutionContext, config: RollbackConfig) -> dict:
    registry: MlflowModelRegistry = context.resources.registry
    registry.check_reachable()
    month = _acting_month(context, config.month)
    before = registry.production()
    before_version = before["version"] if before else None
    version = str(config.to_version).removeprefix("v")
    vetted = vet_for_rollback(context, registry, version, before_version)

    run_id = context.run.run_id
    registry.tag_version(
        version,
        {"rollback.month": month, "rollback.from_version": str(before_version), "rollback.reason": config.reason[:4000],
         "rollback.dagster_run_id": run_id},
    )
    if before_version:
        registry.tag_version(before_version, {"rollback.replaced_in": month, "rollback.replaced_by": version})
    registry.set_production(version)
    after = registry.production()
    after_version = after["version"] if after else None

    reason = (
        f"rolled back from v{before_version} to v{version} (vetted in {vetted['version_month']}, re-scored AUC "
        f"{vetted['rescored_auc']:.4f} on its month's {vetted['validation_rows']} validation rows): {config.reason}"
    )
    context.log.info(f"[DECISION] {ROLLED_BACK}: {reason}")
    context.log.info(
        f"[SUMMARY] as_of={as_of_for(month).isoformat()} cand_v={version} cand_auc={vetted['rescored_auc']:.4f} "
        f"prod_v={before_version} prod_auc=None -> {ROLLED_BACK}"
    )
    record = {
        "month": month,
        "as_of": as_of_for(month).isoformat(),
        "decision": ROLLED_BACK,
        "reason": reason,
        "cleared_delta": True,  # the version production goes back to cleared delta when it was decided
        "delta": None,
        "required_auc": None,
        "candidate_version": version,
        "candidate_auc": vetted["rescored_auc"],
        "production_version_before": before_version,
        "production_auc": None,
        "production_version_after": after_version,
        "retraining_trigger": None,
        "requested_by": "manual",
        "rollback": {
            "to_version": version,
            "from_version": before_version,
            "reason": config.reason,
            "version_month": vetted["version_month"],
            "logged_val_auc": vetted["logged_val_auc"],
            "rescored_auc": vetted["rescored_auc"],
        },
        "dagster_run_id": run_id,
        "decided_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    context.log_event(
        AssetMaterialization(
            asset_key=PROMOTION_DECISION,
            partition=month,
            description=f"rollback to v{version}",
            metadata={
                "decision": ROLLED_BACK,
                "reason": reason,
                "candidate_version": version,
                "production_version_before": str(before_version),
                "production_version_after": str(after_version),
                "cleared_delta": True,
                "record": MetadataValue.json(record),
                "summary": MetadataValue.md(f"**{ROLLED_BACK}** in {month}: production v{before_version} → v{after_version}.\n\n{reason}"),
            },
        )
    )
    # The same checks as after any decision, recorded on the same month's promotion_decision.
    for result in production_invariants(record, after):
        context.log_event(
            AssetCheckEvaluation(
                asset_key=PROMOTION_DECISION,
                check_name=result.check_name,
                passed=result.passed,
                metadata=result.metadata,
                severity=result.severity,
                description=result.description,
                partition=month,
            )
        )
        if not result.passed:
            raise Failure(description=f"month {month}: after the rollback, check {result.check_name} failed: {result.description}")
    return record


def run_rollback(defs, instance, to_version: str, reason: str, month: str | None = None):
    """Run `rollback_job` in this process (what `mlops-assets rollback` does): returns
    (record, None) when production moved, (None, why) when it was refused or failed."""
    config = {"to_version": str(to_version), "reason": reason} | ({"month": month} if month else {})
    result = defs.resolve_job_def("rollback_job").execute_in_process(
        instance=instance, run_config={"ops": {"rollback_production": {"config": config}}}, raise_on_error=False
    )
    if result.success:
        return result.output_for_node("rollback_production"), None
    failures = [e.step_failure_data for e in result.all_events if e.is_step_failure]
    messages = [f.user_failure_data.description if f.user_failure_data else f.error.message for f in failures]
    return None, "\n".join(m for m in messages if m) or f"run {result.run_id} failed"
