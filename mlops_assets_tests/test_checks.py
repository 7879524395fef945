"""The check functions on hand-made data: their results name the month and the file to fix, and
the snapshot's quality check warns without blocking."""

from __future__ import annotations

import numpy as np
import pandas as pd
from dagster import AssetCheckSeverity

from mlops_assets.checks import SNAPSHOT_QUALITY, snapshot_quality, training_data_problems, training_data_sanity
from mlops_assets.domain.quality import CONSTANT_COLUMN, EMPTY_COLUMN, QualityFinding
from mlops_assets.domain.schema import COLUMN_KINDS, ENTITY_KEY, FEATURES, LABEL, SPLIT


def dataset(n=40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    columns = {ENTITY_KEY: [f"{i:04d}-ABCDE" for i in range(n)]}
    for feature in FEATURES:
        kind = COLUMN_KINDS[feature]
        if kind == "str":
            columns[feature] = rng.choice(["a", "b"], n)
        elif kind == "bool":
            columns[feature] = pd.array(rng.random(n) < 0.5, dtype="boolean")
        else:
            columns[feature] = rng.integers(0, 5, n).astype(np.int64 if kind == "int" else np.float64)
    columns[LABEL] = np.tile([0, 1], n // 2)
    columns[SPLIT] = np.repeat(["train", "validation"], [n - n // 4, n // 4])
    return pd.DataFrame(columns)


def test_sane_data_passes_and_says_which_month():
    result = training_data_sanity(dataset(), "2024-03")
    assert result.passed and result.description == "month 2024-03: training data is sane"


def test_a_feature_missing_for_every_user_names_month_file_and_feature():
    data = dataset().assign(watch_hours_30d=np.nan, ticket_avg_resolution_hrs_90d=np.nan, skips_7d=np.nan)
    result = training_data_sanity(data, "2024-03")
    assert not result.passed and result.severity == AssetCheckSeverity.ERROR
    assert result.description.startswith("month 2024-03: ")
    assert (
        "usage_agg_30d.csv feature(s) watch_hours_30d, skips_7d; support_agg_90d.csv feature(s) "
        "ticket_avg_resolution_hrs_90d missing for every user"
    ) in result.description


def test_one_class_labels_name_labels_csv():
    problems = training_data_problems(dataset().assign(**{LABEL: 0}))
    assert problems == [
        "labels.csv: train rows hold one class only (0): AUC is undefined",
        "labels.csv: validation rows hold one class only (0): AUC is undefined",
    ]


def test_negative_values_name_their_file_and_column():
    data = dataset()
    data.loc[0, "failed_payments_90d"] = -1
    assert training_data_problems(data) == ["payments_agg_90d.csv column failed_payments_90d holds negative values"]


def test_snapshot_quality_warns_one_line_per_finding_and_counts_kinds():
    findings = [
        QualityFinding(CONSTANT_COLUMN, "usage_agg_30d.csv", "avg_session_mins_7d", "month 2024-03: a"),
        QualityFinding(EMPTY_COLUMN, "support_agg_90d.csv", "ticket_avg_resolution_hrs_90d", "month 2024-03: b"),
    ]
    result = snapshot_quality(findings)
    assert result.check_name == SNAPSHOT_QUALITY and not result.passed
    assert result.severity == AssetCheckSeverity.WARN
    assert result.description == "month 2024-03: a\nmonth 2024-03: b"
    counts = {key: value.value for key, value in result.metadata.items() if key != "findings"}
    assert counts == {"warnings": 2, CONSTANT_COLUMN: 1, EMPTY_COLUMN: 1, "new_category": 0, "identical_file": 0, "ignored_columns": 0}
    clean = snapshot_quality([])
    assert clean.passed and clean.description == "nothing suspicious"


def test_every_kind_of_bad_value_is_named_whatever_the_column_holds():
    """The fast paths (numbers by dtype, booleans by type inference, sorted ids) find what the
    value-by-value checks found: a fraction in a count, text in a number, a non-boolean among
    booleans, a duplicate user, a user without features."""
    data = dataset()
    data["skips_7d"] = data["skips_7d"].astype("float64")
    data.loc[1, "skips_7d"] = 1.5
    data["watch_hours_30d"] = data["watch_hours_30d"].astype(object)
    data.loc[2, "watch_hours_30d"] = "lots"
    boolean = next(c for c in FEATURES if COLUMN_KINDS[c] == "bool")
    data[boolean] = data[boolean].astype(object)
    data.loc[3, boolean] = 1
    data.loc[5, ENTITY_KEY] = data.loc[4, ENTITY_KEY]
    assert data[ENTITY_KEY].is_monotonic_increasing
    data.loc[6, list(FEATURES)] = None
    problems = training_data_problems(data)
    assert problems[0] == "1 duplicate user_id rows (e.g. 0004-ABCDE)"
    assert "1 users got no features from Feast (e.g. 0006-ABCDE)" in problems
    assert "usage_agg_30d.csv column skips_7d holds non-integer values" in problems
    assert "usage_agg_30d.csv column watch_hours_30d holds non-numeric values" in problems
    assert any(p.endswith(f"column {boolean} holds values other than True/False/missing") for p in problems)
    # The same duplicate found when the ids are not sorted.
    assert training_data_problems(data.iloc[::-1])[0] == "1 duplicate user_id rows (e.g. 0004-ABCDE)"


def test_booleans_as_python_objects_with_missing_values_pass():
    data = dataset()
    boolean = next(c for c in FEATURES if COLUMN_KINDS[c] == "bool")
    data[boolean] = pd.Series([True, None, False, "True"] * 10, dtype=object)
    assert training_data_problems(data) == []
