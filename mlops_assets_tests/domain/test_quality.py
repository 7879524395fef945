"""Snapshot quality findings on small hand-made and generated snapshots: each kind of warning is
found where it should be, names month, file and column, and a clean month has none."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from mlops_assets import generator
from mlops_assets.domain import quality
from mlops_assets.domain.schema import NET_SERVICES
from mlops_assets.importer import file_digests, read_month

MONTH, PREVIOUS = "2024-03", "2024-02"


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality")
    frames = generator.generate_month_frames(n_users=300, scenario=("baseline", "quiet"), first_month=PREVIOUS, seed=4)
    for month, files in frames.items():
        generator.write_month(root / month, files)
    return root


@pytest.fixture
def month(landing, tmp_path):
    return shutil.copytree(landing / MONTH, tmp_path / MONTH)


def findings_for(folder, previous_folder=None, seen=None):
    snapshot = read_month(folder, MONTH)
    return quality.quality_findings(
        snapshot,
        MONTH,
        digests=file_digests(folder),
        ignored_columns=snapshot.attrs["ignored_columns"],
        previous_month=PREVIOUS,
        previous_digests=file_digests(previous_folder) if previous_folder else None,
        seen_categories=seen,
    )


def rewrite(folder, file_name, change):
    path = folder / file_name
    change(pd.read_csv(path, dtype=str, keep_default_na=False)).to_csv(path, index=False)


def test_a_generated_month_has_nothing_suspicious(landing):
    assert findings_for(landing / MONTH, landing / PREVIOUS) == []


def test_constant_column_is_named_with_its_value_and_file(month):
    rewrite(month, "usage_agg_30d.csv", lambda t: t.assign(avg_session_mins_7d="12.50"))
    (finding,) = findings_for(month)
    assert finding.kind == quality.CONSTANT_COLUMN
    assert (finding.file, finding.subject) == ("usage_agg_30d.csv", "avg_session_mins_7d")
    assert finding.message == "month 2024-03: usage_agg_30d.csv column avg_session_mins_7d has one value (12.5) for every user (300 users)"


def test_empty_column_is_named_and_not_also_constant(month):
    rewrite(month, "support_agg_90d.csv", lambda t: t.assign(ticket_avg_resolution_hrs_90d=""))
    (finding,) = findings_for(month)
    assert finding.kind == quality.EMPTY_COLUMN
    assert finding.message == "month 2024-03: support_agg_90d.csv column ticket_avg_resolution_hrs_90d is empty for every user (300 users)"


def test_all_blank_labels_are_an_empty_column(month):
    rewrite(month, "labels.csv", lambda t: t.assign(churn_label=""))
    assert [(f.kind, f.file, f.subject) for f in findings_for(month)] == [(quality.EMPTY_COLUMN, "labels.csv", "churn_label")]


def test_a_column_with_one_value_and_some_missing_is_not_constant():
    snapshot = pd.DataFrame({"user_id": ["a", "b"], "watch_hours_30d": [1.0, np.nan]})
    assert quality.column_findings(snapshot, MONTH) == []


def test_new_categories_are_counted_per_value_and_seen_values_are_not_new(month):
    rewrite(month, "subscriptions.csv", lambda t: t.assign(net_service=["Satellite"] * 7 + ["5G"] * 3 + list(t["net_service"][10:])))
    (finding,) = findings_for(month)
    assert finding.kind == quality.NEW_CATEGORY and finding.subject == "net_service"
    assert finding.message == (
        "month 2024-03: subscriptions.csv column net_service has 2 value(s) never seen before: "
        "'Satellite' (7 users), '5G' (3 users)"
    )
    # Seen in an earlier month: no longer news.
    assert findings_for(month, seen={"net_service": ["Satellite", "5G"]}) == []
    snapshot = read_month(month, MONTH)
    assert quality.category_values(snapshot)["net_service"] == sorted({"Satellite", "5G", *NET_SERVICES})


def test_byte_identical_files_are_named(landing, month):
    for name in ("users.csv", "payments_agg_90d.csv"):
        shutil.copyfile(landing / PREVIOUS / name, month / name)
    # users.csv of last month with this month's subscriptions would not join: keep users, make
    # subscriptions match the old users, as a stale extract of both files would.
    shutil.copyfile(landing / PREVIOUS / "subscriptions.csv", month / "subscriptions.csv")
    found = [f for f in findings_for(month, landing / PREVIOUS) if f.kind == quality.IDENTICAL_FILE]
    assert [f.file for f in found] == ["users.csv", "subscriptions.csv", "payments_agg_90d.csv"]
    assert found[0].message.startswith("month 2024-03: users.csv is byte-identical to month 2024-02's (sha256 ")
    assert findings_for(landing / MONTH, None) == []  # no previous import: nothing to compare


def test_ignored_columns_are_listed_by_file(month):
    rewrite(month, "subscriptions.csv", lambda t: t.assign(promo_code="X", region="EU"))
    rewrite(month, "labels.csv", lambda t: t.assign(source="crm"))
    found = findings_for(month)
    assert [(f.kind, f.file, f.subject) for f in found] == [
        (quality.IGNORED_COLUMNS, "subscriptions.csv", "promo_code, region"),
        (quality.IGNORED_COLUMNS, "labels.csv", "source"),
    ]
    assert found[0].message == "month 2024-03: subscriptions.csv has extra column(s) promo_code, region, ignored"


@pytest.mark.parametrize(
    "constant, varied",
    [
        (pd.array([True] * 3, dtype="boolean"), pd.array([True, False, True], dtype="boolean")),
        (pd.array([4, 4, 4], dtype="Int64"), pd.array([4, 5, 4], dtype="Int64")),
        (pd.to_datetime(["2024-01-01"] * 3), pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"])),
        (np.array([0.5] * 3), np.array([0.5, 0.25, 0.5])),
        (np.array(["a"] * 3, dtype=object), np.array(["a", "b", "a"], dtype=object)),
    ],
)
def test_one_value_is_found_whatever_the_column_type(constant, varied):
    users = ["a", "b", "c"]
    (finding,) = quality.column_findings(pd.DataFrame({"user_id": users, "monthly_fee": constant}), MONTH)
    assert finding.kind == quality.CONSTANT_COLUMN and finding.subject == "monthly_fee"
    assert quality.column_findings(pd.DataFrame({"user_id": users, "monthly_fee": varied}), MONTH) == []
