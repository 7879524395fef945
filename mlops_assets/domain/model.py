"""The churn model: how features become a model matrix, and the scikit-learn pipeline."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd

from mlops_assets.domain.schema import BOOLEAN_FEATURES, CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES


class ModelKind(Enum):
    """The model kinds the pipeline builds (a choice in the Launchpad; names are the values)."""

    logistic_regression = "logistic_regression"  # the default (README, Benchmarks)
    random_forest = "random_forest"  # the course's
    hist_gradient_boosting = "hist_gradient_boosting"


@dataclass(frozen=True)
class ModelParams:
    kind: str = ModelKind.logistic_regression.value
    n_estimators: int = 300
    max_depth: int | None = None
    min_samples_leaf: int = 1
    random_state: int = 42

    def applicable(self) -> dict:
        """The parameters the chosen kind actually uses, as the estimator gets them (what is logged
        and shown: a logistic regression has no n_estimators)."""
        kind = ModelKind(self.kind)
        if kind is ModelKind.logistic_regression:
            return {"kind": kind.value, "class_weight": "balanced", "max_iter": 1000, "imputer": "median"}
        if kind is ModelKind.random_forest:
            return {"kind": kind.value, "n_estimators": self.n_estimators, "max_depth": self.max_depth,
                    "min_samples_leaf": self.min_samples_leaf, "class_weight": "balanced",
                    "random_state": self.random_state}
        return {"kind": kind.value, "max_iter": self.n_estimators, "max_depth": self.max_depth,
                "min_samples_leaf": max(self.min_samples_leaf, 20), "class_weight": "balanced",
                "random_state": self.random_state}


def to_model_frame(features: pd.DataFrame) -> pd.DataFrame:
    """The 14 features as the model sees them: numbers as float64, booleans as 1.0/0.0 with a
    missing value kept as NaN (never coerced to True or False), categoricals as text."""
    frame = pd.DataFrame(index=features.index)
    for col in NUMERIC_FEATURES:
        frame[col] = pd.to_numeric(features[col], errors="raise").astype("float64")
    for col in BOOLEAN_FEATURES:
        frame[col] = features[col].astype("boolean").astype("Float64").astype("float64")
    for col in CATEGORICAL_FEATURES:
        frame[col] = features[col].astype("object").where(features[col].notna(), "missing").astype(str)
    return frame[list(FEATURES)]


def rows_without_features(features: pd.DataFrame) -> np.ndarray:
    """True for each row missing all 14 features (Feast had nothing for the user at as_of)."""
    return np.logical_and.reduce([features[col].isna().to_numpy() for col in FEATURES])


def build_pipeline(params: ModelParams = ModelParams()):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    # handle_unknown="ignore": a category never seen in training (a new net_service) scores as
    # "none of the known ones" instead of failing the month.
    categorical = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    numeric_cols = list(NUMERIC_FEATURES) + list(BOOLEAN_FEATURES)
    if params.kind == "random_forest":
        # Trees split on NaN natively (scikit-learn >= 1.4): missing booleans stay missing.
        numeric = "passthrough"
        estimator = RandomForestClassifier(
            n_estimators=params.n_estimators,
            max_depth=params.max_depth,
            min_samples_leaf=params.min_samples_leaf,
            class_weight="balanced",
            n_jobs=-1,
            random_state=params.random_state,
        )
    elif params.kind == "hist_gradient_boosting":
        numeric = "passthrough"
        estimator = HistGradientBoostingClassifier(
            max_iter=params.applicable()["max_iter"],
            max_depth=params.max_depth,
            min_samples_leaf=params.applicable()["min_samples_leaf"],
            class_weight="balanced",
            random_state=params.random_state,
        )
    elif params.kind == "logistic_regression":
        numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
        estimator = LogisticRegression(class_weight="balanced", max_iter=params.applicable()["max_iter"])
    else:
        raise ValueError(f"unknown model kind {params.kind!r}")
    prep = ColumnTransformer(
        [("categorical", categorical, list(CATEGORICAL_FEATURES)), ("numeric", numeric, numeric_cols)],
        verbose_feature_names_out=False,
    )
    return Pipeline([("prep", prep), ("model", estimator)])


def score(model, features: pd.DataFrame) -> np.ndarray:
    """Churn probability for each row."""
    return np.asarray(model.predict_proba(to_model_frame(features))[:, 1], dtype=float)


def data_fingerprint(frame: pd.DataFrame) -> str:
    """A content hash of a dataset, recorded on every model version it trained."""
    # The index is not hashed; a dataset sorted by user already (training_dataset) is not sorted again.
    ordered = frame.sort_values("user_id") if "user_id" in frame and not frame["user_id"].is_monotonic_increasing else frame
    hashed = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes() + ",".join(ordered.columns).encode()).hexdigest()[:16]
