import math

import numpy as np

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_assets.domain.promotion import PROMOTE, SKIP, THRESHOLD_TOLERANCE, PromotionPolicy, decide

POLICY = PromotionPolicy(min_absolute_change=0.01)


def test_candidate_clearly_better_is_promoted():
    d = decide(0.85, 0.80, POLICY)
    assert d.outcome == PROMOTE and d.cleared_delta
    assert d.required_auc == pytest.approx(0.81)


def test_candidate_better_but_inside_delta_is_skipped():
    d = decide(0.805, 0.80, POLICY)
    assert d.outcome == SKIP and not d.cleared_delta
    assert "does not clear" in d.reason


def test_exactly_at_threshold_is_promoted_despite_float_noise():
    # 0.2 + 0.1 == 0.30000000000000004 in floating point; equal to the threshold promotes.
    assert 0.2 + 0.1 != 0.3
    assert decide(0.3, 0.2, PromotionPolicy(min_absolute_change=0.1)).outcome == PROMOTE
    assert decide(0.81, 0.80, POLICY).outcome == PROMOTE


def test_just_below_threshold_is_skipped():
    assert decide(0.8099, 0.80, POLICY).outcome == SKIP


def test_delta_zero_promotes_on_equal_auc_and_skips_on_worse():
    zero = PromotionPolicy(min_absolute_change=0.0)
    assert decide(0.80, 0.80, zero).outcome == PROMOTE
    assert decide(0.7999, 0.80, zero).outcome == SKIP


def test_no_production_bootstraps():
    d = decide(0.70, None, POLICY)
    assert d.outcome == PROMOTE and "bootstrap" in d.reason


def test_nan_production_auc_with_production_present_is_replaced():
    d = decide(0.70, float("nan"), POLICY, has_production=True)
    assert d.outcome == PROMOTE and "undefined" in d.reason
    assert d.production_auc is None


@pytest.mark.parametrize("candidate", [None, float("nan")])
def test_unmeasured_candidate_is_never_promoted(candidate):
    assert decide(candidate, None, POLICY).outcome == SKIP
    assert decide(candidate, 0.5, POLICY).outcome == SKIP


def test_newer_production_month_is_never_moved_backwards():
    d = decide(0.99, 0.60, POLICY, month="2024-02", production_month="2024-04")
    assert d.outcome == SKIP and "backwards" in d.reason
    assert decide(0.99, 0.60, POLICY, month="2024-05", production_month="2024-04").outcome == PROMOTE


def test_lower_is_better_metric():
    loss = PromotionPolicy(metric="log_loss", min_absolute_change=0.01, greater_is_better=False)
    assert decide(0.30, 0.32, loss).outcome == PROMOTE
    assert decide(0.315, 0.32, loss).outcome == SKIP


@pytest.mark.parametrize("bad", [-0.01, float("nan")])
def test_invalid_delta_is_rejected(bad):
    with pytest.raises(ValueError):
        PromotionPolicy(min_absolute_change=bad)


aucs = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
deltas = st.floats(min_value=0.0, max_value=0.5, allow_nan=False)


@given(candidate=aucs, production=aucs, delta=deltas)
def test_rule_property_promote_iff_candidate_clears_delta(candidate, production, delta):
    d = decide(candidate, production, PromotionPolicy(min_absolute_change=delta))
    gain = candidate - production
    # Clearly above the threshold promotes, clearly below skips; within the rule's own float
    # tolerance either answer is right (the rule and this test share THRESHOLD_TOLERANCE).
    if gain >= delta + 2 * THRESHOLD_TOLERANCE:
        assert d.promote
    if gain <= delta - 2 * THRESHOLD_TOLERANCE:
        assert not d.promote
    assert d.promote == d.cleared_delta
    # A promoted model is never worse than production by more than float noise.
    if d.promote:
        assert candidate >= production - THRESHOLD_TOLERANCE
        assert not math.isnan(d.candidate_auc)


@pytest.mark.parametrize("delta", [0.0, 1e-15, 1e-12, 1e-10])
def test_equal_aucs_with_a_delta_below_the_tolerance_promote(delta):
    # The draw that once failed CI: candidate = production = 1.0, delta = 1e-12.
    assert decide(1.0, 1.0, PromotionPolicy(min_absolute_change=delta)).promote
    assert decide(0.7, 0.7, PromotionPolicy(min_absolute_change=delta)).promote


def test_equal_aucs_with_a_delta_above_the_tolerance_skip():
    assert not decide(1.0, 1.0, PromotionPolicy(min_absolute_change=1e-6)).promote


# -- typed policies: delta, significant, lower_bound ----------------------------------------------
from scipy.stats import norm  # noqa: E402

from mlops_assets.domain.promotion import DEFAULT_POLICY, PolicyKind  # noqa: E402
from mlops_assets.domain.significance import AucComparison, delong  # noqa: E402

SIGNIFICANT = PromotionPolicy(min_absolute_change=0.01, kind=PolicyKind.significant, alpha=0.05)
LOWER_BOUND = PromotionPolicy(min_absolute_change=0.01, kind=PolicyKind.lower_bound, alpha=0.05)


def comparison(candidate, production, se, ci_level=0.9):
    """A paired comparison with the given difference and standard error (p from the normal)."""
    difference = candidate - production
    half = norm.ppf(0.5 + ci_level / 2) * se
    p = norm.sf(difference / se) if se > 0 else (0.0 if difference > 0 else 1.0 if difference < 0 else 0.5)
    return AucComparison("delong", candidate, production, difference, se, ci_level, difference - half,
                         difference + half, float(p), 100, 400)


def test_significant_promotes_a_gain_that_is_large_and_beyond_the_noise():
    d = decide(0.85, 0.80, SIGNIFICANT, comparison=comparison(0.85, 0.80, se=0.01))
    assert d.promote and d.cleared_delta and d.gain_reaches_delta and d.significant
    assert d.policy == "significant" and d.alpha == 0.05
    assert "significant" in d.reason and "both hold" in d.reason


def test_significant_skips_a_gain_within_the_noise_that_delta_would_promote():
    noisy = comparison(0.83, 0.80, se=0.02)  # z = 1.5, p = 0.067
    assert decide(0.83, 0.80, POLICY, comparison=noisy).promote
    d = decide(0.83, 0.80, SIGNIFICANT, comparison=noisy)
    assert not d.promote and not d.cleared_delta
    assert d.gain_reaches_delta and d.significant is False
    assert "not significant" in d.reason and "within the noise" in d.reason


def test_significant_skips_a_significant_gain_smaller_than_delta():
    tiny = comparison(0.805, 0.80, se=0.001)  # p ~ 3e-7, but gain 0.005 < delta
    d = decide(0.805, 0.80, SIGNIFICANT, comparison=tiny)
    assert not d.promote and d.significant and not d.gain_reaches_delta
    assert "too small" in d.reason


def test_lower_bound_needs_the_bound_itself_to_reach_delta():
    # gain 0.03, se 0.01: significant (z = 3), and the 95% lower bound 0.0136 reaches 0.01
    assert decide(0.83, 0.80, LOWER_BOUND, comparison=comparison(0.83, 0.80, se=0.01)).promote
    # gain 0.02, se 0.01: significant (z = 2, p = 0.023), lower bound 0.0036 < 0.01
    d = decide(0.82, 0.80, LOWER_BOUND, comparison=comparison(0.82, 0.80, se=0.01))
    assert decide(0.82, 0.80, SIGNIFICANT, comparison=comparison(0.82, 0.80, se=0.01)).promote
    assert not d.promote and "lower bound" in d.reason


@pytest.mark.parametrize("policy", [SIGNIFICANT, LOWER_BOUND])
def test_the_guards_hold_for_every_policy_without_a_comparison(policy):
    assert decide(0.70, None, policy).reason.endswith("(bootstrap)")
    assert decide(0.70, float("nan"), policy, has_production=True).promote
    assert not decide(None, 0.6, policy).promote
    assert not decide(0.99, 0.6, policy, month="2024-02", production_month="2024-04").promote


def test_a_policy_that_tests_significance_refuses_to_decide_without_the_comparison():
    with pytest.raises(ValueError, match="paired comparison"):
        decide(0.85, 0.80, SIGNIFICANT)


def test_delta_records_the_comparison_and_ignores_it():
    noisy = comparison(0.83, 0.80, se=0.05)
    with_it, without = decide(0.83, 0.80, POLICY, comparison=noisy), decide(0.83, 0.80, POLICY)
    assert with_it.promote == without.promote and with_it.reason == without.reason
    assert with_it.comparison is noisy and with_it.alpha is None and with_it.policy == "delta"


def test_policy_kinds_are_typed():
    assert PromotionPolicy(kind="significant").kind is PolicyKind.significant
    assert DEFAULT_POLICY in PolicyKind
    with pytest.raises(ValueError):
        PromotionPolicy(kind="promote_on_tuesdays")
    for bad in (0.0, 0.5, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            PromotionPolicy(kind=PolicyKind.significant, alpha=bad)
    assert PromotionPolicy(alpha=0.05).ci_level == pytest.approx(0.90)


def test_a_real_delong_comparison_drives_the_decision():
    rng = np.random.default_rng(3)
    y = rng.random(300) < 0.3
    production = y + rng.normal(0, 1.0, 300)
    candidate = production + 0.01 * rng.normal(size=300)  # the same model, up to noise
    c = delong(y, candidate, production)
    d = decide(c.candidate_auc, c.production_auc, PromotionPolicy(min_absolute_change=0.0, kind="significant"), comparison=c)
    assert d.promote == (c.difference >= 0 and c.p_value < 0.05)


ses = st.floats(min_value=0.0, max_value=0.1, allow_nan=False)
alphas = st.sampled_from([0.01, 0.05, 0.1, 0.2])


@given(candidate=aucs, production=aucs, delta=deltas, se=ses, alpha=alphas)
def test_policy_property_each_kind_is_at_least_as_strict_as_the_one_before(candidate, production, delta, se, alpha):
    c = comparison(candidate, production, se, ci_level=1 - 2 * alpha)
    kinds = [PromotionPolicy(min_absolute_change=delta, kind=k, alpha=alpha) for k in PolicyKind]
    delta_d, significant_d, lower_d = (decide(candidate, production, p, comparison=c) for p in kinds)
    # lower_bound promotes => significant promotes => delta promotes: no policy ever promotes a
    # candidate whose point gain misses delta.
    assert not significant_d.promote or delta_d.promote
    assert not lower_d.promote or significant_d.promote
    for d in (delta_d, significant_d, lower_d):
        assert d.promote == d.cleared_delta
        if d.promote:
            assert candidate - production >= delta - THRESHOLD_TOLERANCE
    if significant_d.promote:
        assert c.p_value < alpha
