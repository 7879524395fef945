"""candidate_model and production_metrics: both scored on the same validation rows, by ROC AUC."""


import hashlib

import pandas as pd
from dagster import AssetExecutionContext, Config, Failure, MetadataValue, Output, asset
from pydantic import Field

from mlops_assets.domain.metrics import UndefinedMetricError, roc_auc
from mlops_assets.domain.model import ModelParams, build_pipeline, data_fingerprint, score, to_model_frame
from mlops_assets.domain.months import as_of_for
from mlops_assets.domain.schema import ENTITY_KEY, LABEL, SPLIT
from mlops_assets.domain.split import TRAIN, VALIDATION
from mlops_assets.partitions import monthly_partitions
from mlops_assets.resources import MlflowModelRegistry


class TrainingConfig(Config):
    """Model parameters, editable in the Launchpad."""

    model_kind: str = Field(
        default="logistic_regression",
        description="logistic_regression (default: best or near-best val_auc at every size, fit in under a "
        "second; README, Benchmarks) | random_forest (the course model: 300 trees, balanced, uncapped depth) | "
        "hist_gradient_boosting",
    )
    n_estimators: int = Field(default=300, description="Trees (random forest) or boosting iterations.")
    max_depth: int | None = Field(default=None, description="Tree depth cap; none by default.")
    min_samples_leaf: int = Field(default=1)
    random_state: int = Field(default=42)

    def params(self) -> ModelParams:
        return ModelParams(
            kind=self.model_kind,
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            random_state=self.random_state,
        )


def validation_rows(dataset: pd.DataFrame) -> pd.DataFrame:
    return dataset[dataset[SPLIT] == VALIDATION]


def rows_fingerprint(rows: pd.DataFrame) -> str:
    """Which users were scored: candidate and production must be compared on the same rows."""
    return hashlib.sha256("\n".join(sorted(rows[ENTITY_KEY])).encode()).hexdigest()[:16]


@asset(
    partitions_def=monthly_partitions,
    group_name="training",
    kinds={"scikitlearn", "mlflow"},
    description="A scikit-learn pipeline fit on the month's train rows, its val_auc on the validation "
    "rows, logged to MLflow and registered as a new model version with tags.",
)
def candidate_model(
    context: AssetExecutionContext, config: TrainingConfig, training_dataset: pd.DataFrame, registry: MlflowModelRegistry
) -> Output[dict]:
    month = context.partition_key
    params = config.params()
    train = training_dataset[training_dataset[SPLIT] == TRAIN]
    validation = validation_rows(training_dataset)
    registry.check_reachable()  # fail before spending minutes on a fit that cannot be logged

    pipeline = build_pipeline(params)
    pipeline.fit(to_model_frame(train), train[LABEL].to_numpy())
    validation_scores = score(pipeline, validation)
    try:
        val_auc = roc_auc(validation[LABEL], validation_scores)
    except UndefinedMetricError as exc:
        raise Failure(description=f"month {month}: candidate cannot be measured: {exc}") from exc

    fingerprint = data_fingerprint(training_dataset)
    tags = {
        "as_of": as_of_for(month).isoformat(),
        "partition": month,
        "dagster_run_id": context.run.run_id,
        "data_fingerprint": fingerprint,
        "val_auc": f"{val_auc:.6f}",
        "model_kind": params.kind,
    }
    logged = registry.log_candidate(
        pipeline,
        input_example=to_model_frame(validation.head(20)),
        params={k: v for k, v in vars(params).items()} | {"train_rows": len(train), "validation_rows": len(validation)},
        metrics={"val_auc": val_auc},
        tags=tags,
        run_name=f"candidate_{month}",
    )
    context.log.info(f"[CANDIDATE] month={month} version={logged['version']} val_auc={val_auc:.4f} train_rows={len(train)}")
    result = logged | {
        "month": month,
        "val_auc": val_auc,
        "train_rows": len(train),
        "validation_rows": len(validation),
        "validation_fingerprint": rows_fingerprint(validation),
        # The paired significance test in promotion_decision needs both models' scores on the
        # same rows, aligned by user.
        "validation_user_ids": validation[ENTITY_KEY].to_numpy(),
        "validation_scores": validation_scores,
        "data_fingerprint": fingerprint,
        "params": vars(params),
    }
    return Output(
        result,
        metadata={
            "model_version": logged["version"],
            "val_auc": val_auc,
            "model_uri": logged["model_uri"],
            "mlflow_run_id": logged["run_id"],
            "train_rows": len(train),
            "validation_rows": len(validation),
            "data_fingerprint": fingerprint,
            "params": MetadataValue.json(vars(params)),
        },
    )


@asset(
    partitions_def=monthly_partitions,
    group_name="training",
    kinds={"mlflow"},
    description="The model behind the production alias scored on the same validation rows as the "
    "candidate (same split, same metric: ROC AUC). No production model yet: says so (bootstrap).",
)
def production_metrics(
    context: AssetExecutionContext, training_dataset: pd.DataFrame, registry: MlflowModelRegistry
) -> Output[dict]:
    month = context.partition_key
    validation = validation_rows(training_dataset)
    base = {
        "month": month,
        "validation_rows": len(validation),
        "validation_fingerprint": rows_fingerprint(validation),
        "validation_user_ids": validation[ENTITY_KEY].to_numpy(),  # the order of validation_scores
    }
    registry.check_reachable()
    production = registry.production()
    if production is None:
        context.log.info("[PRODUCTION] no production model yet: the first vetted candidate will be promoted (bootstrap)")
        result = base | {"has_production": False, "production_version": None, "production_auc": None,
                         "production_month": None, "note": "no production model yet (bootstrap)",
                         "validation_scores": None}
        return Output(result, metadata={"has_production": False, "note": result["note"]})

    version = production["version"]
    # Loading errors (registry down) fail the run; a model that loads but cannot score these rows
    # is a broken production model, recorded as AUC undefined so a vetted candidate replaces it.
    model = registry.load_production()
    validation_scores = None
    try:
        validation_scores = score(model, validation)
        production_auc = roc_auc(validation[LABEL], validation_scores)
        note = "scored on the candidate's validation rows"
    except UndefinedMetricError as exc:
        if validation[LABEL].nunique() < 2:
            raise Failure(description=f"month {month}: production cannot be measured: {exc}") from exc
        production_auc, note = None, f"production model failed to score: {exc}"
    except Exception as exc:  # noqa: BLE001 - a model that raises on valid rows is broken
        production_auc, note = None, f"production model failed to score: {type(exc).__name__}: {exc}"
    if production_auc is None:
        validation_scores = None  # scores of a broken model are not evidence
    context.log.info(f"[PRODUCTION] month={month} version={version} auc={production_auc} ({note})")
    result = base | {
        "has_production": True,
        "production_version": version,
        "production_auc": production_auc,
        "production_month": production["tags"].get("partition"),
        "note": note,
        "validation_scores": validation_scores,
    }
    return Output(
        result,
        metadata={
            "has_production": True,
            "production_version": version,
            "production_auc": float("nan") if production_auc is None else production_auc,
            "production_month": str(result["production_month"]),
            "validation_rows": len(validation),
            "note": note,
        },
    )
