"""The StreamFlow generator: layout, determinism, and the scenario properties the pipeline
relies on (quiet months are quiet, covariate drift moves features, concept drift breaks the
old model), measured on real generated data."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wasserstein_distance
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

from mlops_assets import generator
from mlops_assets.domain import months, schema

N_USERS = 2000
MONTHS = dict(zip(months.month_keys("2024-01", 4), generator.DEMO_SCENARIO))
BASELINE, QUIET, CONCEPT, COVARIATE = MONTHS  # 2024-01 .. 2024-04, in demo order
ID_PATTERN = re.compile(r"^\d{4}-[A-Z]{5}$")


@pytest.fixture(scope="module")
def frames() -> dict[str, dict[str, pd.DataFrame]]:
    return generator.generate_month_frames(n_users=N_USERS, seed=11)


@pytest.fixture(scope="module")
def snapshots(frames) -> dict[str, pd.DataFrame]:
    """One row per user with every column, per month (the generator writes all files in the
    same user order)."""
    joined = {}
    for month_key, files in frames.items():
        parts = [files[name].set_index("user_id") for name in schema.FILES]
        joined[month_key] = pd.concat(parts, axis=1).reset_index()
    return joined


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("months")
    generator.write_months(out, n_users=300, seed=5)
    return out


def read_texts(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# --- determinism ----------------------------------------------------------------------


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def test_same_arguments_give_byte_identical_files(tmp_path, written):
    again = generator.write_months(tmp_path, n_users=300, seed=5)
    assert [p.name for p in again] == list(MONTHS)
    assert tree_bytes(tmp_path) == tree_bytes(written)


def test_another_seed_gives_other_data(tmp_path, written):
    generator.write_months(tmp_path, n_users=300, seed=6)
    other, first = tree_bytes(tmp_path), tree_bytes(written)
    assert other.keys() == first.keys()
    assert all(other[name] != first[name] for name in first)


# --- layout ---------------------------------------------------------------------------


def test_each_month_folder_holds_the_six_files_with_exact_columns(written):
    assert sorted(p.name for p in written.iterdir()) == list(MONTHS)
    for month_key in MONTHS:
        folder = written / month_key
        assert sorted(p.name for p in folder.iterdir()) == sorted(schema.FILES)
        for file_name, columns in schema.FILES.items():
            header = (folder / file_name).read_text().splitlines()[0]
            assert header == ",".join(columns), file_name


def test_frames_are_typed_like_the_csv_columns(frames):
    expected = {"str": "object", "bool": "boolean", "int": "int64", "float": "float64", "label": "boolean", "date": "datetime64[ns]"}
    for files in frames.values():
        for file_name, columns in schema.FILES.items():
            frame = files[file_name]
            assert list(frame.columns) == list(columns)
            assert len(frame) == N_USERS
            for column, kind in columns.items():
                assert str(frame[column].dtype) == expected[kind], (file_name, column)


def test_csv_values_follow_the_contract(written):
    for month_key in MONTHS:
        folder = written / month_key
        users = read_texts(folder / "users.csv")
        subs = read_texts(folder / "subscriptions.csv")
        support = read_texts(folder / "support_agg_90d.csv")
        labels = read_texts(folder / "labels.csv")
        for file_name, columns in schema.FILES.items():
            texts = read_texts(folder / file_name)
            assert texts["user_id"].tolist() == users["user_id"].tolist()
            for column, kind in columns.items():
                values = set(texts[column])
                if kind == "bool":
                    assert values <= {"True", "False", ""}, (file_name, column)
                if kind == "int":
                    assert all(v.isdigit() for v in values), (file_name, column)
        assert users["user_id"].map(lambda u: bool(ID_PATTERN.match(u))).all()
        assert users["user_id"].is_unique
        assert set(users["user_gender"]) <= set(schema.GENDERS)
        assert set(subs["contract_type"]) <= set(schema.CONTRACT_TYPES)
        assert set(subs["net_service"]) <= set(schema.NET_SERVICES)
        assert set(labels["churn_label"]) == {"True", "False"}  # the course's spelling
        signup = pd.to_datetime(users["signup_date"], format="%Y-%m-%d")
        assert signup.max() <= pd.Timestamp(months.as_of_for(month_key))
        for column in ("monthly_fee", "total_paid"):
            assert subs[column].str.fullmatch(r"\d+\.\d\d").all(), column
        # Streaming add-ons are unknown exactly for users without the internet plan.
        no_net = subs["net_service"] == "No"
        for column in ("plan_stream_tv", "plan_stream_movies"):
            assert ((subs[column] == "") == no_net).all(), column
        no_ticket = support["support_tickets_90d"] == "0"
        assert ((support["ticket_avg_resolution_hrs_90d"] == "") == no_ticket).all()


def test_fees_and_payments_add_up(snapshots):
    for month_key in MONTHS:
        snap = snapshots[month_key]
        assert (snap["monthly_fee"] > 0).all()
        assert (snap["total_paid"] >= snap["monthly_fee"] - 0.005).all()
        new = snap["months_active"] == 1
        assert np.allclose(snap.loc[new, "total_paid"], snap.loc[new, "monthly_fee"])


# --- population over time ---------------------------------------------------------------


def test_stayers_persist_and_evolve_and_churners_are_replaced(snapshots):
    keys = list(MONTHS)
    seen = set(snapshots[keys[0]]["user_id"])
    for previous_key, key in zip(keys, keys[1:]):
        previous = snapshots[previous_key].set_index("user_id")
        current = snapshots[key].set_index("user_id")
        assert len(current) == N_USERS
        churned = previous.index[previous["churn_label"] == 1]
        stayed = previous.index[previous["churn_label"] == 0]
        assert current.index.intersection(churned).empty
        assert set(stayed) <= set(current.index)
        assert len(stayed) / N_USERS > 0.65
        # Stayers age by one month and pay one more fee.
        assert (current.loc[stayed, "months_active"] == previous.loc[stayed, "months_active"] + 1).all()
        paid_more = current.loc[stayed, "total_paid"] - previous.loc[stayed, "total_paid"]
        assert np.allclose(paid_more, current.loc[stayed, "monthly_fee"], atol=0.011)
        assert (current.loc[stayed, "signup_date"] == previous.loc[stayed, "signup_date"]).all()
        # Newcomers: new ids never used before, signed up this month.
        newcomers = current.index.difference(previous.index)
        assert len(newcomers) == len(churned)
        assert not (set(newcomers) & seen)
        assert (current.loc[newcomers, "months_active"] == 1).all()
        assert (current.loc[newcomers, "signup_date"].dt.strftime("%Y-%m") == key).all()
        seen |= set(current.index)


def test_churn_rate_stays_in_range(snapshots):
    for month_key in MONTHS:
        assert 0.18 <= snapshots[month_key]["churn_label"].mean() <= 0.32, month_key


# --- drift, measured ----------------------------------------------------------------------


def normalised_wasserstein(before: pd.Series, after: pd.Series) -> float:
    before, after = before.dropna().to_numpy(float), after.dropna().to_numpy(float)
    return wasserstein_distance(before, after) / before.std()


def category_shift(before: pd.Series, after: pd.Series) -> float:
    shares = pd.concat([before.value_counts(normalize=True), after.value_counts(normalize=True)], axis=1).fillna(0)
    return float((shares.iloc[:, 0] - shares.iloc[:, 1]).abs().max())


def test_quiet_month_moves_no_feature(snapshots):
    before, after = snapshots[BASELINE], snapshots[QUIET]
    for feature in schema.NUMERIC_FEATURES:
        assert normalised_wasserstein(before[feature], after[feature]) < 0.1, feature
    for feature in schema.CATEGORICAL_FEATURES + schema.BOOLEAN_FEATURES:
        assert category_shift(before[feature], after[feature]) < 0.03, feature


def test_concept_drift_month_moves_only_the_fee(snapshots):
    # The price cut that comes with the concept change is the one visible feature drift.
    before, after = snapshots[QUIET], snapshots[CONCEPT]
    moved = {f for f in schema.NUMERIC_FEATURES if normalised_wasserstein(before[f], after[f]) >= 0.1}
    assert moved == {"monthly_fee"}
    assert after["monthly_fee"].mean() < before["monthly_fee"].mean()


def test_covariate_drift_moves_several_features(snapshots):
    before, after = snapshots[CONCEPT], snapshots[COVARIATE]
    moved = {f for f in schema.NUMERIC_FEATURES if normalised_wasserstein(before[f], after[f]) > 0.2}
    assert {"watch_hours_30d", "rebuffer_events_7d", "monthly_fee"} <= moved
    assert len(moved) >= 4
    assert all(normalised_wasserstein(before[f], after[f]) < 0.8 for f in schema.NUMERIC_FEATURES)
    share = lambda snap: (snap["contract_type"] == "Month-to-month").mean()  # noqa: E731
    assert share(after) > share(before) + 0.03


def model_matrix(snap: pd.DataFrame) -> pd.DataFrame:
    features = snap[list(schema.FEATURES)].copy()
    for column in schema.BOOLEAN_FEATURES:
        features[column] = features[column].astype("Float64").fillna(-1.0)
    features["ticket_avg_resolution_hrs_90d"] = features["ticket_avg_resolution_hrs_90d"].fillna(-1.0)
    for column, values in (("contract_type", schema.CONTRACT_TYPES), ("net_service", schema.NET_SERVICES)):
        for value in values:
            features[f"{column}={value}"] = (features[column] == value).astype(float)
        features = features.drop(columns=column)
    return features.astype(float)


def split(snap: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stable 80/20 split by a hash of user_id (as the pipeline does)."""
    bucket = snap["user_id"].map(lambda u: zlib.crc32(u.encode()) % 10)
    return snap[bucket < 8], snap[bucket >= 8]


def fit(snap: pd.DataFrame) -> RandomForestClassifier:
    model = RandomForestClassifier(n_estimators=150, min_samples_leaf=5, n_jobs=-1, random_state=0)
    return model.fit(model_matrix(snap), snap["churn_label"])


def auc(model: RandomForestClassifier, snap: pd.DataFrame) -> float:
    return roc_auc_score(snap["churn_label"], model.predict_proba(model_matrix(snap))[:, 1])


@pytest.fixture(scope="module")
def models(snapshots) -> dict[str, RandomForestClassifier]:
    return {key: fit(split(snapshots[key])[0]) for key in MONTHS}


def test_churn_is_learnable_but_noisy(snapshots, models):
    for month_key in MONTHS:
        score = auc(models[month_key], split(snapshots[month_key])[1])
        assert 0.72 <= score <= 0.9, (month_key, score)


def test_concept_drift_breaks_the_old_model(snapshots, models):
    validation = split(snapshots[CONCEPT])[1]
    old, retrained = auc(models[QUIET], validation), auc(models[CONCEPT], validation)
    assert retrained - old > 0.1, (old, retrained)
    # Even a ~100-row validation set shows it.
    small = validation.iloc[:100]
    assert auc(models[CONCEPT], small) - auc(models[QUIET], small) > 0.05


def test_covariate_drift_keeps_the_old_model_good(snapshots, models):
    validation = split(snapshots[COVARIATE])[1]
    old, retrained = auc(models[CONCEPT], validation), auc(models[COVARIATE], validation)
    assert old > retrained - 0.03, (old, retrained)


def test_quiet_month_keeps_the_old_model_good(snapshots, models):
    validation = split(snapshots[QUIET])[1]
    assert auc(models[BASELINE], validation) > auc(models[QUIET], validation) - 0.03


# --- the concepts, read as functions ---------------------------------------------------------


def one_user(**changes) -> dict[str, np.ndarray]:
    user = {
        "months_active": 12, "contract_type": "Month-to-month", "monthly_fee": 70.0,
        "net_service": "DSL", "plan_stream_tv": 1.0, "plan_stream_movies": 0.0,
        "watch_hours_30d": 36.0, "avg_session_mins_7d": 35.0, "unique_devices_30d": 2,
        "skips_7d": 6, "rebuffer_events_7d": 2, "failed_payments_90d": 0,
        "support_tickets_90d": 1, "ticket_avg_resolution_hrs_90d": 24.0,
    }
    user.update(changes)
    return {name: np.asarray([value]) for name, value in user.items()}


def test_concepts_reverse_the_watching_effect():
    light, heavy = one_user(watch_hours_30d=5.0), one_user(watch_hours_30d=120.0)
    assert generator.churn_probability(light, "A") > generator.churn_probability(heavy, "A")
    assert generator.churn_probability(light, "B") < generator.churn_probability(heavy, "B")
    # Shared: newcomers churn more than long-standing users in both concepts.
    for concept in generator.CONCEPTS:
        assert generator.churn_probability(one_user(months_active=1), concept) > generator.churn_probability(
            one_user(months_active=60), concept
        )
    with pytest.raises(ValueError, match="unknown concept"):
        generator.churn_probability(one_user(), "C")


def test_churn_probability_reads_a_snapshot_frame(snapshots):
    snap = snapshots[BASELINE]
    p = generator.churn_probability(snap, "A")
    assert p.shape == (N_USERS,) and np.isfinite(p).all()
    assert 0.15 < p.mean() < 0.35


# --- scenarios and CLI ---------------------------------------------------------------------


def test_scenario_for_continues_the_demo_with_quiet_months():
    assert generator.scenario_for(2) == ("baseline", "quiet")
    assert generator.scenario_for(6) == generator.DEMO_SCENARIO + ("quiet", "quiet")


def test_unknown_month_kind_is_refused():
    with pytest.raises(ValueError, match="month kinds"):
        generator.generate_month_frames(n_users=10, scenario=("baseline", "stormy"))


def test_cli_writes_the_months(tmp_path, capsys):
    assert generator.main([str(tmp_path), "--users", "50", "--months", "5", "--seed", "3", "--first-month", "2023-11"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2023-11", "2023-12", "2024-01", "2024-02", "2024-03"]
    assert "2024-03  quiet" in capsys.readouterr().out.replace(str(tmp_path) + "/", "")


def test_cli_takes_an_explicit_scenario(tmp_path, capsys):
    generator.main([str(tmp_path), "--users", "50", "--scenario", "baseline,concept_drift"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024-01", "2024-02"]
    with pytest.raises(SystemExit):
        generator.main([str(tmp_path), "--scenario", "baseline,sideways"])
    assert "month kinds" in capsys.readouterr().err
