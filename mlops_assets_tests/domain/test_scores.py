"""The pure scoring logic: ranks, risk bands, band changes, and which version scores a month."""

import numpy as np
import pandas as pd
import pytest

from mlops_assets.domain.scores import (
    HIGH,
    LOW,
    MEDIUM,
    SCORE_COLUMNS,
    DecisionRecord,
    RiskBands,
    band_changes,
    score_deciles,
    score_table,
    top_users,
    users_per_band,
    version_for_month,
)


def test_table_ranks_highest_risk_first_and_breaks_ties_by_user():
    table = score_table(["c", "a", "b", "d"], [0.2, 0.9, 0.2, 0.6], model_version="3", as_of="2024-02-29")
    assert list(table.columns) == list(SCORE_COLUMNS)
    assert table["user_id"].tolist() == ["a", "d", "b", "c"]
    assert table["rank"].tolist() == [1, 2, 3, 4]
    assert table["risk_band"].tolist() == [HIGH, MEDIUM, LOW, LOW]
    assert set(table["model_version"]) == {"3"} and set(table["as_of"]) == {"2024-02-29"}
    shuffled = score_table(["b", "d", "a", "c"], [0.2, 0.6, 0.9, 0.2], model_version="3", as_of="2024-02-29")
    pd.testing.assert_frame_equal(table, shuffled)  # the input order never matters


def test_band_thresholds_are_inclusive_and_configurable():
    bands = RiskBands(medium_from=0.3, high_from=0.8)
    assert bands.band([0.0, 0.2999, 0.3, 0.7999, 0.8, 1.0]).tolist() == [LOW, LOW, MEDIUM, MEDIUM, HIGH, HIGH]
    assert RiskBands(medium_from=0.5, high_from=0.5).band([0.49, 0.5]).tolist() == [LOW, HIGH]


@pytest.mark.parametrize("medium, high", [(0.8, 0.3), (-0.1, 0.5), (0.2, 1.5), (float("nan"), 0.5)])
def test_bad_bands_are_refused(medium, high):
    with pytest.raises(ValueError, match="risk band"):
        RiskBands(medium_from=medium, high_from=high)


def test_a_nan_probability_is_refused_and_a_user_cannot_be_scored_twice():
    with pytest.raises(ValueError, match="NaN"):
        score_table(["a", "b"], [0.1, float("nan")], "1", "2024-01-31")
    with pytest.raises(ValueError, match="twice"):
        score_table(["a", "a"], [0.1, 0.2], "1", "2024-01-31")


def test_deciles_and_users_per_band():
    p = np.linspace(0.0, 1.0, 101)
    deciles = score_deciles(p)
    assert list(deciles) == [f"p{q}" for q in range(10, 100, 10)]
    assert deciles["p50"] == pytest.approx(0.5) and deciles["p90"] == pytest.approx(0.9)
    assert score_deciles([]) == {}
    table = score_table([f"u{i}" for i in range(101)], p, "1", "2024-01-31")
    per_band = users_per_band(table)
    assert per_band == {LOW: 50, MEDIUM: 25, HIGH: 26}  # [0, 0.5), [0.5, 0.75), [0.75, 1]
    assert sum(per_band.values()) == len(table)


def test_band_changes_count_moves_new_and_gone_users():
    before = score_table(["a", "b", "c", "d"], [0.1, 0.6, 0.9, 0.2], "1", "2024-01-31")
    after = score_table(["a", "b", "c", "e"], [0.8, 0.6, 0.1, 0.5], "1", "2024-02-29")
    changes = band_changes(before, after)
    assert changes.previous_users == 4 and changes.users_in_both == 3
    assert changes.changed_band == 2 and changes.moved_up == 1 and changes.moved_down == 1
    assert changes.new_users == 1 and changes.gone_users == 1
    assert changes.transitions == {"low->high": 1, "high->low": 1}
    assert band_changes(after, after).changed_band == 0


def decisions(*rows):
    return [DecisionRecord(month, decision, version) for month, decision, version in rows]


def test_each_month_scores_with_what_its_decision_left():
    history = decisions(("2024-01", "promoted", "1"), ("2024-03", "promoted", "2"), ("2024-04", "skipped", "3"))
    assert version_for_month(history, "2024-01").version == "1"
    assert version_for_month(history, "2024-02").version == "1"  # no decision: what January left
    assert version_for_month(history, "2024-02").decision_month == "2024-01"
    assert version_for_month(history, "2024-03").version == "2"
    assert version_for_month(history, "2024-04").version == "2"  # skipped: production stayed
    assert version_for_month(history, "2024-05").version == "2"
    assert version_for_month(history, "2023-12") is None  # before any production model


def test_a_rerun_of_an_old_month_never_scores_with_a_newer_version():
    history = decisions(
        ("2024-01", "promoted", "1"),
        ("2024-02", "promoted", "2"),
        # January re-run after February: skipped, production (v2, from February) stays.
        ("2024-01", "skipped", "3"),
        # February re-run that promotes again: the month's latest promotion counts.
        ("2024-02", "promoted", "4"),
    )
    assert version_for_month(history, "2024-01").version == "1"
    assert version_for_month(history, "2024-02").version == "4"
    assert version_for_month(history, "2024-03").version == "4"
    # The order of the records decides within a month, not the version number.
    assert version_for_month(decisions(("2024-01", "promoted", "7"), ("2024-01", "promoted", "5")), "2024-01").version == "5"


def test_deciles_are_numpys_quantiles_and_top_users_the_lowest_ranks():
    p = np.random.default_rng(3).random(1001)
    assert score_deciles(p) == {f"p{q}": float(np.quantile(p, q / 100)) for q in range(10, 100, 10)}
    table = score_table([f"u{i}" for i in range(1001)], p, "1", "2024-01-31")
    expected = table.sort_values("rank").iloc[:10][["rank", "user_id", "churn_probability", "risk_band"]]
    pd.testing.assert_frame_equal(top_users(table), expected)
    # A table in another order (read back and shuffled) gives the same users.
    pd.testing.assert_frame_equal(top_users(table.sample(frac=1.0, random_state=0)), expected)
