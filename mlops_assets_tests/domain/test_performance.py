import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_assets.domain.drift import NO_ACTION, RETRAINING_TRIGGERED
from mlops_assets.domain.performance import (
    DEFAULT_PERFORMANCE_DROP_THRESHOLD,
    TRIGGER_BOTH,
    TRIGGER_DRIFT,
    TRIGGER_MANUAL,
    TRIGGER_PERFORMANCE,
    performance_line,
    performance_verdict,
    retraining_trigger,
)
from mlops_assets.resources import RetrainingPolicy


def test_a_drop_over_the_threshold_retrains():
    v = performance_verdict(0.85, 0.60, 0.03, month="2024-03", production_month="2024-01")
    assert v.action == RETRAINING_TRIGGERED and v.triggered
    assert v.drop == pytest.approx(0.25)
    assert "exceeds" in v.reason


def test_a_small_drop_or_a_gain_takes_no_action():
    assert performance_verdict(0.85, 0.83, 0.03).action == NO_ACTION
    gain = performance_verdict(0.80, 0.84, 0.03)
    assert gain.action == NO_ACTION and gain.drop == pytest.approx(-0.04)


def test_a_drop_equal_to_the_threshold_does_not_exceed_it_despite_float_noise():
    # 0.85 - 0.82 == 0.030000000000000027 in floating point.
    assert 0.85 - 0.82 > 0.03
    assert performance_verdict(0.85, 0.82, 0.03).action == NO_ACTION
    assert performance_verdict(0.85, 0.8199, 0.03).action == RETRAINING_TRIGGERED


def test_no_production_model_has_nothing_to_measure():
    v = performance_verdict(None, None, has_production=False)
    assert v.action == NO_ACTION and "no production" in v.reason


def test_production_from_this_month_or_a_newer_one_is_no_news():
    for production_month in ("2024-03", "2024-04"):
        v = performance_verdict(0.9, 0.5, month="2024-03", production_month=production_month)
        assert v.action == NO_ACTION and "no news" in v.reason


def test_a_month_that_cannot_measure_auc_takes_no_action():
    assert performance_verdict(0.85, None, measurable=False).action == NO_ACTION


def test_production_that_fails_to_score_retrains():
    assert performance_verdict(0.85, None).action == RETRAINING_TRIGGERED
    assert performance_verdict(0.85, float("nan")).action == RETRAINING_TRIGGERED


def test_no_auc_recorded_at_promotion_has_nothing_to_compare():
    v = performance_verdict(None, 0.7)
    assert v.action == NO_ACTION and v.drop is None


def test_the_threshold_must_be_a_non_negative_number():
    for bad in (-0.01, float("nan"), "0.03"):
        with pytest.raises(ValueError, match="threshold"):
            performance_verdict(0.8, 0.7, bad)


def test_the_policy_resource_carries_the_default_threshold():
    policy = RetrainingPolicy()
    assert policy.performance_drop_threshold == DEFAULT_PERFORMANCE_DROP_THRESHOLD == 0.03
    assert policy.performance(0.85, 0.80).triggered
    assert not RetrainingPolicy(performance_drop_threshold=0.1).performance(0.85, 0.80).triggered


@given(
    st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 0.5),
)
def test_retrains_exactly_when_the_drop_exceeds_the_threshold(at_promotion, now, threshold):
    v = performance_verdict(at_promotion, now, threshold)
    assert v.drop == pytest.approx(at_promotion - now)
    if at_promotion - now > threshold + 1e-6:
        assert v.triggered
    if at_promotion - now <= threshold:
        assert not v.triggered


def test_the_log_line_names_month_version_aucs_drop_and_action():
    v = performance_verdict(0.8203, 0.5234, 0.03)
    assert performance_line("2024-02", "1", v) == (
        "[PERFORMANCE] month=2024-02 prod_v=1 auc_at_promotion=0.8203 auc_now=0.5234 drop=0.2969 -> RETRAINING_TRIGGERED"
    )
    none = performance_verdict(None, None, has_production=False)
    assert performance_line("2024-01", None, none).endswith("auc_now=None drop=None -> NO_ACTION")


@pytest.mark.parametrize(
    ("drift", "performance", "trigger"),
    [
        (RETRAINING_TRIGGERED, RETRAINING_TRIGGERED, TRIGGER_BOTH),
        (RETRAINING_TRIGGERED, NO_ACTION, TRIGGER_DRIFT),
        (RETRAINING_TRIGGERED, None, TRIGGER_DRIFT),
        (NO_ACTION, RETRAINING_TRIGGERED, TRIGGER_PERFORMANCE),
        (None, RETRAINING_TRIGGERED, TRIGGER_PERFORMANCE),
        (NO_ACTION, NO_ACTION, TRIGGER_MANUAL),
        (None, None, TRIGGER_MANUAL),
    ],
)
def test_what_asked_for_the_retraining(drift, performance, trigger):
    assert retraining_trigger(drift, performance) == trigger
