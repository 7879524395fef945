"""Churn scores: rank and risk band of every user, how bands moved since last month, and which
production version scores a month (the rule that makes a re-run reproducible)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

USER_ID = "user_id"
PROBABILITY = "churn_probability"
RANK = "rank"
BAND = "risk_band"
MODEL_VERSION = "model_version"
AS_OF = "as_of"
SCORE_COLUMNS = (USER_ID, PROBABILITY, RANK, BAND, MODEL_VERSION, AS_OF)

LOW, MEDIUM, HIGH = "low", "medium", "high"
BAND_ORDER = (LOW, MEDIUM, HIGH)  # lowest risk first
PROMOTED = "promoted"


@dataclass(frozen=True)
class RiskBands:
    """Bands on the churn probability: `high` from `high_from` up, `medium` from `medium_from`
    up to `high_from`, `low` below. Probabilities, not ranks: a band means the same risk every
    month, so the users per band move when the population's risk moves."""

    medium_from: float = 0.5
    high_from: float = 0.75

    def __post_init__(self):
        for name in ("medium_from", "high_from"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or math.isnan(value) or not 0.0 <= value <= 1.0:
                raise ValueError(f"risk band threshold {name} must be a probability in [0, 1], got {value!r}")
        if self.medium_from > self.high_from:
            raise ValueError(f"risk bands: medium_from {self.medium_from} is above high_from {self.high_from}")

    def band(self, probabilities) -> np.ndarray:
        p = np.asarray(probabilities, dtype=float)
        if np.isnan(p).any():
            raise ValueError("a churn probability is NaN: every user must be scored")
        return np.where(p >= self.high_from, HIGH, np.where(p >= self.medium_from, MEDIUM, LOW)).astype(object)

    def as_dict(self) -> dict[str, float]:
        return {"medium_from": float(self.medium_from), "high_from": float(self.high_from)}


def score_table(user_ids, probabilities, model_version: str, as_of: str, bands: RiskBands = RiskBands()) -> pd.DataFrame:
    """One row per user, highest risk first: rank 1 is the most likely to churn; equal
    probabilities are ranked by user_id, so the order never depends on the input order."""
    ids = pd.Series(user_ids, dtype=object).astype(str).to_numpy()
    p = np.asarray(probabilities, dtype="float64")
    # Arrow's hash count and sort (C++): pandas' hashing and two-key sort of a million Python
    # strings took seconds. Arrow orders strings by UTF-8 bytes, which is code point order, as
    # Python's str comparison; (probability, user_id) is unique, so the order is the same.
    arrow_ids = pa.array(ids, type=pa.string())
    if pc.count_distinct(arrow_ids).as_py() != len(ids):
        named = pd.Series(ids)
        duplicated = named[named.duplicated()].head(3).tolist()
        raise ValueError(f"users scored twice: {duplicated}")
    order = pc.sort_indices(
        pa.table({PROBABILITY: p, USER_ID: arrow_ids}), sort_keys=[(PROBABILITY, "descending"), (USER_ID, "ascending")]
    ).to_numpy()
    table = pd.DataFrame({USER_ID: ids[order], PROBABILITY: p[order]})
    table[RANK] = np.arange(1, len(table) + 1, dtype="int64")
    table[BAND] = bands.band(table[PROBABILITY])
    table[MODEL_VERSION] = str(model_version)
    table[AS_OF] = str(as_of)
    return table[list(SCORE_COLUMNS)]


def score_deciles(probabilities) -> dict[str, float]:
    """p10 ... p90 of the churn probability (empty month: no deciles)."""
    p = np.asarray(probabilities, dtype=float)
    if not len(p):
        return {}
    # One call for the nine quantiles: the same numbers as nine calls, one partition of the array.
    quantiles = range(10, 100, 10)
    return {f"p{q}": float(value) for q, value in zip(quantiles, np.quantile(p, [q / 100 for q in quantiles]))}


def users_per_band(table: pd.DataFrame) -> dict[str, int]:
    counts = table[BAND].value_counts()
    return {band: int(counts.get(band, 0)) for band in BAND_ORDER}


@dataclass(frozen=True)
class BandChanges:
    previous_users: int
    users_in_both: int
    changed_band: int
    moved_up: int  # to a riskier band
    moved_down: int
    new_users: int  # scored this month, not last month
    gone_users: int  # scored last month, not this month
    transitions: dict[str, int]  # "low->high": users, only the moves

    def as_dict(self) -> dict:
        return dict(vars(self))


def band_changes(previous: pd.DataFrame, current: pd.DataFrame) -> BandChanges:
    """How users moved between bands since the previous month's scores. A month's scores hold
    each user once (score_table refuses duplicates), so the users of both months are the inner
    join, and new and gone users are the rest of each side."""
    order = {band: i for i, band in enumerate(BAND_ORDER)}

    def side(scores: pd.DataFrame, band: str) -> pa.Table:
        codes = scores[BAND].map(order).to_numpy(dtype="int8")
        return pa.table({USER_ID: pa.array(scores[USER_ID].to_numpy(dtype=object), type=pa.string()), band: codes})

    # Arrow's hash join: a pandas merge of a million Python strings took seconds.
    joined = side(previous, "before").join(side(current, "now"), keys=USER_ID, join_type="inner")
    before, now = joined["before"].to_numpy(), joined["now"].to_numpy()
    moved = before != now
    pairs = np.bincount(before[moved].astype(np.int64) * len(BAND_ORDER) + now[moved], minlength=len(BAND_ORDER) ** 2)
    transitions = {
        f"{BAND_ORDER[i // len(BAND_ORDER)]}->{BAND_ORDER[i % len(BAND_ORDER)]}": int(n) for i, n in enumerate(pairs) if n
    }
    return BandChanges(
        previous_users=len(previous),
        users_in_both=joined.num_rows,
        changed_band=int(moved.sum()),
        moved_up=int((now > before).sum()),
        moved_down=int((now < before).sum()),
        new_users=len(current) - joined.num_rows,
        gone_users=len(previous) - joined.num_rows,
        transitions=transitions,
    )


# -- which model scores a month ------------------------------------------------------------------
@dataclass(frozen=True)
class DecisionRecord:
    """One promotion_decision materialization, in the order they were recorded."""

    month: str
    decision: str
    candidate_version: str


@dataclass(frozen=True)
class ScoringVersion:
    version: str
    decision_month: str  # the month whose decision left this version in production


def version_for_month(decisions: Iterable[DecisionRecord], month: str) -> ScoringVersion | None:
    """The production version that month `month`'s decision left.

    The rule: among the decisions of `month` and of the months before it, take the latest month
    that promoted a model, and within that month its latest promotion; its candidate is the
    version. A month whose decision skipped (or that had no decision: no retraining) keeps what
    the months before it left. Decisions of later months never count, so re-scoring an old month
    never uses a newer model, however many months were decided since. A re-run of an old month
    that skipped ("production comes from a newer month") promoted nothing and changes nothing.
    No promotion at or before `month`: None (there was no production model yet).
    """
    chosen: tuple[str, int] | None = None
    version = None
    for order, record in enumerate(decisions):
        if record.month > month or record.decision != PROMOTED:
            continue
        key = (record.month, order)
        if chosen is None or key > chosen:
            chosen, version = key, record.candidate_version
    return None if chosen is None else ScoringVersion(version=str(version), decision_month=chosen[0])


def top_users(table: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The `n` highest-risk users (a score_table is ordered by rank: its head, without a search)."""
    first = table.head(n) if table[RANK].is_monotonic_increasing else table.nsmallest(n, RANK)
    return first[[RANK, USER_ID, PROBABILITY, BAND]]

