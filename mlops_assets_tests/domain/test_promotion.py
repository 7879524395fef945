import math

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
