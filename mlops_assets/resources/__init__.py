"""External systems behind `ConfigurableResource`s: tests and deployments swap their location,
never the kind of system."""

from mlops_assets.resources.feature_store import FeastFeatureStore
from mlops_assets.resources.landing import LandingArea
from mlops_assets.resources.policy import RetrainingPolicy
from mlops_assets.resources.registry import MlflowModelRegistry
from mlops_assets.resources.reports import ReportStore
from mlops_assets.resources.scores import ScoreFiles, ScoreStore

__all__ = ["FeastFeatureStore", "LandingArea", "MlflowModelRegistry", "ReportStore", "RetrainingPolicy", "ScoreFiles", "ScoreStore"]
