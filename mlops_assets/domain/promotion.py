"""The promotion policy: when a candidate replaces production.

Three kinds (`PolicyKind`), all with the same guards (bootstrap, never backwards, undefined AUCs):
- `delta`: the course's rule, `candidate_auc >= production_auc + delta`, modelled on MLflow's
  `MetricThreshold` (`min_absolute_change`, `greater_is_better`);
- `significant`: the gain is at least delta AND significant at `alpha` (one-sided paired test of
  the two AUCs on the same validation rows, `significance.delong`): the gain must be both large
  enough to matter and larger than the noise of the validation rows;
- `lower_bound`: significant, and the one-sided (1 - alpha) lower confidence bound of the gain
  reaches delta, so the gain is at least delta with confidence 1 - alpha (stricter than
  `significant`).
Plain functions, so that every edge case is a one-line unit test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from mlops_assets.domain.significance import AucComparison

PROMOTE = "promoted"
SKIP = "skipped"
# Tolerance for float noise at exactly the threshold: 0.2 + 0.1 is 0.30000000000000004. The one
# place it lives: the rule and its tests both read it.
THRESHOLD_TOLERANCE = 1e-9


class PolicyKind(str, Enum):
    # Lower-case member names: Dagster's config (the Launchpad) reads an Enum by member name.
    delta = "delta"
    significant = "significant"
    lower_bound = "lower_bound"


DEFAULT_ALPHA = 0.05
# The policy that won the decision simulation (README, Deciding with significance).
DEFAULT_POLICY = PolicyKind.significant


@dataclass(frozen=True)
class PromotionPolicy:
    metric: str = "val_auc"
    min_absolute_change: float = 0.01  # the delta
    greater_is_better: bool = True
    kind: PolicyKind = PolicyKind.delta
    alpha: float = DEFAULT_ALPHA  # one-sided significance level (significant, lower_bound)

    def __post_init__(self):
        if not isinstance(self.min_absolute_change, (int, float)) or math.isnan(self.min_absolute_change):
            raise ValueError(f"delta must be a number, got {self.min_absolute_change!r}")
        if self.min_absolute_change < 0:
            raise ValueError(f"delta must be >= 0, got {self.min_absolute_change}")
        object.__setattr__(self, "kind", PolicyKind(self.kind))  # "significant" -> the enum, or a clear error
        if not isinstance(self.alpha, (int, float)) or not 0.0 < self.alpha < 0.5:
            raise ValueError(f"alpha must be in (0, 0.5), got {self.alpha!r}")

    @property
    def needs_comparison(self) -> bool:
        return self.kind is not PolicyKind.delta

    @property
    def ci_level(self) -> float:
        """The two-sided level whose lower bound is the one-sided (1 - alpha) bound: the interval
        the record shows lies above 0 exactly when the gain is significant at alpha."""
        return 1.0 - 2.0 * self.alpha

    def describe(self) -> str:
        if self.kind is PolicyKind.delta:
            return f"delta (gain >= {self.min_absolute_change:g})"
        if self.kind is PolicyKind.significant:
            return f"significant (gain >= {self.min_absolute_change:g} and one-sided p < {self.alpha:g})"
        return f"lower_bound ({1 - self.alpha:.0%} lower bound of the gain >= {self.min_absolute_change:g})"


@dataclass(frozen=True)
class Decision:
    outcome: str  # PROMOTE or SKIP
    # The candidate passed the promotion policy (the name predates the policies: for `delta` it is
    # the delta rule, for the others the policy's whole condition; the registry tag
    # `promotion.cleared_delta` and the check `production_cleared_delta` read it that way).
    cleared_delta: bool
    reason: str
    candidate_auc: float | None
    production_auc: float | None
    delta: float
    required_auc: float | None
    policy: str = PolicyKind.delta.value
    alpha: float | None = None  # None for `delta`, which ignores it
    gain_reaches_delta: bool | None = None  # the point gain alone, whatever the policy
    comparison: AucComparison | None = None  # the paired comparison the decision saw, if any

    @property
    def promote(self) -> bool:
        return self.outcome == PROMOTE

    @property
    def significant(self) -> bool | None:
        if self.comparison is None or self.alpha is None:
            return None
        return self.comparison.p_value < self.alpha


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def decide(
    candidate_auc: float | None,
    production_auc: float | None,
    policy: PromotionPolicy = PromotionPolicy(),
    *,
    comparison: AucComparison | None = None,
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
    - otherwise the policy. Every kind needs the point gain to reach delta
      (candidate_auc >= production_auc + delta, or <= - delta when lower is better); `significant`
      and `lower_bound` also read `comparison`, the paired test of the two AUCs on the same rows
      (required for them; `delta` records it when given and ignores it).
    """
    delta = float(policy.min_absolute_change)
    has_production = (not _missing(production_auc)) if has_production is None else has_production
    uses_alpha = policy.kind is not PolicyKind.delta

    def result(outcome, cleared, reason, required=None, reaches=None):
        return Decision(
            outcome=outcome,
            cleared_delta=cleared,
            reason=reason,
            candidate_auc=None if _missing(candidate_auc) else float(candidate_auc),
            production_auc=None if _missing(production_auc) else float(production_auc),
            delta=delta,
            required_auc=required,
            policy=policy.kind.value,
            alpha=float(policy.alpha) if uses_alpha else None,
            gain_reaches_delta=reaches,
            comparison=comparison,
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
    reaches = margin >= -THRESHOLD_TOLERANCE
    comparison_text = ">=" if policy.greater_is_better else "<="
    verdict = "clears" if reaches else "does not clear"
    gain_text = (
        f"candidate {policy.metric}={candidate_auc:.4f} {verdict} production {production_auc:.4f} "
        f"{'+' if sign > 0 else '-'} delta {delta:.4f} (needs {comparison_text} {required:.4f})"
    )
    if policy.kind is PolicyKind.delta:
        return result(PROMOTE if reaches else SKIP, reaches, gain_text, required, reaches)

    if comparison is None:
        raise ValueError(f"policy {policy.kind.value} needs the paired comparison of both models on the same rows")
    if not policy.greater_is_better:
        raise ValueError(f"policy {policy.kind.value} tests a gain in AUC: greater must be better")
    significant = comparison.p_value < policy.alpha
    evidence = (
        f"the gain {comparison.difference:+.4f} is {'' if significant else 'not '}significant "
        f"(one-sided p={comparison.p_value:.4f} {'<' if significant else '>='} alpha {policy.alpha:g}; "
        f"{comparison.ci_level:.0%} CI [{comparison.ci_low:+.4f}, {comparison.ci_high:+.4f}])"
    )
    passed = reaches and significant
    if policy.kind is PolicyKind.lower_bound:
        # Significant, and even the pessimistic end of the gain reaches delta (for delta > 0 the
        # second implies the first; with delta 0 it keeps "no gain at all" out).
        from scipy.stats import norm  # here, not at module level: scipy.stats costs 0.6 s at code-location load

        bound = comparison.difference - float(norm.isf(policy.alpha)) * comparison.standard_error
        bound_reaches = bound >= delta - THRESHOLD_TOLERANCE
        passed = passed and bound_reaches
        evidence += (
            f"; its {1 - policy.alpha:.0%} lower bound {bound:+.4f} "
            f"{'reaches' if bound_reaches else 'does not reach'} delta {delta:.4f}"
        )
    why = "promoted: both hold" if passed else "skipped: " + ("the gain is within the noise" if reaches else "the gain is too small")
    return result(PROMOTE if passed else SKIP, passed, f"{gain_text}; {evidence}; {why}", required, reaches)
