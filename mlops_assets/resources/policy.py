"""The retraining policy shared by the drift report and the drift sensor, so both agree."""

from __future__ import annotations

from dagster import ConfigurableResource

from mlops_assets.resources.environment import FromEnvironment

from mlops_assets.domain.drift import DEFAULT_DRIFT_THRESHOLD, retraining_action


class RetrainingPolicy(FromEnvironment, ConfigurableResource):
    drift_threshold: float = DEFAULT_DRIFT_THRESHOLD

    def action(self, drift_share: float | None, has_reference: bool) -> str:
        return retraining_action(drift_share, self.drift_threshold, has_reference)
