"""Churn scores computed on Spark: the registered model as an `mlflow.pyfunc.spark_udf` over the
Spark DataFrame Feast's Spark store answers with, so the features never leave the cluster; only
(user_id, probability) comes back to the driver, for ranking and bands.

Why a pyfunc wrapper and not the version's own pyfunc flavour: the versions are logged with the
scikit-learn flavour's default `predict` (classes, not probabilities), and a `spark_udf` over a
`predict_proba` flavour with `result_type="double"` silently returns P(class 0). The wrapper is
the loaded registered version (the same object the pandas path scores with) behind
`domain.model.score` (the model frame, then P(churn)), saved for the run in a temporary folder
that `spark_udf` ships to the executors; on a cluster they need this package installed (the code
location's image), as the wrapper calls its `score`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from mlops_assets.domain.model import score
from mlops_assets.domain.schema import ENTITY_KEY, FEATURES

PROBABILITY = "churn_probability"
NO_FEATURES = "no_features"


class ChurnProbability(mlflow.pyfunc.PythonModel):
    """P(churn) of each row of Feast's feature columns, exactly as the pandas path scores them."""

    def __init__(self, pipeline):
        self.pipeline = pipeline

    def predict(self, context, model_input: pd.DataFrame, params=None):  # noqa: ARG002 - pyfunc's signature
        return pd.Series(score(self.pipeline, model_input), index=model_input.index)


def score_on_spark(spark, pipeline, features) -> pd.DataFrame:
    """`features`: a Spark DataFrame with user_id and the 14 features. Returns a pandas frame of
    user_id, churn_probability and whether the user had no feature at all."""
    from pyspark.sql import functions as F

    with tempfile.TemporaryDirectory(prefix="churn_probability_") as folder:
        path = Path(folder) / "model"
        # Empty requirements: the environment is the run's own (env_manager="local").
        mlflow.pyfunc.save_model(path=str(path), python_model=ChurnProbability(pipeline), pip_requirements=[])
        udf = mlflow.pyfunc.spark_udf(spark, model_uri=str(path), result_type="double", env_manager="local")
        scored = features.select(
            F.col(ENTITY_KEY),
            udf(F.struct(*[F.col(c) for c in FEATURES])).alias(PROBABILITY),
            F.expr(" AND ".join(f"`{c}` IS NULL" for c in FEATURES)).alias(NO_FEATURES),
        )
        return scored.toPandas()
