from mlops_assets.assets.drift import drift_report
from mlops_assets.assets.models import candidate_model, production_metrics
from mlops_assets.assets.performance import production_performance
from mlops_assets.assets.online import online_features
from mlops_assets.assets.promotion import promotion_decision
from mlops_assets.assets.scores import churn_scores
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
    churn_scores,
    online_features,
]

__all__ = [
    "ALL_ASSETS",
    "candidate_model",
    "churn_scores",
    "drift_report",
    "monthly_snapshot",
    "online_features",
    "production_metrics",
    "production_performance",
    "promotion_decision",
    "training_dataset",
]
