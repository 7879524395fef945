"""churn_scores: every user of the month scored by the production model that the month's
decision left, with features from Feast at as_of exactly as training reads them."""


import pandas as pd
from dagster import AssetDep, AssetExecutionContext, AssetKey, AssetRecordsFilter, Config, Failure, MetadataValue, Output, asset
from pydantic import Field

from mlops_assets import figures
from mlops_assets.domain.model import rows_without_features, score
from mlops_assets.domain.months import as_of_for, previous_month_key
from mlops_assets.domain.schema import ENTITY_KEY, EVENT_TIMESTAMP
from mlops_assets.domain.scores import (
    DecisionRecord,
    RiskBands,
    band_changes,
    score_deciles,
    score_table,
    top_users,
    users_per_band,
    version_for_month,
)
from mlops_assets.partitions import monthly_partitions
from mlops_assets.resources import FeastFeatureStore, MlflowModelRegistry, ReportStore, ScoreStore

_DEFAULT_BANDS = RiskBands()


class ScoringConfig(Config):
    """Risk bands on the churn probability, editable in the Launchpad."""

    medium_risk_from: float = Field(default=_DEFAULT_BANDS.medium_from, ge=0.0, le=1.0,
                                    description="Churn probability from which a user is in the medium band.")
    high_risk_from: float = Field(default=_DEFAULT_BANDS.high_from, ge=0.0, le=1.0,
                                  description="Churn probability from which a user is in the high band.")

    def bands(self) -> RiskBands:
        return RiskBands(medium_from=self.medium_risk_from, high_from=self.high_risk_from)


def decision_records(instance) -> list[DecisionRecord]:
    """Every promotion_decision ever recorded, oldest first (the audit trail MLflow lacks)."""
    found, cursor = [], None
    while True:
        page = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey("promotion_decision")), limit=1000, cursor=cursor, ascending=True
        )
        for record in page.records:
            metadata = record.asset_materialization.metadata
            found.append(
                DecisionRecord(
                    month=record.asset_materialization.partition,
                    decision=metadata["decision"].value,
                    candidate_version=str(metadata["candidate_version"].value),
                )
            )
        if not page.has_more:
            return found
        cursor = page.cursor


def scoring_entities(snapshot: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every user of the month, asked for at the month's end (the timestamp training asks for)."""
    entities = snapshot[[ENTITY_KEY]].copy()
    entities[EVENT_TIMESTAMP] = as_of.tz_localize("UTC")
    return entities


def scored_users(feature_store: FeastFeatureStore, model, entities: pd.DataFrame) -> tuple[pd.Series, pd.Series, int]:
    """(user ids, churn probabilities, users without any feature) of the entities at their
    timestamp. On the Spark store the features stay on Spark and the model scores there
    (`mlflow.pyfunc.spark_udf`); otherwise pandas scores Feast's DataFrame. Same numbers either way
    (the Spark end-to-end test: within 1e-9)."""
    if feature_store.on_spark:
        from mlops_assets.spark_scoring import NO_FEATURES, PROBABILITY, score_on_spark

        scored = score_on_spark(feature_store.spark_session(), model, feature_store.historical_features_on_spark(entities))
        return scored[ENTITY_KEY], scored[PROBABILITY], int(scored[NO_FEATURES].sum())
    features = feature_store.historical_features(entities)
    unknown = int(rows_without_features(features).sum())
    return features[ENTITY_KEY], pd.Series(score(model, features)), unknown


@asset(
    partitions_def=monthly_partitions,
    group_name="scoring",
    kinds={"mlflow", "feast", "parquet"},
    # The month's Parquet file is the stored value (written once, by the IO manager).
    io_manager_key="score_files",
    # After the month's decision when the month retrains (same run); a month without retraining
    # is scored by scoring_job, which the drift sensor requests (its NO_ACTION branch).
    deps=[AssetDep("promotion_decision")],
    description="Every user of the month's snapshot scored by the production version the month's decision "
    "left (features from Feast at as_of, as training reads them): churn_probability, rank, risk band, "
    "model_version, as_of; one Parquet file per month.",
)
def churn_scores(
    context: AssetExecutionContext,
    config: ScoringConfig,
    monthly_snapshot: pd.DataFrame,
    feature_store: FeastFeatureStore,
    registry: MlflowModelRegistry,
    score_store: ScoreStore,
    reports: ReportStore,
) -> Output[pd.DataFrame]:
    month = context.partition_key
    as_of = pd.Timestamp(as_of_for(month))
    bands = config.bands()
    chosen = version_for_month(decision_records(context.instance), month)
    if chosen is None:
        raise Failure(
            description=f"month {month}: no production model to score with: no promotion_decision of {month} or of "
            "an earlier month promoted a model. Run retraining_job for the first month first."
        )
    registry.check_reachable()
    model = registry.load_version(chosen.version)
    version_tags = registry.version_tags(chosen.version)

    user_ids, probabilities, unknown = scored_users(feature_store, model, scoring_entities(monthly_snapshot, as_of))
    if unknown:
        context.log.warning(f"month {month}: {unknown} users have no features in Feast at {as_of.date()}; scored on missing values")
    table = score_table(user_ids, probabilities, chosen.version, as_of.date().isoformat(), bands)
    path = score_store.file_for(as_of.date().isoformat())  # written by the IO manager once the step returns

    previous_month = previous_month_key(month)
    previous = score_store.read(as_of_for(previous_month).isoformat())
    changes = band_changes(previous, table) if previous is not None else None
    per_band = users_per_band(table)
    deciles = score_deciles(table["churn_probability"])
    production = registry.production()
    alias_version = production["version"] if production else None
    if alias_version != chosen.version:
        context.log.info(
            f"month {month}: scored with v{chosen.version} (left by {chosen.decision_month}'s decision); "
            f"the alias now points at v{alias_version}"
        )
    context.log.info(
        f"[SCORES] month={month} as_of={as_of.date()} users={len(table)} model_v={chosen.version} "
        f"(decision of {chosen.decision_month}) bands={per_band} path={path}"
    )
    preview = top_users(table)
    # The picture people look at: the score distribution and users per band (also a file beside
    # the reports, like the other figures).
    picture = figures.churn_scores_figure(table["churn_probability"], per_band, month=month)
    picture_path = reports.figure_path("churn_scores", month)
    picture_path.write_bytes(picture)
    return Output(
        table,
        metadata={
            "as_of": as_of.date().isoformat(),
            "dagster/row_count": len(table),
            "scored_on": "spark (mlflow.pyfunc.spark_udf)" if feature_store.on_spark else "pandas",
            "model_version": chosen.version,
            "model_month": version_tags.get("partition", ""),
            "decision_month": chosen.decision_month,
            "production_alias_version": str(alias_version),
            "scores_path": MetadataValue.path(str(path)),
            "risk_bands": MetadataValue.json(bands.as_dict()),
            "users_per_band": MetadataValue.json(per_band),
            "score_deciles": MetadataValue.json({k: round(v, 3) for k, v in deciles.items()}),
            "mean_churn_probability": round(float(table["churn_probability"].mean()), 3) if len(table) else float("nan"),
            "users_without_features": unknown,
            "previous_month": previous_month if previous is not None else "",
            "changed_band": changes.changed_band if changes else 0,
            "band_changes": MetadataValue.json(changes.as_dict() if changes else {"note": f"no scores for {previous_month}"}),
            "scores_picture": MetadataValue.md(figures.markdown_image(picture, f"churn scores {month}")),
            "scores_picture_png": MetadataValue.path(str(picture_path)),
            "highest_risk": MetadataValue.md(preview.round({"churn_probability": 3}).to_markdown(index=False)),
        },
    )
