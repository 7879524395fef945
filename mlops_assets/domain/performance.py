"""When production's own performance asks for retraining, and what asked for a month's retraining.

Feature drift misses concept drift: the features can stay put while what drives churn changes.
Once a month's labels are in, the production model is scored on that month's labelled validation
users and compared with the AUC it had when it was promoted (its version's `val_auc`); a drop
larger than the threshold asks for retraining, whatever the drift share says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlops_assets.domain.drift import NO_ACTION, RETRAINING_TRIGGERED
from mlops_assets.domain.promotion import THRESHOLD_TOLERANCE

DEFAULT_PERFORMANCE_DROP_THRESHOLD = 0.03

# What asked for a month's retraining (the decision record's `retraining_trigger`).
TRIGGER_DRIFT = "drift"
TRIGGER_PERFORMANCE = "performance"
TRIGGER_BOTH = "both"
TRIGGER_MANUAL = "manual"


@dataclass(frozen=True)
class PerformanceVerdict:
    action: str  # RETRAINING_TRIGGERED or NO_ACTION
    auc_at_promotion: float | None
    auc_now: float | None
    drop: float | None  # auc_at_promotion - auc_now
    threshold: float
    reason: str

    @property
    def triggered(self) -> bool:
        return self.action == RETRAINING_TRIGGERED


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def check_threshold(threshold: float) -> float:
    if not isinstance(threshold, (int, float)) or math.isnan(threshold) or threshold < 0:
        raise ValueError(f"performance drop threshold must be a number >= 0, got {threshold!r}")
    return float(threshold)


def performance_verdict(
    auc_at_promotion: float | None,
    auc_now: float | None,
    threshold: float = DEFAULT_PERFORMANCE_DROP_THRESHOLD,
    *,
    has_production: bool = True,
    measurable: bool = True,
    month: str | None = None,
    production_month: str | None = None,
) -> PerformanceVerdict:
    """Retrain when production lost more than `threshold` AUC since it was promoted.

    - no production model: nothing to measure (the first month trains anyway, by drift's bootstrap).
    - production trained on this month or a newer one: its AUC here is no news (a re-ingested
      month, or an old month re-run); nothing to compare.
    - the month cannot measure any model (`measurable` False: no labels yet, or one class only).
    - production failed to score rows other models can score (`auc_now` missing): retrain.
    - no AUC recorded at promotion: nothing to compare against.
    - otherwise retrain when `auc_at_promotion - auc_now > threshold` (equality, up to float
      noise, is not a drop that exceeds it).
    """
    threshold = check_threshold(threshold)
    at_promotion = None if _missing(auc_at_promotion) else float(auc_at_promotion)
    now = None if _missing(auc_now) else float(auc_now)

    def verdict(action: str, reason: str, drop: float | None = None) -> PerformanceVerdict:
        return PerformanceVerdict(action, at_promotion, now, drop, threshold, reason)

    if not has_production:
        return verdict(NO_ACTION, "no production model yet: nothing to measure")
    if month and production_month and production_month >= month:
        return verdict(
            NO_ACTION,
            f"production was trained on {production_month}, not before {month}: its AUC here is no news",
        )
    if not measurable:
        return verdict(NO_ACTION, f"month {month or '?'}: the labelled validation users cannot measure AUC")
    if now is None:
        return verdict(RETRAINING_TRIGGERED, "production failed to score this month's validation users")
    if at_promotion is None:
        return verdict(NO_ACTION, "production's version records no val_auc from its promotion: nothing to compare")
    drop = at_promotion - now
    exceeded = drop - threshold > THRESHOLD_TOLERANCE
    reason = (
        f"production AUC {now:.4f} on this month's validation users, {at_promotion:.4f} at promotion: "
        f"drop {drop:.4f} {'exceeds' if exceeded else 'does not exceed'} the threshold {threshold:.4f}"
    )
    return verdict(RETRAINING_TRIGGERED if exceeded else NO_ACTION, reason, drop)


def retraining_trigger(drift_action: str | None, performance_action: str | None) -> str:
    """What asked for a month's retraining: the drift report, production's performance, both, or
    neither (someone ran it by hand, or the whole-month job ran it whatever the monitors said)."""
    drift = drift_action == RETRAINING_TRIGGERED
    performance = performance_action == RETRAINING_TRIGGERED
    if drift and performance:
        return TRIGGER_BOTH
    if drift:
        return TRIGGER_DRIFT
    if performance:
        return TRIGGER_PERFORMANCE
    return TRIGGER_MANUAL


def _fmt(value: float | None) -> str:
    return "None" if value is None else f"{value:.4f}"


def performance_line(month: str, production_version: str | None, verdict: PerformanceVerdict) -> str:
    """The monitor's log line, the same in the asset and in the sensor."""
    return (
        f"[PERFORMANCE] month={month} prod_v={production_version} auc_at_promotion={_fmt(verdict.auc_at_promotion)} "
        f"auc_now={_fmt(verdict.auc_now)} drop={_fmt(verdict.drop)} -> {verdict.action}"
    )
