"""The importer's typed fast path: for any month it accepts it builds exactly the snapshot the text
parser builds (values, dtypes, order, counts), and it accepts no month the text parser refuses
(those go to the text parser, whose messages test_importer.py pins).
read_month takes the typed path whenever it answers, so test_importer.py runs through it too."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_assets import generator
from mlops_assets.importer import SnapshotError, read_month, read_month_as_text
from mlops_assets.typed_import import read_month_typed

MONTH = "2024-03"


def both(folder: Path) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    return read_month_typed(folder, MONTH), read_month_as_text(folder, MONTH)


def assert_same(typed: pd.DataFrame, text: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(typed, text, check_exact=True)
    assert typed.attrs == text.attrs


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return generator.generate_month_frames(n_users=300, scenario=("baseline", "quiet"), first_month="2024-02", seed=5)[MONTH]


def write(folder: Path, frames: dict[str, pd.DataFrame]) -> Path:
    generator.write_month(folder, frames)
    return folder


def test_a_generated_month_takes_the_typed_path_and_gives_the_text_parsers_snapshot(frames, tmp_path):
    typed, text = both(write(tmp_path / MONTH, frames))
    assert typed is not None
    assert_same(typed, text)


# Files in different user orders, users missing from aggregates and labels, labels for unknown
# users, blank labels and booleans, extra columns, either label spelling: the same snapshot.
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    n_users=st.integers(1, 40),
    reorder=st.lists(st.sampled_from(["users.csv", "subscriptions.csv", "usage_agg_30d.csv", "labels.csv"]), unique=True, max_size=4),
    drop_fraction=st.floats(0.0, 0.9),
    blank_fraction=st.floats(0.0, 1.0),
    strangers=st.integers(0, 3),
    extra=st.booleans(),
    labels_as_digits=st.booleans(),
)
def test_any_valid_month_gives_the_same_snapshot_both_ways(
    tmp_path_factory, seed, n_users, reorder, drop_fraction, blank_fraction, strangers, extra, labels_as_digits
):
    rng = np.random.default_rng(seed)
    written = {
        name: frame.copy()
        for name, frame in generator.generate_month_frames(n_users=n_users, scenario=("baseline",), first_month=MONTH, seed=seed)[MONTH].items()
    }
    for name in ("usage_agg_30d.csv", "labels.csv"):
        keep = rng.random(len(written[name])) >= drop_fraction
        keep[0] = True  # a headers-only file is refused (test_importer)
        written[name] = written[name][keep]
    blanked = rng.random(n_users) < blank_fraction
    written["users.csv"].loc[blanked, "has_family"] = pd.NA
    labels = written["labels.csv"]
    labels.loc[rng.random(len(labels)) < blank_fraction / 2, "churn_label"] = pd.NA
    if labels_as_digits:
        labels["churn_label"] = labels["churn_label"].map({True: "1", False: "0"})
    if strangers:
        labels = pd.concat([labels, pd.DataFrame({"user_id": [f"9999-ZZZZ{chr(65 + i)}" for i in range(strangers)], "churn_label": True})])
    written["labels.csv"] = labels
    for name in reorder:
        written[name] = written[name].sample(frac=1.0, random_state=seed)
    if extra:
        written["usage_agg_30d.csv"]["note"] = "ignored"
    typed, text = both(write(tmp_path_factory.mktemp("month") / MONTH, written))
    assert typed is not None
    assert_same(typed, text)


# Arrow and pandas must read every decimal the same, to the last bit.
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fees=st.lists(st.floats(0.0, 1e12, allow_nan=False, allow_infinity=False), min_size=1, max_size=50))
def test_any_float_text_reads_to_the_same_bits(frames, tmp_path_factory, fees):
    written = {name: frame.copy() for name, frame in frames.items()}
    column = written["subscriptions.csv"]["monthly_fee"].astype(object)
    column.iloc[: len(fees)] = [repr(f) for f in fees]
    written["subscriptions.csv"]["monthly_fee"] = column
    folder = tmp_path_factory.mktemp("fees") / MONTH
    folder.mkdir(parents=True)
    for name, frame in written.items():
        frame.to_csv(folder / name, index=False, na_rep="", date_format="%Y-%m-%d", lineterminator="\n")
    typed, text = both(folder)
    assert typed is not None
    assert_same(typed, text)


BAD = [
    ("users.csv", "user_is_senior", "TRUE"),  # valid, but only the text parser reads other spellings
    ("users.csv", "user_is_senior", "yes"),
    ("users.csv", "user_id", ""),
    ("users.csv", "user_id", "12-AB"),
    ("users.csv", "signup_date", "2024/01/05"),
    ("users.csv", "user_gender", ""),
    ("subscriptions.csv", "monthly_fee", "abc"),
    ("subscriptions.csv", "monthly_fee", "nan"),
    ("subscriptions.csv", "monthly_fee", "inf"),
    ("subscriptions.csv", "monthly_fee", "-1.5"),
    ("subscriptions.csv", "months_active", "-1"),
    ("subscriptions.csv", "months_active", "1.5"),
    ("subscriptions.csv", "months_active", ""),
    ("subscriptions.csv", "months_active", str(2**62 + 1)),
    ("subscriptions.csv", "contract_type", "Weekly"),
    ("usage_agg_30d.csv", "skips_7d", " 3"),
    ("usage_agg_30d.csv", "watch_hours_30d", " 3.5 "),
    ("usage_agg_30d.csv", "watch_hours_30d", "1e400"),
    ("support_agg_90d.csv", "support_tickets_90d", "+4"),
    ("labels.csv", "churn_label", "maybe"),
]


@pytest.mark.parametrize("file_name, column, value", BAD)
def test_the_typed_path_accepts_nothing_the_text_parser_refuses_nor_reads_it_differently(frames, tmp_path, file_name, column, value):
    written = {name: frame.copy() for name, frame in frames.items()}
    cells = written[file_name][column].astype(object)
    cells.iloc[7] = value
    written[file_name][column] = cells
    folder = write(tmp_path / MONTH, written)
    typed = read_month_typed(folder, MONTH)
    try:
        text = read_month_as_text(folder, MONTH)
    except SnapshotError:
        assert typed is None
        return
    if typed is not None:
        assert_same(typed, text)


def test_duplicates_unknown_subscriptions_and_a_spaced_header_go_to_the_text_parser(frames, tmp_path):
    cases = {
        "duplicate": lambda w: w.update({"usage_agg_30d.csv": pd.concat([w["usage_agg_30d.csv"], w["usage_agg_30d.csv"].iloc[:1]])}),
        "stranger": lambda w: w.update({"subscriptions.csv": w["subscriptions.csv"].assign(user_id=lambda f: f["user_id"].where(f.index != 3, "9999-ZZZZZ"))}),
        "spaced": lambda w: w.update({"support_agg_90d.csv": w["support_agg_90d.csv"].rename(columns={"support_tickets_90d": " support_tickets_90d"})}),
    }
    for case, change in cases.items():
        written = {name: frame.copy() for name, frame in frames.items()}
        change(written)
        folder = write(tmp_path / case / MONTH, written)
        assert read_month_typed(folder, MONTH) is None, case
        shutil.rmtree(tmp_path / case)


def test_a_ragged_row_goes_to_the_text_parser(frames, tmp_path):
    folder = write(tmp_path / MONTH, frames)
    with (folder / "payments_agg_90d.csv").open("a") as handle:
        handle.write("0000-ZZZZZ,1,surplus\n")
    assert read_month_typed(folder, MONTH) is None
    with pytest.raises(SnapshotError, match="payments_agg_90d.csv"):
        read_month(folder, MONTH)


def test_the_course_exports_take_the_typed_path_and_give_the_text_parsers_snapshot(tmp_path):
    """The course stack's own layout (month_000/month_001, labels True/False, an extra column, a
    constant column), not our generator's: the fast path reads it, identically."""
    from mlops_assets_tests.course_exports import write_course_months

    for folder in write_course_months(tmp_path):
        typed, text = both(folder)
        assert typed is not None, f"{folder.name} fell back to the text parser"
        assert len(typed) == 7043
        assert_same(typed, text)
