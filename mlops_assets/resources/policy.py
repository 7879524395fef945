"""The retraining policy shared by the monitors and their sensors, so both agree: retrain when
the drift share reaches its threshold, or when production's AUC dropped by more than its
threshold since it was promoted."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from mlops_assets.resources.environment import FromEnvironment

from mlops_assets.domain.drift import DEFAULT_DRIFT_THRESHOLD, retraining_action
from mlops_assets.domain.performance import DEFAULT_PERFORMANCE_DROP_THRESHOLD, PerformanceVerdict, performance_verdict


class RetrainingPolicy(FromEnvironment, ConfigurableResource):
    drift_threshold: float = DEFAULT_DRIFT_THRESHOLD
    performance_drop_threshold: float = Field(
        default=DEFAULT_PERFORMANCE_DROP_THRESHOLD,
        ge=0.0,
        description="Retrain when production's AUC on a month's validation users is this much below its AUC at "
        "promotion (MLOPS_PERFORMANCE_DROP_THRESHOLD).",
    )

    def action(self, drift_share: float | None, has_reference: bool) -> str:
        return retraining_action(drift_share, self.drift_threshold, has_reference)

    def performance(self, auc_at_promotion: float | None, auc_now: float | None, **context) -> PerformanceVerdict:
        return performance_verdict(auc_at_promotion, auc_now, self.performance_drop_threshold, **context)
