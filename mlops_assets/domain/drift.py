"""When a drift report asks for retraining."""

from __future__ import annotations

RETRAINING_TRIGGERED = "RETRAINING_TRIGGERED"
NO_ACTION = "NO_ACTION"
DEFAULT_DRIFT_THRESHOLD = 0.02


def retraining_action(drift_share: float | None, threshold: float, has_reference: bool) -> str:
    """The first month has no reference and no production model: it always trains (bootstrap).
    Otherwise retrain when the share of drifted features reaches the threshold."""
    if not has_reference:
        return RETRAINING_TRIGGERED
    if drift_share is None:
        return NO_ACTION
    return RETRAINING_TRIGGERED if drift_share >= threshold else NO_ACTION
