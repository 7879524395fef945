"""StreamFlow synthetic data: monthly snapshots of a streaming service's users.

Each month is a folder `YYYY-MM` holding the six CSVs of `schema.FILES`. One population of
`n_users` "slots" persists across months: a slot is a user with stable traits (contract,
plan, fee, usage levels); every month the usage counters are redrawn around those levels
and a churn label is drawn from a logistic model of the 14 features (`churn_probability`).
A user who churns is replaced next month by a new signup with a new id who takes over the
slot's traits: the newcomers then look like the users they replace, so feature
distributions stay put from month to month unless the scenario asks for drift.

Month kinds:
  baseline         concept A (and the population as first drawn)
  quiet            nothing changes: same distributions, same concept
  covariate_drift  several features shift by ~0.2-0.55 std (for good); the concept stays
  concept_drift    the relation between features and churn changes; of the features only the
                   fee moves (a price cut answering a competitor), so drift monitoring notices
  silent_concept_drift
                   the same change of concept with nothing to announce it: no feature moves
                   (drift monitoring sees a quiet month), only the labels tell

Everything is vectorised numpy driven by one `numpy.random.default_rng(seed)`, so the same
arguments give byte-identical files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlops_assets.domain import months, schema

MONTH_KINDS = ("baseline", "quiet", "covariate_drift", "concept_drift", "silent_concept_drift")
DEMO_SCENARIO = ("baseline", "quiet", "concept_drift", "covariate_drift")
CONCEPTS = ("A", "B")

# user_id = 4 digits, dash, 5 uppercase letters: this many distinct ids.
_LETTER_IDS = 26**5
_ID_SPACE = 10_000 * _LETTER_IDS

# StreamFlow launched this many months before the first written month: simulating those
# months puts months_active (which both drives churn and is reset by it) at its steady state.
_MONTHS_SINCE_LAUNCH = 72
# Churn logit per unit of log1p(months_active), in every concept.
_TENURE_EFFECT = 0.8


# --------------------------------------------------------------------------------------
# The concepts: churn probability as a readable function of the 14 features.
# --------------------------------------------------------------------------------------


def churn_probability(features: Mapping[str, object], concept: str) -> np.ndarray:
    """P(churn) per user under `concept` ("A" or "B").

    `features` maps the feature names of `schema.FEATURES` to arrays (numpy arrays, pandas
    Series or DataFrame columns). Missing plan flags count as False, a missing resolution time
    as "no ticket".
    """
    return 1.0 / (1.0 + np.exp(-churn_logit(features, concept)))


def mixed_churn_probability(features: Mapping[str, object], concept_weight: float) -> np.ndarray:
    """P(churn) per user in a world between the two concepts: the logit is concept A's times
    (1 - concept_weight) plus concept B's times concept_weight. Weight 0 is exactly concept A,
    1 exactly concept B (so the scripted scenario's months are unchanged)."""
    if concept_weight == 0.0:
        return churn_probability(features, "A")
    if concept_weight == 1.0:
        return churn_probability(features, "B")
    logit = (1.0 - concept_weight) * churn_logit(features, "A") + concept_weight * churn_logit(features, "B")
    return 1.0 / (1.0 + np.exp(-logit))


def churn_logit(features: Mapping[str, object], concept: str) -> np.ndarray:
    """The churn log-odds per user under `concept` (see `churn_probability`)."""
    f = _FeatureView(features)
    # Shared by both concepts: newcomers are fickle and commitments hold. These act on the
    # traits a user keeps for years; sharing them keeps months_active's steady state about
    # the same after a concept change, so a concept change does not turn into covariate drift.
    logit = (
        -_TENURE_EFFECT * np.log1p(f.num("months_active"))
        + 0.6 * f.cat("contract_type", "Month-to-month")
        - 0.6 * f.cat("contract_type", "Two year")
    )
    watch = np.log1p(f.num("watch_hours_30d")) - 3.6
    if concept == "A":
        # Classic subscription churn: high bills, little watching, poor experience, trouble.
        logit = logit + (
            0.01 * (f.num("monthly_fee") - 65.0)
            + 0.3 * f.cat("net_service", "Fiber optic")
            - 1.0 * watch
            - 0.02 * (f.num("avg_session_mins_7d") - 35.0)
            + 0.3 * (f.num("rebuffer_events_7d") - 2.0)
            + 0.8 * f.num("failed_payments_90d")
            + 0.35 * f.num("support_tickets_90d")
            + 0.015 * (f.num("ticket_avg_resolution_hrs_90d", fill=24.0) - 24.0)
            - 0.7
        )
    elif concept == "B":
        # A competitor launches: heavy multi-device bingers, long sessions and movie fans
        # leave, cheap plans go first; those who skip around or talk to support stay; fiber,
        # rebuffering and payment trouble stop mattering.
        logit = logit + (
            1.6 * watch
            + 0.6 * (f.num("unique_devices_30d") - 2.0)
            - 0.01 * (f.num("monthly_fee") - 65.0)
            + 0.5 * f.flag("plan_stream_movies")
            - 0.1 * (f.num("skips_7d") - 6.0)
            - 0.5 * f.num("support_tickets_90d")
            + 0.03 * (f.num("avg_session_mins_7d") - 35.0)
            - 0.45
        )
    else:
        raise ValueError(f"unknown concept {concept!r}: expected one of {CONCEPTS}")
    return logit


class _FeatureView:
    """Reads feature columns as float / indicator arrays whatever container they come in."""

    def __init__(self, features: Mapping[str, object]) -> None:
        self._features = features

    def num(self, name: str, fill: float = 0.0) -> np.ndarray:
        column = self._features[name]
        if isinstance(column, pd.Series):
            values = column.to_numpy(dtype=float, na_value=np.nan)
        else:
            values = np.asarray(column, dtype=float)
        return np.where(np.isnan(values), fill, values)

    def flag(self, name: str) -> np.ndarray:
        return self.num(name, fill=0.0)

    def cat(self, name: str, value: str) -> np.ndarray:
        return (np.asarray(self._features[name]) == value).astype(float)


# --------------------------------------------------------------------------------------
# The population: one slot per user, traits that persist, levels the usage jitters around.
# --------------------------------------------------------------------------------------


class _IdMint:
    """Random user ids that never repeat, not even across months (a churned user's id is not
    given to a newcomer). Collisions are rare (1M ids in a 1.2e11 space) and simply redrawn."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._used = np.empty(0, dtype=np.int64)  # sorted

    def take(self, count: int) -> np.ndarray:
        fresh = np.empty(0, dtype=np.int64)
        while len(fresh) < count:
            drawn = np.concatenate([fresh, self._rng.integers(0, _ID_SPACE, size=count - len(fresh))])
            # Keep the first occurrence of each number (in draw order) that is not used yet.
            order = np.argsort(drawn, kind="stable")
            repeat = np.zeros(len(drawn), dtype=bool)
            repeat[order[1:]] = drawn[order[1:]] == drawn[order[:-1]]
            fresh = drawn[~repeat & ~self._is_used(drawn)]
        self._used = np.sort(np.concatenate([self._used, fresh]))
        return fresh

    def _is_used(self, numbers: np.ndarray) -> np.ndarray:
        if len(self._used) == 0:
            return np.zeros(len(numbers), dtype=bool)
        position = np.minimum(np.searchsorted(self._used, numbers), len(self._used) - 1)
        return self._used[position] == numbers


def _id_strings(numbers: np.ndarray) -> np.ndarray:
    """Id numbers -> `7590-VHVEG` strings (object array), built as bytes without a Python loop."""
    chars = np.empty((len(numbers), 10), dtype=np.uint8)
    digits, letters = np.divmod(numbers, _LETTER_IDS)
    for pos in range(3, -1, -1):
        digits, digit = np.divmod(digits, 10)
        chars[:, pos] = ord("0") + digit
    chars[:, 4] = ord("-")
    for pos in range(9, 4, -1):
        letters, letter = np.divmod(letters, 26)
        chars[:, pos] = ord("A") + letter
    return chars.view("S10").ravel().astype("U10").astype(object)


def _new_population(n: int, rng: np.random.Generator, ids: _IdMint) -> dict[str, np.ndarray]:
    net = rng.choice(3, size=n, p=[0.34, 0.44, 0.22])  # index into schema.NET_SERVICES
    has_net = net != 2
    tv = has_net & (rng.random(n) < 0.5)
    movies = has_net & (rng.random(n) < 0.5)
    base_fee = np.array([45.0, 70.0, 20.0])[net]
    fee = base_fee + 10.0 * tv + 10.0 * movies + rng.normal(0.0, 4.0, n)
    # Streaming plans mean a little more watching. Levels spread less than the month-to-month
    # jitter (see _observe): most of what usage says about churn is this month's behaviour.
    watch_scale = 36.0 * (1.0 + 0.15 * tv + 0.15 * movies) * np.where(has_net, 1.0, 0.8)
    population = {
        "contract": rng.choice(3, size=n, p=[0.55, 0.21, 0.24]),  # schema.CONTRACT_TYPES
        "net": net,
        "tv": tv,
        "movies": movies,
        "fee_cents": np.rint(np.clip(fee, 15.0, None) * 100).astype(np.int64),
        "watch_level": watch_scale * rng.lognormal(0.0, 0.3, n),
        "session_level": 35.0 * rng.lognormal(0.0, 0.2, n),
        "devices_rate": 1.0 * rng.lognormal(0.0, 0.3, n),
        "skips_rate": rng.gamma(6.0, 1.0, n),
        "rebuffer_rate": np.where(net == 1, 1.6, 2.4) * rng.lognormal(0.0, 0.3, n),
        "failed_rate": 0.2 * rng.lognormal(0.0, 0.6, n),
        "tickets_rate": np.where(rng.random(n) < 0.45, 0.05, rng.gamma(3.0, 0.5, n)),
        "resolution_level": rng.gamma(10.0, 2.4, n),
    }
    population["months_active"] = _steady_state_tenure(population, rng)
    population.update(_new_signups(n, rng, ids))
    population["paid_cents"] = _initial_paid(population, rng)
    return population


def _new_signups(n: int, rng: np.random.Generator, ids: _IdMint) -> dict[str, np.ndarray]:
    """What a new user brings: id, signup day and demographics (which do not drive churn)."""
    return {
        "id_num": ids.take(n),
        "signup_day": rng.integers(1, 29, size=n),
        "gender": rng.integers(0, 2, size=n),  # index into schema.GENDERS
        "senior": rng.random(n) < 0.16,
        "family": rng.random(n) < 0.48,
        "dependents": rng.random(n) < 0.30,
        "paperless": rng.random(n) < 0.59,
    }


def _traits(population: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The features that are the slot's traits rather than this month's behaviour."""
    has_net = population["net"] != 2
    return {
        "months_active": population["months_active"],
        "contract_type": np.asarray(schema.CONTRACT_TYPES)[population["contract"]],
        "monthly_fee": population["fee_cents"] / 100.0,
        "net_service": np.asarray(schema.NET_SERVICES)[population["net"]],
        # Streaming add-ons need the internet plan: unknown (NaN) without it.
        "plan_stream_tv": np.where(has_net, population["tv"], np.nan),
        "plan_stream_movies": np.where(has_net, population["movies"], np.nan),
    }


def _expected_features(population: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The features at each slot's own level (no monthly noise)."""
    return {
        **_traits(population),
        "watch_hours_30d": population["watch_level"],
        "avg_session_mins_7d": population["session_level"],
        "unique_devices_30d": 1.0 + population["devices_rate"],
        "skips_7d": population["skips_rate"],
        "rebuffer_events_7d": population["rebuffer_rate"],
        "failed_payments_90d": population["failed_rate"],
        "support_tickets_90d": population["tickets_rate"],
        "ticket_avg_resolution_hrs_90d": population["resolution_level"],
    }


def _steady_state_tenure(population: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """months_active after running the join-age-churn process since launch under concept A,
    on each slot's expected churn risk (cheap: one uniform draw per slot and month)."""
    n = len(population["contract"])
    population["months_active"] = np.zeros(n, dtype=np.int64)
    p_slot = churn_probability(_expected_features(population), "A")
    # The logit is linear in log1p(months_active): keep the rest, add the tenure term back.
    slot_logit = np.log(p_slot / (1.0 - p_slot))
    # risk = 1 / (1 + exp(tenure term - slot logit)): precompute both exponentials so
    # that each simulated month costs a lookup, a uniform draw and a comparison.
    tenure_odds = np.exp(_TENURE_EFFECT * np.log1p(np.arange(_MONTHS_SINCE_LAUNCH + 2)))
    slot_odds = np.exp(-slot_logit)
    tenure = np.ones(n, dtype=np.int64)
    for _ in range(_MONTHS_SINCE_LAUNCH):
        churned = rng.random(n) * (1.0 + tenure_odds[tenure] * slot_odds) < 1.0
        tenure = np.where(churned, 1, tenure + 1)
    return tenure


def _initial_paid(population: Mapping[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """What was paid before this month (`_pay` adds this month's fee): past fees varied a
    little around today's."""
    months_before = population["months_active"] - 1
    past = population["fee_cents"] * months_before * rng.uniform(0.9, 1.05, len(months_before))
    return np.rint(past).astype(np.int64)


def _advance(
    population: dict[str, np.ndarray], churned: np.ndarray, rng: np.random.Generator, ids: _IdMint
) -> None:
    """One month passes: stayers age; churned users are replaced by new signups who take over
    the slot's traits (so the population keeps its size and its feature distributions)."""
    population["months_active"] = np.where(churned, 1, population["months_active"] + 1)
    population["paid_cents"] = np.where(churned, 0, population["paid_cents"])
    newcomers = _new_signups(int(churned.sum()), rng, ids)
    for name, values in newcomers.items():
        population[name][churned] = values


def _pay(population: dict[str, np.ndarray]) -> None:
    """total_paid includes this month's fee (after any price change of the month)."""
    population["paid_cents"] = population["paid_cents"] + population["fee_cents"]


def _answer_competitor(population: dict[str, np.ndarray]) -> None:
    """The concept change comes with a visible event: StreamFlow answers the competitor with a
    price cut. Only the fee moves (~0.4 std), so feature-drift monitoring notices that the world
    changed, while what drives churn (the concept) changes far more than the features."""
    population["fee_cents"] = np.maximum(population["fee_cents"] - 900, 999)


def _shift_covariates(population: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """A covariate drift that lasts: a new TV app (longer sessions on more devices, but less
    watching and more rebuffering), a price rise, a new payment provider and help centre
    (fewer failed payments and tickets) and a push to month-to-month contracts.

    Each shift is ~0.2-0.55 std. Their effects on churn roughly cancel under both concepts,
    so the churn rate (and with it the months_active steady state) stays about the same."""
    n = len(population["contract"])
    population["watch_level"] = population["watch_level"] * 0.8
    population["session_level"] = population["session_level"] * 1.2
    population["devices_rate"] = population["devices_rate"] * 1.3
    population["rebuffer_rate"] = population["rebuffer_rate"] + 0.5
    population["fee_cents"] = population["fee_cents"] + 900
    population["failed_rate"] = population["failed_rate"] * 0.4
    population["tickets_rate"] = population["tickets_rate"] * 0.7
    to_monthly = (population["contract"] != 0) & (rng.random(n) < 0.12)
    population["contract"] = np.where(to_monthly, 0, population["contract"])


# --------------------------------------------------------------------------------------
# One month: draw the usage around each level, the labels, and the six frames.
# --------------------------------------------------------------------------------------


def _observe(population: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """This month's features: usage jitters around each user's level (counts are Poisson)."""
    n = len(population["contract"])
    tickets = rng.poisson(population["tickets_rate"])
    resolution = population["resolution_level"] * rng.lognormal(0.0, 0.2, n)
    return {
        **_traits(population),
        "watch_hours_30d": _cents(population["watch_level"] * rng.lognormal(0.0, 0.45, n)),
        "avg_session_mins_7d": _cents(population["session_level"] * rng.lognormal(0.0, 0.3, n)),
        "unique_devices_30d": 1 + rng.poisson(population["devices_rate"]),
        "skips_7d": rng.poisson(population["skips_rate"]),
        "rebuffer_events_7d": rng.poisson(population["rebuffer_rate"]),
        "failed_payments_90d": rng.poisson(population["failed_rate"]),
        "support_tickets_90d": tickets,
        # An average over no tickets does not exist: empty, not 0.
        "ticket_avg_resolution_hrs_90d": np.where(tickets > 0, _cents(resolution), np.nan),
    }


def _cents(values: np.ndarray) -> np.ndarray:
    """Round to 2 decimals the way the CSV shows them (rint of cents, then / 100)."""
    return np.rint(values * 100.0) / 100.0


def _boolean(values: np.ndarray, missing: np.ndarray | None = None) -> pd.arrays.BooleanArray:
    if missing is None:
        missing = np.zeros(len(values), dtype=bool)
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), missing)


def _signup_dates(population: Mapping[str, np.ndarray], month_key: str) -> np.ndarray:
    """signup month = this month - (months_active - 1), on the slot's signup day."""
    this_month = np.datetime64(month_key, "M")
    signup_month = this_month - (population["months_active"] - 1).astype("timedelta64[M]")
    days = (population["signup_day"] - 1).astype("timedelta64[D]")
    return (signup_month.astype("datetime64[D]") + days).astype("datetime64[ns]")


def _month_frames(
    population: Mapping[str, np.ndarray],
    observed: Mapping[str, np.ndarray],
    churned: np.ndarray,
    month_key: str,
) -> dict[str, pd.DataFrame]:
    user_id = _id_strings(population["id_num"])
    no_net = population["net"] == 2
    columns: dict[str, object] = {
        "user_id": user_id,
        "signup_date": _signup_dates(population, month_key),
        "user_gender": np.asarray(schema.GENDERS, dtype=object)[population["gender"]],
        "user_is_senior": _boolean(population["senior"]),
        "has_family": _boolean(population["family"]),
        "has_dependents": _boolean(population["dependents"]),
        "months_active": population["months_active"].astype(np.int64),
        "plan_stream_tv": _boolean(population["tv"], no_net),
        "plan_stream_movies": _boolean(population["movies"], no_net),
        "contract_type": np.asarray(schema.CONTRACT_TYPES, dtype=object)[population["contract"]],
        "paperless_billing": _boolean(population["paperless"]),
        "monthly_fee": population["fee_cents"] / 100.0,
        "total_paid": population["paid_cents"] / 100.0,
        "net_service": np.asarray(schema.NET_SERVICES, dtype=object)[population["net"]],
        # The course's exports write the label as True/False; the importer also reads 0/1.
        "churn_label": _boolean(churned),
    }
    for file_name in ("usage_agg_30d.csv", "payments_agg_90d.csv", "support_agg_90d.csv"):
        for name, kind in schema.FILES[file_name].items():
            if name != schema.ENTITY_KEY:
                columns[name] = observed[name].astype(np.int64 if kind == "int" else np.float64)
    return {
        file_name: pd.DataFrame({col: columns[col] for col in file_columns}, copy=False)
        for file_name, file_columns in schema.FILES.items()
    }


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def scenario_for(month_count: int) -> tuple[str, ...]:
    """The demo scenario cut or continued with quiet months to `month_count` months."""
    if month_count < 1:
        raise ValueError(f"month count must be >= 1, got {month_count}")
    return (DEMO_SCENARIO + ("quiet",) * month_count)[:month_count]


def generate_month_frames(
    n_users: int = 5000,
    scenario: Sequence[str] = DEMO_SCENARIO,
    first_month: str = "2024-01",
    seed: int = 7,
) -> dict[str, dict[str, pd.DataFrame]]:
    """month key -> {file name -> DataFrame exactly as written to CSV}."""
    return {month.key: month.frames for month in simulate_months(n_users, scenario, first_month, seed)}


@dataclass(frozen=True)
class MonthSpec:
    """One month of a simulated scenario: its kind, and what the scripted scenario keeps fixed.

    concept_shift (concept_drift months): how far the concept moves towards the other one, 1.0
    all the way (A -> B or back, the scripted scenario), 0.25 a quarter of the way; at either end
    it turns back. label_noise: the share of recorded labels flipped (the churn itself, and so
    the population, is unchanged: the labels lie, the world does not)."""

    kind: str
    concept_shift: float = 1.0
    label_noise: float = 0.0


@dataclass(frozen=True)
class SimulatedMonth:
    key: str
    kind: str
    concept_weight: float  # 0 = concept A, 1 = concept B (see mixed_churn_probability)
    frames: dict[str, pd.DataFrame]  # exactly as written to CSV (labels with any label noise)
    probability: np.ndarray  # each user's true churn probability this month, in the frames' row order


def simulate_months(
    n_users: int,
    scenario: Sequence[str | MonthSpec],
    first_month: str = "2024-01",
    seed: int = 7,
) -> Iterator[SimulatedMonth]:
    """The months one by one, with each user's true churn probability (the ground truth that the
    decision simulation measures models against). Month kinds given as plain strings are the
    scripted scenario's; `generate_month_frames` is this with the probabilities dropped."""
    specs = tuple(month if isinstance(month, MonthSpec) else MonthSpec(month) for month in scenario)
    unknown = [spec.kind for spec in specs if spec.kind not in MONTH_KINDS]
    if unknown or not specs:
        raise ValueError(f"scenario {tuple(scenario)!r}: month kinds must be among {MONTH_KINDS}")
    bad = [spec for spec in specs if not (0.0 < spec.concept_shift <= 1.0 and 0.0 <= spec.label_noise < 0.5)]
    if bad:
        raise ValueError(f"scenario month {bad[0]!r}: concept_shift must be in (0, 1], label_noise in [0, 0.5)")
    if n_users < 1:
        raise ValueError(f"n_users must be >= 1, got {n_users}")
    rng = np.random.default_rng(seed)
    ids = _IdMint(rng)
    population = _new_population(n_users, rng, ids)
    concept_weight, direction = 0.0, 1.0
    churned: np.ndarray | None = None
    for month_key, spec in zip(months.month_keys(first_month, len(specs)), specs):
        if churned is not None:
            _advance(population, churned, rng, ids)
        if spec.kind == "baseline":
            concept_weight, direction = 0.0, 1.0
        elif spec.kind == "concept_drift":
            concept_weight += direction * spec.concept_shift
            if not 0.0 < concept_weight < 1.0:  # reached (or passed) an end: stop there, turn back
                concept_weight = min(max(concept_weight, 0.0), 1.0)
                direction = -direction
            _answer_competitor(population)
        elif spec.kind == "silent_concept_drift":
            # What drives churn changes and nothing else does: this month's features are drawn
            # exactly as in a quiet month, only its labels follow the new concept.
            # The old concept and the new one swap places; the next drift moves away from it.
            concept_weight = 1.0 - concept_weight
            direction = 1.0 if concept_weight < 0.5 else -1.0
        elif spec.kind == "covariate_drift":
            _shift_covariates(population, rng)
        _pay(population)
        observed = _observe(population, rng)
        probability = mixed_churn_probability(observed, concept_weight)
        churned = rng.random(n_users) < probability
        recorded = churned ^ (rng.random(n_users) < spec.label_noise) if spec.label_noise > 0 else churned
        yield SimulatedMonth(
            key=month_key,
            kind=spec.kind,
            concept_weight=concept_weight,
            frames=_month_frames(population, observed, recorded, month_key),
            probability=probability,
        )


def write_month(folder: Path, frames: Mapping[str, pd.DataFrame]) -> None:
    """Write one month's six frames as CSVs: True/False, empty for missing, 2-decimal floats."""
    folder.mkdir(parents=True, exist_ok=True)
    for file_name, frame in frames.items():
        frame.to_csv(
            folder / file_name,
            index=False,
            na_rep="",
            float_format="%.2f",
            date_format="%Y-%m-%d",
            lineterminator="\n",
        )


def write_months(
    out_dir: Path | str,
    n_users: int = 5000,
    scenario: Sequence[str] = DEMO_SCENARIO,
    first_month: str = "2024-01",
    seed: int = 7,
) -> list[Path]:
    """Generate and write out_dir/<month>/<file>.csv; returns the month folders in order."""
    out_dir = Path(out_dir)
    folders = []
    for month_key, frames in generate_month_frames(n_users, scenario, first_month, seed).items():
        folder = out_dir / month_key
        write_month(folder, frames)
        folders.append(folder)
    return folders


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlops_assets.generator",
        description="Write StreamFlow synthetic months: OUT_DIR/YYYY-MM/<six CSVs>.",
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--months", type=int, default=None, help="default: 4, or the --scenario length")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--first-month", default="2024-01")
    parser.add_argument(
        "--scenario",
        default=None,
        help=f"comma-separated month kinds among {', '.join(MONTH_KINDS)} "
        "(default: the demo scenario, continued with quiet months)",
    )
    args = parser.parse_args(argv)
    if args.scenario:
        scenario = tuple(kind.strip() for kind in args.scenario.split(",") if kind.strip())
        if args.months is not None and args.months != len(scenario):
            parser.error(f"--months {args.months} but --scenario lists {len(scenario)} months")
    else:
        scenario = scenario_for(4 if args.months is None else args.months)
    try:
        folders = write_months(args.out_dir, args.users, scenario, args.first_month, args.seed)
    except ValueError as error:
        parser.error(str(error))
    for folder, kind in zip(folders, scenario):
        print(f"{folder}  {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
