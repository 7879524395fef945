"""Monthly exports in the course stack's own format, written the way its exporter writes them
(pandas `to_csv`), with none of our generator's code: what a first user drops in.

What we know of the course's two real months, and reproduce here:
- folders `month_000`, `month_001`; 7,043 users each (the Telco customer base), ids `7590-VHVEG`;
- `labels.csv` writes `churn_label` as `True`/`False` (a pandas bool column), booleans likewise,
  a missing value as an empty field (`plan_stream_*` when there is no internet service, the
  resolution time when there was no ticket, `total_paid` of users in their first month);
- `avg_session_mins_7d` is one value for all users (the extract fills it with a constant);
- `users.csv` and `subscriptions.csv` are byte-identical in both months (a stale extract);
- between the months the concept flips: what drove churn in month 0 protects in month 1, while
  only one feature's distribution moves (`watch_hours_30d`). The first month's model scores below
  chance on the second month's users; a model retrained on the second month does far better.
- the columns come in the exporter's order, not ours, with one extra column (`region`).
"""

from __future__ import annotations

import shutil
import string
from pathlib import Path

import numpy as np
import pandas as pd

N_USERS = 7043


def _user_ids(rng: np.random.Generator, n: int) -> list[str]:
    letters = np.array(list(string.ascii_uppercase))
    ids: set[str] = set()
    while len(ids) < n:
        digits = rng.integers(0, 10_000, n)
        words = letters[rng.integers(0, 26, (n, 5))]
        ids.update(f"{d:04d}-{''.join(w)}" for d, w in zip(digits, words))
    return sorted(ids)[:n]


def _profile(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = _user_ids(rng, n)
    tenure = rng.integers(0, 73, n)
    net = rng.choice(["DSL", "Fiber optic", "No"], n, p=[0.34, 0.44, 0.22])
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.21, 0.24])
    no_net = net == "No"
    fee = np.round(np.where(no_net, rng.uniform(18, 26, n), rng.uniform(25, 119, n)), 2)
    paid = np.round(fee * tenure * rng.uniform(0.95, 1.05, n), 2)
    signup = pd.Timestamp("2024-01-31") - pd.to_timedelta(tenure * 30, unit="D")
    users = pd.DataFrame(
        {
            "user_id": ids,
            "user_gender": rng.choice(["Female", "Male"], n),
            "user_is_senior": rng.random(n) < 0.16,
            "has_family": rng.random(n) < 0.48,
            "has_dependents": rng.random(n) < 0.30,
            "signup_date": signup.strftime("%Y-%m-%d"),
            "region": rng.choice(["north", "south"], n),  # an extra column the platform ignores
        }
    )
    subscriptions = pd.DataFrame(
        {
            "user_id": ids,
            "contract_type": contract,
            "net_service": net,
            "months_active": tenure,
            "monthly_fee": fee,
            # A user in the first month has paid nothing yet: the export leaves it empty.
            "total_paid": pd.array(np.where(tenure == 0, np.nan, paid), dtype="Float64"),
            "paperless_billing": rng.random(n) < 0.59,
            "plan_stream_tv": pd.array(np.where(no_net, None, rng.random(n) < 0.38), dtype="boolean"),
            "plan_stream_movies": pd.array(np.where(no_net, None, rng.random(n) < 0.39), dtype="boolean"),
        }
    )
    return users, subscriptions


def _activity(rng: np.random.Generator, ids: list[str], watch_shift: float) -> dict[str, pd.DataFrame]:
    n = len(ids)
    tickets = rng.poisson(0.6, n)
    usage = pd.DataFrame(
        {
            "user_id": ids,
            "watch_hours_30d": np.round(rng.gamma(2.0, 9.0, n) + watch_shift, 2),
            "avg_session_mins_7d": 29.0,  # the extract's constant
            "unique_devices_30d": rng.integers(1, 5, n),
            "skips_7d": rng.poisson(4, n),
            "rebuffer_events_7d": rng.poisson(1.5, n),
        }
    )
    payments = pd.DataFrame({"user_id": ids, "failed_payments_90d": rng.poisson(0.3, n)})
    support = pd.DataFrame(
        {
            "user_id": ids,
            "support_tickets_90d": tickets,
            "ticket_avg_resolution_hrs_90d": pd.array(
                np.where(tickets > 0, np.round(rng.gamma(2.0, 6.0, n), 1), np.nan), dtype="Float64"
            ),
        }
    )
    return {"usage_agg_30d.csv": usage, "payments_agg_90d.csv": payments, "support_agg_90d.csv": support}


def _churn(rng: np.random.Generator, subscriptions: pd.DataFrame, activity, flipped: bool) -> np.ndarray:
    """Month 0: short tenure, monthly contracts, fiber and failed payments churn. Month 1: the
    opposite (a competitor courts long-standing, contracted customers)."""
    tenure = subscriptions["months_active"].to_numpy() / 72
    monthly = (subscriptions["contract_type"] == "Month-to-month").to_numpy()
    fiber = (subscriptions["net_service"] == "Fiber optic").to_numpy()
    failed = activity["payments_agg_90d.csv"]["failed_payments_90d"].to_numpy()
    risk = 2.2 * monthly + 0.8 * fiber - 2.5 * tenure + 0.6 * failed - 0.2
    logit = -risk - 0.6 if flipped else risk - 1.2
    return rng.random(len(tenure)) < 1 / (1 + np.exp(-logit))


def write_course_months(out: Path, seed: int = 2024) -> list[Path]:
    """`out/month_000` and `out/month_001`, as the course's exporter leaves them."""
    rng = np.random.default_rng(seed)
    users, subscriptions = _profile(rng, N_USERS)
    folders = []
    for index, (watch_shift, flipped) in enumerate([(0.0, False), (6.0, True)]):
        folder = Path(out) / f"month_{index:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        if index == 0:
            users.to_csv(folder / "users.csv", index=False)
            subscriptions.to_csv(folder / "subscriptions.csv", index=False)
        else:  # the stale extract: the very same bytes
            for name in ("users.csv", "subscriptions.csv"):
                shutil.copyfile(folders[0] / name, folder / name)
        activity = _activity(rng, list(users["user_id"]), watch_shift)
        for name, frame in activity.items():
            frame.to_csv(folder / name, index=False)
        labels = pd.DataFrame({"user_id": users["user_id"], "churn_label": _churn(rng, subscriptions, activity, flipped)})
        labels.to_csv(folder / "labels.csv", index=False)
        folders.append(folder)
    return folders
