"""The promotion rule: promote only if `candidate_auc >= production_auc + delta`.

Modelled on MLflow's `MetricThreshold` (`min_absolute_change`, `greater_is_better`), as a plain
function so that every edge case is a one-line unit test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PROMOTE = "promoted"
SKIP = "skipped"
# Tolerance for float noise at exactly the threshold: 0.2 + 0.1 is 0.30000000000000004. The one
# place it lives: the rule and its tests both read it.
THRESHOLD_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PromotionPolicy:
    metric: str = "val_auc"
    min_absolute_change: float = 0.01  # the delta
    greater_is_better: bool = True

    def __post_init__(self):
        if not isinstance(self.min_absolute_change, (int, float)) or math.isnan(self.min_absolute_change):
            raise ValueError(f"delta must be a number, got {self.min_absolute_change!r}")
        if self.min_absolute_change < 0:
            raise ValueError(f"delta must be >= 0, got {self.min_absolute_change}")


@dataclass(frozen=True)
class Decision:
    outcome: str  # PROMOTE or SKIP
    cleared_delta: bool
    reason: str
    candidate_auc: float | None
    production_auc: float | None
    delta: float
    required_auc: float | None

    @property
    def promote(self) -> bool:
        return self.outcome == PROMOTE


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def decide(
    candidate_auc: float | None,
    production_auc: float | None,
    policy: PromotionPolicy = PromotionPolicy(),
    *,
    has_production: bool | None = None,
    month: str | None = None,
    production_month: str | None = None,
) -> Decision:
    """Decide whether the candidate replaces production.

    - candidate AUC missing or NaN: never promote (an unmeasured model is unvetted).
    - no production model: bootstrap, the first valid candidate is promoted.
    - production exists but its AUC is NaN (it failed to score the very rows the candidate
      scored): the candidate replaces it; a broken production model must not block a vetted one.
    - production comes from a newer month than this one: never move production backwards.
    - otherwise the rule: candidate_auc >= production_auc + delta (or <= - delta when lower is
      better).
    """
    delta = float(policy.min_absolute_change)
    has_production = (not _missing(production_auc)) if has_production is None else has_production

    def result(outcome, cleared, reason, required=None):
        return Decision(
            outcome=outcome,
            cleared_delta=cleared,
            reason=reason,
            candidate_auc=None if _missing(candidate_auc) else float(candidate_auc),
            production_auc=None if _missing(production_auc) else float(production_auc),
            delta=delta,
            required_auc=required,
        )

    if _missing(candidate_auc):
        return result(SKIP, False, f"candidate {policy.metric} is undefined: an unmeasured model is never promoted")
    if month and production_month and production_month > month:
        return result(
            SKIP,
            False,
            f"production comes from a newer month ({production_month}) than {month}: "
            "re-running an old month never moves production backwards",
        )
    if not has_production:
        return result(PROMOTE, True, "no production model yet: the first vetted candidate is promoted (bootstrap)")
    if _missing(production_auc):
        return result(
            PROMOTE,
            True,
            f"production {policy.metric} is undefined on the validation rows the candidate scored: "
            "the vetted candidate replaces it",
        )

    sign = 1.0 if policy.greater_is_better else -1.0
    required = float(production_auc) + sign * delta
    # The gain measured against delta (not the candidate against a rounded sum), so that
    # candidate == production with delta below the tolerance is decided the same way every time.
    margin = sign * (float(candidate_auc) - float(production_auc)) - delta
    cleared = margin >= -THRESHOLD_TOLERANCE
    comparison = ">=" if policy.greater_is_better else "<="
    verdict = "clears" if cleared else "does not clear"
    reason = (
        f"candidate {policy.metric}={candidate_auc:.4f} {verdict} production {production_auc:.4f} "
        f"{'+' if sign > 0 else '-'} delta {delta:.4f} (needs {comparison} {required:.4f})"
    )
    return result(PROMOTE if cleared else SKIP, cleared, reason, required)
