from mlops_assets.assets.drift import drift_report
from mlops_assets.assets.models import candidate_model, production_metrics
from mlops_assets.assets.performance import production_performance
from mlops_assets.assets.promotion import promotion_decision
from mlops_assets.assets.snapshot import monthly_snapshot
from mlops_assets.assets.training import training_dataset

ALL_ASSETS = [
    monthly_snapshot,
    training_dataset,
    candidate_model,
    production_metrics,
    drift_report,
    production_performance,
    promotion_decision,
]

__all__ = [
    "ALL_ASSETS",
    "candidate_model",
    "drift_report",
    "monthly_snapshot",
    "production_metrics",
    "production_performance",
    "promotion_decision",
    "training_dataset",
]
