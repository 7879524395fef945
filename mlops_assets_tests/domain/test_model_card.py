"""The model card and the parameters per model kind: what MLflow shows is what the estimator got."""

import pytest

from mlops_assets.domain.metrics import format_auc, format_share
from mlops_assets.domain.model import ModelKind, ModelParams, build_pipeline
from mlops_assets.domain.model_card import model_description, version_card
from mlops_assets.domain.schema import FEATURES

TREE_ONLY = {"n_estimators", "max_depth", "min_samples_leaf", "random_state"}


def test_logistic_regression_shows_no_tree_parameters():
    shown = ModelParams(kind="logistic_regression", n_estimators=77, max_depth=3).applicable()
    assert not TREE_ONLY & set(shown)
    assert build_pipeline(ModelParams()).named_steps["model"].get_params()["max_iter"] == shown["max_iter"]


@pytest.mark.parametrize("kind", [ModelKind.random_forest, ModelKind.hist_gradient_boosting])
def test_tree_kinds_show_the_parameters_their_estimator_got(kind):
    params = ModelParams(kind=kind.value, n_estimators=50, max_depth=4, min_samples_leaf=3, random_state=9)
    shown = params.applicable()
    got = build_pipeline(params).named_steps["model"].get_params()
    for name, value in shown.items():
        if name != "kind":
            assert got[name] == value, name
    assert shown["kind"] == kind.value


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        ModelParams(kind="xgboost").applicable()


CARD = {"month": "2024-03", "as_of": "2024-03-31", "version": "4", "train_rows": 700, "validation_rows": 300,
        "params": {"kind": "logistic_regression", "max_iter": 1000}, "val_auc": 0.8199623,
        "metrics": {"log_loss": 0.51149, "brier_score": 0.171, "pr_auc": 0.64}, "data_fingerprint": "48b4"}


def test_a_new_versions_card_says_the_decision_is_pending():
    card = version_card(CARD)
    assert "| val_auc | 0.8200 |" in card and "| log_loss | 0.5115 |" in card
    assert "| decision | pending (promotion_decision) |" in card
    assert "| production AUC, same rows | pending |" in card
    assert all(feature in card for feature in FEATURES)


def test_a_decided_versions_card_says_what_was_decided_and_why():
    decided = CARD | {"production_auc": 0.53829, "production_version": "1", "decision": "promoted (production now v4)",
                      "reason": "clears 0.5383 + 0.01", "drift_share": 0.0714285}
    card = version_card(decided)
    assert "| production AUC, same rows | 0.5383 (v1) |" in card
    assert "| decision | promoted (production now v4) |" in card and "| reason | clears 0.5383 + 0.01 |" in card
    assert "| drift share | 0.071 |" in card
    bootstrap = version_card(CARD | {"production_auc": None, "production_version": None})
    assert "none (no production model yet)" in bootstrap


def test_the_model_description_states_the_policy():
    text = model_description("streamflow_churn", "production", 0.02)
    assert "`@production`" in text and "production_auc + delta" in text and "0.02" in text


def test_rounding_for_people():
    assert format_auc(0.5382848993891485) == "0.5383"
    assert format_share(0.0714285) == "0.071"
    assert format_auc(None) == "None" and format_auc(float("nan"), missing="n/a") == "n/a"
