"""DeLong's paired AUC test against references: the O(m*n) definition of DeLong et al. (1988),
a published worked example (Hanley & McNeil 1982), a large seeded paired bootstrap; edge cases."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mlops_assets.domain.significance import ComparisonError, delong, paired_bootstrap, weighted_auc


def _correlated_scores(n, seed, gain=0.1, positive_rate=0.3):
    """Two models sharing most of their signal and noise (so their AUCs are correlated)."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < positive_rate
    shared = rng.normal(size=n)
    candidate = shared + (1.0 + gain) * y + 0.6 * rng.normal(size=n)
    production = shared + 1.0 * y + 0.6 * rng.normal(size=n)
    return y, candidate, production


def _delong_by_definition(y, candidate, production):
    """DeLong, DeLong & Clarke-Pearson (1988), eqs. for V10, V01, S10, S01, written out with the
    full m x n kernel psi(X, Y) = 1 if X > Y, 1/2 if X == Y, 0 otherwise."""
    y = np.asarray(y, dtype=bool)
    v10, v01, aucs = [], [], []
    for scores in (candidate, production):
        x, z = scores[y][:, None], scores[~y][None, :]
        psi = (x > z) + 0.5 * (x == z)
        aucs.append(psi.mean())
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    s10, s01 = np.cov(np.array(v10)), np.cov(np.array(v01))
    s = s10 / y.sum() + s01 / (~y).sum()
    contrast = np.array([1.0, -1.0])
    return aucs[0] - aucs[1], float(np.sqrt(contrast @ s @ contrast))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_delong_equals_the_definition_with_ties(seed):
    y, candidate, production = _correlated_scores(400, seed)
    # Round to create many ties in both models (the midranks must count them half).
    candidate, production = np.round(candidate, 1), np.round(production, 1)
    difference, standard_error = _delong_by_definition(y, candidate, production)
    result = delong(y, candidate, production)
    assert result.difference == pytest.approx(difference, abs=1e-12)
    assert result.standard_error == pytest.approx(standard_error, rel=1e-9)
    assert result.candidate_auc == pytest.approx(roc_auc_score(y, candidate), abs=1e-12)
    assert result.production_auc == pytest.approx(roc_auc_score(y, production), abs=1e-12)


def test_hanley_mcneil_worked_example():
    """Hanley & McNeil (1982), Radiology 143:29-36, Table 1: 109 CT images rated 1-5; 58 truly
    normal (33, 6, 6, 11, 2 per rating), 51 truly abnormal (3, 2, 2, 11, 33). Published: AUC 0.893,
    SE 0.032 (their exponential approximation). A constant production model has AUC 0.5 and no
    variance, so the paired SE is the rated model's own DeLong SE; DeLong's estimator is not
    Hanley & McNeil's, and on these data the two agree to 0.002."""
    ratings = np.concatenate([np.repeat(np.arange(1, 6), [33, 6, 6, 11, 2]), np.repeat(np.arange(1, 6), [3, 2, 2, 11, 33])])
    abnormal = np.concatenate([np.zeros(58), np.ones(51)])
    result = delong(abnormal, ratings, np.zeros(len(ratings)))
    assert round(result.candidate_auc, 3) == 0.893
    assert result.production_auc == 0.5
    assert result.standard_error == pytest.approx(0.032, abs=0.002)
    assert (result.positives, result.negatives) == (51, 58)


def test_delong_standard_error_agrees_with_a_large_seeded_paired_bootstrap():
    # 20,000 rows, 2,000 stratified paired resamples: the bootstrap SD has a Monte Carlo relative
    # error of about 1 / sqrt(2 * 2000) = 1.6%, so 5% is three of those (and the seed is fixed).
    y, candidate, production = _correlated_scores(20_000, seed=7, gain=0.05)
    exact = delong(y, candidate, production)
    boot = paired_bootstrap(y, candidate, production, resamples=2000, seed=11)
    assert boot.difference == pytest.approx(exact.difference, abs=1e-12)
    assert boot.standard_error == pytest.approx(exact.standard_error, rel=0.05)
    assert boot.p_value == pytest.approx(exact.p_value, abs=0.02)


def test_the_bootstrap_is_seeded():
    y, candidate, production = _correlated_scores(500, seed=3)
    first = paired_bootstrap(y, candidate, production, resamples=200, seed=5)
    assert paired_bootstrap(y, candidate, production, resamples=200, seed=5) == first
    assert paired_bootstrap(y, candidate, production, resamples=200, seed=6).standard_error != first.standard_error


def test_interval_and_p_value_are_consistent():
    y, candidate, production = _correlated_scores(2000, seed=4, gain=0.05)
    result = delong(y, candidate, production, ci_level=0.90)
    assert result.ci_low < result.difference < result.ci_high
    assert result.ci_high - result.difference == pytest.approx(1.6448536 * result.standard_error, rel=1e-6)
    # The 90% two-sided interval's lower bound is the one-sided 95% bound: above 0 iff p < 0.05.
    assert (result.ci_low > 0) == (result.p_value < 0.05)
    swapped = delong(y, production, candidate)
    assert swapped.difference == pytest.approx(-result.difference)
    assert swapped.standard_error == pytest.approx(result.standard_error)
    assert swapped.p_value == pytest.approx(1.0 - result.p_value)


def test_identical_scores_differ_by_nothing():
    y, candidate, _ = _correlated_scores(300, seed=5)
    result = delong(y, candidate, candidate)
    assert result.difference == 0.0 and result.standard_error == 0.0
    assert result.p_value == 0.5  # no evidence either way
    assert result.ci_low == result.ci_high == 0.0


def test_perfect_separation_against_a_weaker_model():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    perfect = y + 0.1 * np.arange(8)
    weaker = np.array([0.1, 0.5, 0.3, 0.7, 0.4, 0.6, 0.8, 0.9])
    result = delong(y, perfect, weaker)
    assert result.candidate_auc == 1.0
    assert result.difference == pytest.approx(1.0 - roc_auc_score(y, weaker))
    assert result.standard_error > 0 and 0.0 <= result.p_value < 0.5
    both_perfect = delong(y, perfect, 2 * perfect)
    assert both_perfect.difference == 0.0 and both_perfect.p_value == 0.5
    flipped = delong(y, perfect, -perfect)  # AUC 1 against AUC 0: no variance, a certain gain
    assert flipped.difference == 1.0 and flipped.standard_error == 0.0 and flipped.p_value == 0.0
    assert flipped.ci_high == 1.0


def test_all_tied_scores_have_auc_one_half():
    y = np.array([0, 1, 0, 1, 1])
    result = delong(y, np.ones(5), np.full(5, 0.3))
    assert result.candidate_auc == result.production_auc == 0.5 and result.p_value == 0.5


@pytest.mark.parametrize("labels", [[0, 0, 0], [1, 1, 1]])
def test_one_class_is_a_clear_error(labels):
    with pytest.raises(ComparisonError, match="one class only"):
        delong(labels, [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
    with pytest.raises(ComparisonError, match="one class only"):
        paired_bootstrap(labels, [0.1, 0.2, 0.3], [0.3, 0.2, 0.1], resamples=10)


def test_misaligned_or_non_finite_inputs_are_clear_errors():
    with pytest.raises(ComparisonError, match="aligned"):
        delong([0, 1, 1], [0.1, 0.2], [0.3, 0.2, 0.1])
    with pytest.raises(ComparisonError, match="candidate scores are NaN"):
        delong([0, 1, 1], [0.1, np.nan, 0.3], [0.3, 0.2, 0.1])
    with pytest.raises(ComparisonError, match="0 or 1"):
        delong([0, 2, 1], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])


def test_weighted_auc_matches_sklearn_and_reads_probabilities():
    y, candidate, _ = _correlated_scores(1000, seed=8)
    candidate = np.round(candidate, 1)
    assert weighted_auc(y, candidate) == pytest.approx(roc_auc_score(y, candidate), abs=1e-12)
    weights = np.random.default_rng(1).integers(1, 4, len(y)).astype(float)
    assert weighted_auc(y, candidate, weights) == pytest.approx(roc_auc_score(y, candidate, sample_weight=weights), abs=1e-12)
    # Probabilities as targets: row i is a positive of weight p_i and a negative of weight
    # 1 - p_i; every pair (i, j) with s_i > s_j counts p_i (1 - p_j), a row against itself ties.
    p = np.array([0.9, 0.2, 0.6])
    scores = np.array([3.0, 1.0, 2.0])
    wins = 0.9 * 0.8 + 0.9 * 0.4 + 0.6 * 0.8 + 0.5 * (p * (1 - p)).sum()
    assert weighted_auc(p, scores) == pytest.approx(wins / (p.sum() * (1 - p).sum()))
