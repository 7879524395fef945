"""candidate_model and production_metrics: both scored on the same validation rows, by ROC AUC."""


import hashlib

import pandas as pd
from dagster import AssetExecutionContext, Config, Failure, MetadataValue, Output, asset
from pydantic import Field

from mlops_assets import figures
from mlops_assets.assets.training import dataset_fingerprint
from mlops_assets.domain.metrics import UndefinedMetricError, format_auc, probability_metrics, roc_auc
from mlops_assets.domain.model import ModelKind, ModelParams, build_pipeline, score, to_model_frame
from mlops_assets.domain.model_card import model_description, version_card
from mlops_assets.domain.months import as_of_for
from mlops_assets.domain.schema import ENTITY_KEY, LABEL, SPLIT
from mlops_assets.domain.split import TRAIN, VALIDATION
from mlops_assets.partitions import monthly_partitions
from mlops_assets.resources import MlflowModelRegistry, ReportStore, RetrainingPolicy


class TrainingConfig(Config):
    """Model parameters, editable in the Launchpad."""

    model_kind: ModelKind = Field(
        default=ModelKind.logistic_regression,
        description="logistic_regression (default: best or near-best val_auc at every size, fit in under a "
        "second; README, Benchmarks) | random_forest (the course model: 300 trees, balanced, uncapped depth) | "
        "hist_gradient_boosting",
    )
    n_estimators: int = Field(default=300, description="Trees (random_forest) or boosting iterations "
                              "(hist_gradient_boosting); logistic_regression ignores it.")
    max_depth: int | None = Field(default=None, description="Tree depth cap (tree kinds); none by default.")
    min_samples_leaf: int = Field(default=1, description="Tree kinds only (hist_gradient_boosting: at least 20).")
    random_state: int = Field(default=42, description="Tree kinds only.")

    def params(self) -> ModelParams:
        return ModelParams(
            kind=ModelKind(self.model_kind).value,
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
    context: AssetExecutionContext,
    config: TrainingConfig,
    training_dataset: pd.DataFrame,
    registry: MlflowModelRegistry,
    reports: ReportStore,
    policy: RetrainingPolicy,
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
    quality = probability_metrics(validation[LABEL], validation_scores)

    fingerprint = dataset_fingerprint(training_dataset)
    tags = {
        "as_of": as_of_for(month).isoformat(),
        "partition": month,
        "dagster_run_id": context.run.run_id,
        "data_fingerprint": fingerprint,
        "val_auc": f"{val_auc:.6f}",
        "model_kind": params.kind,
    }
    applicable = params.applicable()
    calibration_png = figures.calibration_figure(validation[LABEL], validation_scores, month=month)
    calibration_path = reports.figure_path("calibration", month)
    calibration_path.write_bytes(calibration_png)
    card = {
        "month": month,
        "as_of": tags["as_of"],
        "train_rows": len(train),
        "validation_rows": len(validation),
        "params": applicable,
        "val_auc": val_auc,
        "metrics": quality,
        "data_fingerprint": fingerprint,
    }
    logged = registry.log_candidate(
        pipeline,
        input_example=to_model_frame(validation.head(20)),
        params=applicable | {"train_rows": len(train), "validation_rows": len(validation)},
        metrics={"val_auc": val_auc} | quality,
        tags=tags,
        run_name=f"candidate_{month}",
        model_description=model_description(registry.model_name, registry.production_alias, policy.drift_threshold),
        card=lambda version: version_card(card | {"version": version}),
        artifacts=[calibration_path],
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
        # The card so far, for the decision's card.
        "card": card,
    }
    links = {
        "model_version_url": registry.version_url(logged["version"]),
        "mlflow_run_url": registry.run_url(logged["experiment_id"], logged["run_id"]),
    }
    return Output(
        result,
        metadata={
            "model_version": logged["version"],
            "val_auc": round(val_auc, 4),
            **{name: round(value, 4) for name, value in quality.items()},
            "model_uri": logged["model_uri"],
            "mlflow_run_id": logged["run_id"],
            **{name: MetadataValue.url(url) for name, url in links.items() if url},
            "train_rows": len(train),
            "validation_rows": len(validation),
            "data_fingerprint": fingerprint,
            "params": MetadataValue.json(applicable),
            "calibration": MetadataValue.md(figures.markdown_image(calibration_png, f"calibration {month}")),
            "calibration_png": MetadataValue.path(str(calibration_path)),
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
    context.log.info(f"[PRODUCTION] month={month} version={version} auc={format_auc(production_auc)} ({note})")
    result = base | {
        "has_production": True,
        "production_version": version,
        "production_auc": production_auc,
        "production_month": production["tags"].get("partition"),
        "note": note,
        # Production's scores on the same validation rows (aligned with validation_user_ids): the
        # paired significance test and the decision's ROC figure.
        "validation_scores": validation_scores,
    }
    return Output(
        result,
        metadata={
            "has_production": True,
            "production_version": version,
            "production_auc": float("nan") if production_auc is None else round(production_auc, 4),
            "production_month": str(result["production_month"]),
            **({"production_version_url": MetadataValue.url(registry.version_url(version))} if registry.ui_url else {}),
            "validation_rows": len(validation),
            "note": note,
        },
    )
