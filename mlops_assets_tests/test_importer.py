"""The importer: a good month round-trips from the generator, and every bad delivery is
refused with a message that names the month, the file and the problem."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_assets import generator
from mlops_assets.domain import schema
from mlops_assets.importer import (
    SNAPSHOT_COLUMNS,
    SNAPSHOT_SCHEMA,
    SnapshotError,
    delivery_hashes,
    file_digests,
    fingerprint,
    parse_column,
    read_month,
    ready_months,
)

MONTH = "2024-03"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict[str, pd.DataFrame]]:
    """A good landing month (the generator's 2024-03) and the frames it was written from."""
    root = tmp_path_factory.mktemp("landing")
    frames = generator.generate_month_frames(n_users=400, scenario=("baseline", "quiet"), first_month="2024-02", seed=3)
    generator.write_month(root / MONTH, frames[MONTH])
    return root / MONTH, frames[MONTH]


@pytest.fixture()
def month(generated, tmp_path) -> Path:
    """A private copy of the good month, free to break."""
    return Path(shutil.copytree(generated[0], tmp_path / MONTH))


def edit(folder: Path, file_name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """Rewrite one CSV through `change`, keeping every value as the text it was."""
    path = folder / file_name
    texts = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(texts).to_csv(path, index=False)


def set_value(column: str, row: int, value: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(texts: pd.DataFrame) -> pd.DataFrame:
        texts.loc[row, column] = value
        return texts

    return change


def refused(folder: Path, *fragments: str) -> str:
    with pytest.raises(SnapshotError) as caught:
        read_month(folder, MONTH)
    message = str(caught.value)
    for fragment in (f"month {MONTH}",) + fragments:
        assert fragment in message, message
    return message


# --- the good month ----------------------------------------------------------------------


def test_good_month_round_trips_the_generator_frames(generated):
    folder, frames = generated
    snapshot = read_month(folder, MONTH)
    assert list(snapshot.columns) == list(SNAPSHOT_COLUMNS)
    assert snapshot["user_id"].is_monotonic_increasing and snapshot["user_id"].is_unique
    assert len(snapshot) == len(frames["users.csv"])
    indexed = snapshot.set_index("user_id")
    for file_name, frame in frames.items():
        expected = frame.set_index("user_id").loc[indexed.index]
        for column in expected.columns:
            actual = indexed[column]
            if column == schema.LABEL:
                assert str(actual.dtype) == "Int64"  # written True/False, kept as nullable 0/1
                expected_column = expected[column].astype("Int64")
                pd.testing.assert_series_equal(actual, expected_column, check_names=False, obj=f"{file_name}:{column}")
                continue
            pd.testing.assert_series_equal(actual, expected[column], check_names=False, obj=f"{file_name}:{column}")
    assert (snapshot["as_of"] == pd.Timestamp("2024-03-31")).all()
    assert str(snapshot["as_of"].dtype) == "datetime64[ns]"
    assert snapshot.attrs["unknown_label_users"] == 0
    # Missing booleans stay missing: never True, never False.
    no_net = snapshot["net_service"] == "No"
    assert no_net.any()
    assert (snapshot["plan_stream_tv"].isna() == no_net).all()
    assert (snapshot["plan_stream_movies"].isna() == no_net).all()
    SNAPSHOT_SCHEMA.validate(snapshot)


def test_column_order_may_differ_and_extra_columns_are_ignored(month, generated):
    edit(month, "subscriptions.csv", lambda t: t[list(reversed(t.columns))].assign(discount_code="X1", promo="P"))
    edit(month, "users.csv", lambda t: t.sample(frac=1.0, random_state=1))  # row order too
    snapshot = read_month(month, MONTH)
    pd.testing.assert_frame_equal(snapshot, read_month(generated[0], MONTH))
    assert snapshot.attrs["ignored_columns"] == {"subscriptions.csv": ["discount_code", "promo"]}
    assert read_month(generated[0], MONTH).attrs["ignored_columns"] == {}


def test_users_absent_from_aggregates_get_zero_counts_and_unknown_measures(month):
    edit(month, "support_agg_90d.csv", lambda t: t.iloc[1:])
    edit(month, "usage_agg_30d.csv", lambda t: t.iloc[1:])
    edit(month, "labels.csv", lambda t: t.iloc[1:])
    first = pd.read_csv(month / "users.csv", dtype=str)["user_id"][0]
    row = read_month(month, MONTH).set_index("user_id").loc[first]
    assert row["support_tickets_90d"] == 0 and row["skips_7d"] == 0
    assert np.isnan(row["ticket_avg_resolution_hrs_90d"]) and np.isnan(row["watch_hours_30d"])
    assert row["churn_label"] is pd.NA


def test_labels_for_unknown_users_are_dropped_and_counted(month):
    extra = pd.DataFrame({"user_id": ["0000-AAAAA", "0000-AAAAB"], "churn_label": ["1", "0"]})
    edit(month, "labels.csv", lambda t: pd.concat([t, extra], ignore_index=True))
    snapshot = read_month(month, MONTH)
    assert snapshot.attrs["unknown_label_users"] == 2
    assert "0000-AAAAA" not in set(snapshot["user_id"])


def test_booleans_are_case_insensitive(month):
    edit(month, "users.csv", set_value("has_family", 0, "TRUE"))
    edit(month, "users.csv", set_value("has_dependents", 0, "false"))
    user = pd.read_csv(month / "users.csv", dtype=str)["user_id"][0]
    row = read_month(month, MONTH).set_index("user_id").loc[user]
    assert row["has_family"] == True and row["has_dependents"] == False  # noqa: E712


# --- bad deliveries --------------------------------------------------------------------------


def test_missing_folder_names_the_path_and_the_six_files(tmp_path):
    with pytest.raises(SnapshotError) as caught:
        read_month(tmp_path / "nowhere", MONTH)
    message = str(caught.value)
    assert f"month {MONTH}" in message and str(tmp_path / "nowhere") in message
    assert all(name in message for name in schema.FILES)


def test_missing_file(month):
    (month / "usage_agg_30d.csv").unlink()
    refused(month, "missing file(s) usage_agg_30d.csv")


def test_missing_column(month):
    edit(month, "subscriptions.csv", lambda t: t.drop(columns="monthly_fee"))
    refused(month, "subscriptions.csv is missing required column(s) monthly_fee")


@pytest.mark.parametrize("value", ["yes", "1", "T", "True "])
def test_non_boolean_in_a_bool_column(month, value):
    edit(month, "subscriptions.csv", set_value("paperless_billing", 2, value))
    refused(month, "subscriptions.csv column paperless_billing has non-boolean value(s)", repr(value), "(row 3)")


def test_text_in_monthly_fee(month):
    edit(month, "subscriptions.csv", set_value("monthly_fee", 3, "abc"))
    edit(month, "subscriptions.csv", set_value("monthly_fee", 8, "abc"))
    refused(month, "subscriptions.csv column monthly_fee has non-numeric value(s) 'abc' (rows 4, 9)")


def test_negative_fee(month):
    edit(month, "subscriptions.csv", set_value("total_paid", 0, "-5.00"))
    refused(month, "subscriptions.csv column total_paid has negative value(s) '-5.00' (row 1)")


def test_negative_count(month):
    edit(month, "usage_agg_30d.csv", set_value("skips_7d", 5, "-2"))
    refused(month, "usage_agg_30d.csv column skips_7d has negative value(s) '-2' (row 6)")


@pytest.mark.parametrize("value", ["", "2.5", "many"])
def test_bad_count(month, value):
    edit(month, "payments_agg_90d.csv", set_value("failed_payments_90d", 0, value))
    refused(month, "payments_agg_90d.csv column failed_payments_90d has")


@pytest.mark.parametrize("value", ["2", "yes", "1.0", " True", "-1"])
def test_label_other_than_true_false_0_1_is_refused_naming_values_and_rows(month, value):
    edit(month, "labels.csv", set_value("churn_label", 4, value))
    edit(month, "labels.csv", set_value("churn_label", 6, value))
    refused(month, f"labels.csv column churn_label has label value(s) other than True/False or 0/1 {value!r} (rows 5, 7)")


LABEL_SPELLINGS = {1: ["True", "true", "TRUE", "1"], 0: ["False", "false", "FALSE", "0"]}


@given(st.lists(st.one_of(st.none(), st.tuples(st.sampled_from([0, 1]), st.integers(0, 3))), min_size=1, max_size=50))
def test_label_parser_reads_true_false_and_0_1_and_keeps_blank_missing(cells):
    texts = pd.Series(["" if c is None else LABEL_SPELLINGS[c[0]][c[1]] for c in cells], dtype=object)
    parsed = parse_column(texts, "label", schema.LABEL)
    assert str(parsed.dtype) == "Int64"
    assert parsed.isna().tolist() == [c is None for c in cells]
    assert parsed.dropna().tolist() == [c[0] for c in cells if c is not None]


@pytest.mark.parametrize("spelling", [{"1": "True", "0": "False"}, {"True": "1", "False": "0"}])
def test_both_label_spellings_give_the_same_snapshot(generated, month, spelling):
    edit(month, "labels.csv", lambda t: t.assign(churn_label=t["churn_label"].replace(spelling)))
    respelled = read_month(month, MONTH)
    pd.testing.assert_frame_equal(respelled, read_month(generated[0], MONTH))


def test_blank_labels_are_unlabelled_users_counted_apart_from_missing_rows(month):
    edit(month, "labels.csv", set_value("churn_label", 0, ""))
    edit(month, "labels.csv", set_value("churn_label", 3, ""))
    edit(month, "labels.csv", lambda t: t.drop(index=[5]))
    users = pd.read_csv(month / "users.csv", dtype=str)["user_id"]
    snapshot = read_month(month, MONTH).set_index("user_id")
    assert snapshot.loc[users[[0, 3, 5]], "churn_label"].isna().all()
    assert snapshot["churn_label"].notna().sum() == len(snapshot) - 3
    assert snapshot.attrs["blank_labels"] == 2
    assert snapshot.attrs["users_without_label_row"] == 1


def test_bad_date(month):
    edit(month, "users.csv", set_value("signup_date", 0, "03/01/2024"))
    refused(month, "users.csv column signup_date has non-date value(s) '03/01/2024'")


def test_headers_only_file(month):
    edit(month, "labels.csv", lambda t: t.iloc[0:0])
    refused(month, "labels.csv has a header but no rows")


def test_empty_file(month):
    (month / "support_agg_90d.csv").write_text("")
    refused(month, "support_agg_90d.csv is empty")


def test_duplicate_user_id(month):
    edit(month, "usage_agg_30d.csv", lambda t: pd.concat([t, t.iloc[[7]]], ignore_index=True))
    duplicate = pd.read_csv(month / "usage_agg_30d.csv", dtype=str)["user_id"][7]
    refused(month, "usage_agg_30d.csv has duplicate user_id(s)", repr(duplicate), "(rows 8, 401)")


def test_empty_user_id(month):
    edit(month, "users.csv", set_value("user_id", 0, ""))
    refused(month, "users.csv column user_id has empty value(s) (row 1)")


def test_subscription_missing_for_a_user(month):
    user = pd.read_csv(month / "subscriptions.csv", dtype=str)["user_id"][10]
    edit(month, "subscriptions.csv", lambda t: t.drop(index=10))
    refused(month, "subscriptions.csv has no row for 1 user(s) of users.csv", repr(user))


def test_subscription_for_an_unknown_user(month):
    stranger = pd.read_csv(month / "subscriptions.csv", dtype=str).iloc[[0]].assign(user_id="0000-ZZZZZ")
    edit(month, "subscriptions.csv", lambda t: pd.concat([t, stranger], ignore_index=True))
    refused(month, "subscriptions.csv has 1 row(s) for user(s) not in users.csv", "'0000-ZZZZZ'")


def test_unknown_contract_type_fails_the_snapshot_schema(month):
    edit(month, "subscriptions.csv", set_value("contract_type", 0, "Weekly"))
    refused(month, "subscriptions.csv column contract_type", "isin", "'Weekly'")


def test_malformed_user_id_fails_the_snapshot_schema(month):
    for file_name in schema.FILES:
        edit(month, file_name, set_value("user_id", 0, "abc-123"))
    refused(month, "users.csv column user_id", "str_matches", "'abc-123'")


def test_bad_month_key(generated):
    with pytest.raises(SnapshotError, match="month 2024-13"):
        read_month(generated[0], "2024-13")


# --- landing: which months are ready, and did they change ---------------------------------------


def test_ready_months_skips_half_copied_and_badly_named_folders(generated, tmp_path):
    good = generated[0]
    for name in ("2024-01", "2024-02-29", "2024-04", "2024-13", "2024-05-30", "notes", "2024-06.tmp"):
        shutil.copytree(good, tmp_path / name)
    for name in list(schema.FILES)[3:]:
        (tmp_path / "2024-04" / name).unlink()  # half copied
    (tmp_path / "2024-07").write_text("a file, not a folder")
    ready = ready_months(tmp_path)
    assert ready == {"2024-01": tmp_path / "2024-01", "2024-02": tmp_path / "2024-02-29"}
    assert ready_months(tmp_path / "missing") == {}


def test_ready_months_refuses_two_folders_for_one_month(generated, tmp_path):
    shutil.copytree(generated[0], tmp_path / "2024-02")
    shutil.copytree(generated[0], tmp_path / "2024-02-29")
    with pytest.raises(SnapshotError, match="month 2024-02: two landing folders"):
        ready_months(tmp_path)


def test_fingerprint_follows_the_content(generated, month):
    assert fingerprint(month) == fingerprint(generated[0])  # same bytes, other place
    before = fingerprint(month)
    edit(month, "labels.csv", lambda t: t.assign(churn_label=t["churn_label"].map({"False": "True", "True": "False"})))
    assert fingerprint(month) != before
    assert len(before) == 64 and int(before, 16) >= 0


def test_one_pass_hashes_are_the_fingerprint_and_the_file_digests(month):
    import hashlib

    whole, each = hashlib.sha256(), {}
    for name in schema.REQUIRED_FILES:  # the definitions, byte by byte
        data = (month / name).read_bytes()
        whole.update(f"{name}\0{len(data)}\0".encode() + data)
        each[name] = hashlib.sha256(data).hexdigest()
    assert delivery_hashes(month) == (whole.hexdigest(), each)
    assert file_digests(month) == each
    assert fingerprint(month) == whole.hexdigest()
    (month / "support_agg_90d.csv").unlink()
    with pytest.raises(SnapshotError, match="support_agg_90d.csv is missing"):
        delivery_hashes(month)


# --- the parsers, on generated values -----------------------------------------------------------

SPELLINGS = {True: ["True", "true", "TRUE", "tRuE"], False: ["False", "false", "FALSE"]}


@given(st.lists(st.one_of(st.none(), st.tuples(st.booleans(), st.integers(0, 3))), min_size=1, max_size=50))
def test_bool_parser_reads_any_case_and_keeps_missing_missing(cells):
    texts = pd.Series(["" if c is None else SPELLINGS[c[0]][c[1] % len(SPELLINGS[c[0]])] for c in cells], dtype=object)
    parsed = parse_column(texts, "bool", "flag")
    assert str(parsed.dtype) == "boolean"
    assert parsed.isna().tolist() == [c is None for c in cells]
    assert [bool(v) for v, c in zip(parsed, cells) if c is not None] == [c[0] for c in cells if c is not None]


@given(st.lists(st.text(max_size=6), min_size=1, max_size=20))
def test_bool_parser_refuses_anything_else(texts):
    allowed = {"", "true", "false"}
    parse = lambda: parse_column(pd.Series(texts, dtype=object), "bool", "flag")  # noqa: E731
    if all(t.lower() in allowed for t in texts):
        parse()
    else:
        with pytest.raises(ValueError, match="column flag has non-boolean value"):
            parse()


@given(st.lists(st.integers(0, 2**53), min_size=1, max_size=50))
def test_int_parser_reads_non_negative_integers(numbers):
    parsed = parse_column(pd.Series([str(n) for n in numbers], dtype=object), "int", "count")
    assert parsed.dtype == np.int64
    assert parsed.tolist() == numbers


@given(st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=20).filter(lambda ns: min(ns) < 0))
def test_int_parser_refuses_negative_numbers(numbers):
    with pytest.raises(ValueError, match="column count has negative value"):
        parse_column(pd.Series([str(n) for n in numbers], dtype=object), "int", "count")


# Whole months of generated rows: any column order, any extra columns, any subset of users absent
# from the aggregate files, any booleans blanked: the snapshot always holds exactly what was written.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    n_users=st.integers(1, 30),
    shuffle=st.booleans(),
    extra=st.lists(st.sampled_from(["note", "promo", "x_1"]), unique=True, max_size=3),
    drop_fraction=st.floats(0.0, 1.0),
    blank_fraction=st.floats(0.0, 1.0),
)
def test_generated_rows_round_trip(tmp_path_factory, seed, n_users, shuffle, extra, drop_fraction, blank_fraction):
    folder = tmp_path_factory.mktemp("rows") / MONTH
    frames = generator.generate_month_frames(n_users=n_users, scenario=("baseline",), first_month=MONTH, seed=seed)[MONTH]
    rng = np.random.default_rng(seed)
    written = {name: frame.copy() for name, frame in frames.items()}
    dropped = rng.random(n_users) < drop_fraction
    dropped[0] = False  # a headers-only aggregate file is refused as a broken extract (tested above)
    written["payments_agg_90d.csv"] = written["payments_agg_90d.csv"][~dropped]
    blanked = rng.random(n_users) < blank_fraction
    written["users.csv"].loc[blanked, "has_family"] = pd.NA
    for name, frame in written.items():
        for column in extra:
            frame[column] = "ignored"
        if shuffle:
            frame = frame[list(reversed(frame.columns))]
        written[name] = frame
    generator.write_month(folder, written)

    snapshot = read_month(folder, MONTH).set_index("user_id")
    users = frames["users.csv"].set_index("user_id")
    assert sorted(snapshot.index) == sorted(users.index)
    assert not set(extra) & set(snapshot.columns)
    payments = frames["payments_agg_90d.csv"].set_index("user_id")["failed_payments_90d"]
    expected_payments = payments.where(~pd.Series(dropped, index=payments.index), 0)
    assert (snapshot["failed_payments_90d"] == expected_payments.reindex(snapshot.index)).all()
    family = snapshot["has_family"]
    blanked_ids = set(users.index[blanked])
    assert set(family[family.isna()].index) == blanked_ids
    kept = users.index[~blanked]
    assert (family.loc[kept].astype(bool) == users.loc[kept, "has_family"].astype(bool)).all()
