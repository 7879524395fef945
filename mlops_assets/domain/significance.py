"""Is the candidate's AUC gain larger than the noise of the validation rows?

Both models are scored on the *same* validation rows, so their AUCs are correlated and their
difference is a paired quantity. Two estimates of its uncertainty live here:

- `delong` (the one the platform uses): DeLong, DeLong & Clarke-Pearson (1988), "Comparing the
  areas under two or more correlated receiver operating characteristic curves: a nonparametric
  approach", Biometrics 44:837-845, computed with the midrank algorithm of Sun & Xu (2014),
  "Fast implementation of DeLong's algorithm for comparing the areas under correlated receiver
  operating characteristic curves", IEEE Signal Processing Letters 21(11):1389-1393. O(n log n):
  a few rankings of the scores, no resampling, exact and deterministic.
- `paired_bootstrap`: a seeded, stratified paired bootstrap over users (positives and negatives
  resampled separately, both models on the same draw), the way pROC's `roc.test(method =
  "bootstrap")` does it. O(n) per resample after one sort; used as the independent reference for
  DeLong in the tests and in the README's speed/accuracy comparison.

Only numpy and scipy: no framework imports.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

# scipy.stats is imported inside the functions that use it: at module level it cost every
# process that loads the code location 0.6 s (webserver, daemon, each run), most of which never
# compares two models.


class ComparisonError(ValueError):
    """The two models cannot be compared on these rows (one class, mismatched lengths, NaN)."""


@dataclass(frozen=True)
class AucComparison:
    """The paired comparison of two ROC AUCs on the same rows."""

    method: str  # "delong" or "paired_bootstrap"
    candidate_auc: float
    production_auc: float
    difference: float  # candidate - production
    standard_error: float
    ci_level: float  # two-sided confidence level of [ci_low, ci_high]
    ci_low: float
    ci_high: float
    p_value: float  # one-sided: H0 candidate <= production, H1 candidate > production
    positives: int
    negatives: int

    def as_dict(self) -> dict:
        return asdict(self)


def _paired_inputs(y_true, candidate_scores, production_scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=float)
    candidate = np.asarray(candidate_scores, dtype=float)
    production = np.asarray(production_scores, dtype=float)
    if not (y.shape == candidate.shape == production.shape) or y.ndim != 1:
        raise ComparisonError(
            f"labels and both score vectors must be 1-D and aligned on the same rows; got shapes "
            f"{y.shape}, {candidate.shape}, {production.shape}"
        )
    if not np.isin(y, (0.0, 1.0)).all():
        raise ComparisonError("labels must be 0 or 1 with none missing")
    for name, scores in (("candidate", candidate), ("production", production)):
        if not np.isfinite(scores).all():
            raise ComparisonError(f"{int((~np.isfinite(scores)).sum())} {name} scores are NaN or infinite")
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        raise ComparisonError(
            f"the AUC difference is undefined: the {len(y)} rows hold one class only "
            f"({'no positives' if positives == 0 else 'no negatives'})"
        )
    return y.astype(bool), candidate, production


def _one_sided_p(difference: float, standard_error: float) -> float:
    """P(Z >= difference / se) under H0 (no gain). With no variance at all the evidence is the
    difference itself: a gain is certain (0), a loss certainly no gain (1), no difference 0.5."""
    if standard_error > 0.0:
        from scipy.stats import norm

        return float(norm.sf(difference / standard_error))
    return 0.0 if difference > 0 else (1.0 if difference < 0 else 0.5)


def _comparison(method, aucs, standard_error, ci_level, positives, negatives) -> AucComparison:
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level}")
    from scipy.stats import norm

    difference = float(aucs[0] - aucs[1])
    half_width = float(norm.ppf(0.5 + ci_level / 2.0)) * standard_error
    return AucComparison(
        method=method,
        candidate_auc=float(aucs[0]),
        production_auc=float(aucs[1]),
        difference=difference,
        standard_error=standard_error,
        ci_level=float(ci_level),
        # A difference of AUCs lies in [-1, 1], whatever the normal approximation says.
        ci_low=max(-1.0, difference - half_width),
        ci_high=min(1.0, difference + half_width),
        p_value=_one_sided_p(difference, standard_error),
        positives=positives,
        negatives=negatives,
    )


def delong_components(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUCs and DeLong's structural components (placements) of k score vectors on the same rows.

    `scores` is (k, n). Returns (aucs (k,), v10 (k, positives), v01 (k, negatives)): v10[r, i] is
    the share of negatives that positive i outscores under model r (ties count half), v01[r, j] the
    share of positives that outscore negative j. Sun & Xu's midrank algorithm: with tx, ty, tz the
    midranks of a positive among positives, of a negative among negatives and of either among all
    rows, v10 = (tz - tx) / n_neg and v01 = 1 - (tz - ty) / n_pos.
    """
    from scipy.stats import rankdata

    positive = np.asarray(y_true, dtype=bool)
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    m, n = int(positive.sum()), int((~positive).sum())
    tz = rankdata(scores, axis=1)  # "average" = midranks: ties count half
    tx = rankdata(scores[:, positive], axis=1)
    ty = rankdata(scores[:, ~positive], axis=1)
    v10 = (tz[:, positive] - tx) / n
    v01 = 1.0 - (tz[:, ~positive] - ty) / m
    aucs = v10.mean(axis=1)
    return aucs, v10, v01


def delong(y_true, candidate_scores, production_scores, ci_level: float = 0.90) -> AucComparison:
    """DeLong's paired test of candidate AUC > production AUC on the same rows (Sun & Xu's fast form).

    Var(AUC_c - AUC_p) = c' (S10 / m + S01 / n) c with c = (1, -1), S10 and S01 the covariance
    matrices of the two models' placements over positives and negatives.
    """
    positive, candidate, production = _paired_inputs(y_true, candidate_scores, production_scores)
    aucs, v10, v01 = delong_components(positive, np.vstack([candidate, production]))
    m, n = v10.shape[1], v01.shape[1]
    # The variance of the paired difference is the variance of the differences of placements:
    # the same quantity as c' S c, with one pass and no 2x2 matrices.
    d10, d01 = v10[0] - v10[1], v01[0] - v01[1]
    variance = (d10.var(ddof=1) if m > 1 else 0.0) / m + (d01.var(ddof=1) if n > 1 else 0.0) / n
    # Identical score vectors give exactly 0; float cancellation may leave a tiny negative.
    standard_error = math.sqrt(max(float(variance), 0.0))
    return _comparison("delong", aucs, standard_error, ci_level, m, n)


class _SortedScores:
    """One model's scores sorted once, with tie groups, so that the AUC under any row weights is
    one bincount and one cumulative sum (O(n) per bootstrap draw)."""

    def __init__(self, scores: np.ndarray) -> None:
        self.order = np.argsort(scores)  # ties need only be adjacent, not in any order
        ordered = scores[self.order]
        self.group = np.concatenate([[0], np.cumsum(ordered[1:] != ordered[:-1])])
        self.groups = int(self.group[-1]) + 1

    def weighted_auc(self, positive_weights: np.ndarray, negative_weights: np.ndarray) -> float:
        wp, wn = positive_weights[self.order], negative_weights[self.order]
        negatives_in_group = np.bincount(self.group, wn, minlength=self.groups)
        below = np.cumsum(negatives_in_group) - negatives_in_group
        # A positive outscores every negative of a lower group and half of its own group's.
        wins = below[self.group] + 0.5 * negatives_in_group[self.group]
        return float(wp @ wins) / (float(wp.sum()) * float(wn.sum()))


def weighted_auc(y_true, scores, weights=None) -> float:
    """ROC AUC with row weights (ties count half). With probabilities as `y_true` each row counts
    as a positive of weight p and a negative of weight 1 - p: the AUC against the true churn
    probabilities, free of label noise (what the decision simulation measures)."""
    target = np.asarray(y_true, dtype=float)
    row_weights = np.ones_like(target) if weights is None else np.asarray(weights, dtype=float)
    return _SortedScores(np.asarray(scores, dtype=float)).weighted_auc(target * row_weights, (1.0 - target) * row_weights)


def paired_bootstrap(
    y_true,
    candidate_scores,
    production_scores,
    ci_level: float = 0.90,
    resamples: int = 2000,
    seed: int = 0,
) -> AucComparison:
    """A seeded, stratified paired bootstrap of candidate AUC - production AUC over users.

    Each draw resamples positives and negatives with replacement (keeping the class counts, as
    DeLong's variance does) and scores both models on the same draw. The standard error is the
    draws' standard deviation and the interval its normal one, so it is directly comparable with
    DeLong's; the p-value is the normal one as well (a percentile p-value cannot go below
    1 / resamples).
    """
    positive, candidate, production = _paired_inputs(y_true, candidate_scores, production_scores)
    if resamples < 2:
        raise ValueError(f"resamples must be >= 2, got {resamples}")
    rng = np.random.default_rng(seed)
    positive_rows, negative_rows = np.flatnonzero(positive), np.flatnonzero(~positive)
    models = (_SortedScores(candidate), _SortedScores(production))
    aucs = np.array([model.weighted_auc(positive.astype(float), (~positive).astype(float)) for model in models])
    differences = np.empty(resamples)
    for draw in range(resamples):
        wp = np.zeros(len(positive))
        wn = np.zeros(len(positive))
        wp[positive_rows] = np.bincount(rng.integers(0, len(positive_rows), len(positive_rows)), minlength=len(positive_rows))
        wn[negative_rows] = np.bincount(rng.integers(0, len(negative_rows), len(negative_rows)), minlength=len(negative_rows))
        differences[draw] = models[0].weighted_auc(wp, wn) - models[1].weighted_auc(wp, wn)
    standard_error = float(differences.std(ddof=1))
    return _comparison("paired_bootstrap", aucs, standard_error, ci_level, len(positive_rows), len(negative_rows))
