"""Promotion policies measured against known truth: false promotions, missed promotions, regret.

The generator knows every user's true churn probability (`generator.simulate_months`). For each
seed it draws a scenario of `--months` months (a baseline, then covariate drifts, concept drifts of
several strengths and quiet months in random order, and a label-noise rate for the whole scenario),
and plays it at every month size. Each month at each size:

- the month's users go through the platform's own domain functions, called directly (no Dagster,
  Feast or MLflow: the features of a month are its snapshot's, which is what Feast serves at
  as_of): `split.assign_split`, `model.build_pipeline` (the default logistic regression) fit on the
  train rows, `metrics.roc_auc` and `significance.delong` on the validation rows, and
  `promotion.decide` for every policy, each policy keeping its own production model;
- every model trained so far is measured on a large fresh sample of that month's population
  (`--truth-users`, drawn by the generator from another seed with the same scenario, never used to
  train or validate): its true AUC is the AUC against the users' true churn probabilities
  (`significance.weighted_auc`), free of label noise and of the validation rows' noise.

Counted per policy and month size, over all seeds and decision months (the first month is the
bootstrap, the same for every policy):
- false promotion: promoted although its true AUC is not above production's;
- missed promotion: truly better than production by at least delta, not promoted;
- regret: the true AUC of the best model trained so far minus production's, after the decision,
  averaged over decision months.

Every month trains a candidate (as `monthly_cycle_job` does, whatever the drift): the policies,
not the drift trigger, are what is measured.

    nice -n 10 .venv/bin/python -m benchmarks.decisions            # the full grid (README)
    nice -n 10 .venv/bin/python -m benchmarks.decisions --sizes 1000 --seeds 1 --months 4 --truth-users 20000
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from mlops_assets.domain.metrics import roc_auc
from mlops_assets.domain.model import ModelParams, build_pipeline, to_model_frame
from mlops_assets.domain.promotion import PolicyKind, PromotionPolicy, decide
from mlops_assets.domain.schema import ENTITY_KEY, FEATURES, FILES, LABEL
from mlops_assets.domain.significance import AucComparison, delong, weighted_auc
from mlops_assets.domain.split import TRAIN, VALIDATION, assign_split
from mlops_assets.generator import MonthSpec, simulate_months

DELTA = 0.01
POLICIES: dict[str, PromotionPolicy] = {
    "delta": PromotionPolicy(min_absolute_change=DELTA),
    "significant a=0.01": PromotionPolicy(min_absolute_change=DELTA, kind=PolicyKind.significant, alpha=0.01),
    "significant a=0.05": PromotionPolicy(min_absolute_change=DELTA, kind=PolicyKind.significant, alpha=0.05),
    "significant a=0.10": PromotionPolicy(min_absolute_change=DELTA, kind=PolicyKind.significant, alpha=0.10),
    "significant a=0.20": PromotionPolicy(min_absolute_change=DELTA, kind=PolicyKind.significant, alpha=0.20),
    "lower_bound a=0.05": PromotionPolicy(min_absolute_change=DELTA, kind=PolicyKind.lower_bound, alpha=0.05),
}
CONCEPT_SHIFTS = (0.1, 0.25, 0.5, 1.0)
LABEL_NOISE = (0.0, 0.05, 0.1, 0.2)
DEFAULT_SIZES = (1000, 2000, 5000, 20000, 100000)
TRUTH_SEED_OFFSET = 1_000_003


def scenario(seed: int, month_count: int = 24) -> list[MonthSpec]:
    """A baseline, then in random order: a concept drift of each strength in CONCEPT_SHIFTS plus
    one more of a random strength, three covariate drifts, and quiet months for the rest; one
    label-noise rate for the whole scenario."""
    if month_count < 2:
        raise ValueError(f"a scenario needs at least 2 months (a baseline and a decision), got {month_count}")
    rng = np.random.default_rng(seed)
    noise = float(rng.choice(LABEL_NOISE))
    events = [MonthSpec("concept_drift", shift, noise) for shift in CONCEPT_SHIFTS]
    events.append(MonthSpec("concept_drift", float(rng.choice(CONCEPT_SHIFTS)), noise))
    events += [MonthSpec("covariate_drift", label_noise=noise)] * 3
    slots = month_count - 1
    if slots < len(events):  # short scenarios (the suite's tiny run) keep a random subset
        events = [events[i] for i in sorted(rng.choice(len(events), size=slots, replace=False))]
    months = events + [MonthSpec("quiet", label_noise=noise)] * (slots - len(events))
    order = rng.permutation(len(months))
    return [MonthSpec("baseline", label_noise=noise)] + [months[i] for i in order]


def month_table(frames: dict[str, pd.DataFrame], with_split: bool = True) -> pd.DataFrame:
    """One row per user: the 14 features and the label (the generator writes every file in the
    same user order), with the platform's split."""
    users = frames["users.csv"][[ENTITY_KEY]]
    parts = [users] + [frames[name].drop(columns=ENTITY_KEY) for name in FILES if name != "users.csv"]
    table = pd.concat(parts, axis=1)[[ENTITY_KEY, *FEATURES, LABEL]]
    table[LABEL] = table[LABEL].astype("int64")
    if with_split:
        table["split"] = assign_split(table[ENTITY_KEY])
    return table


class EncodedSample:
    """A month's fresh sample encoded once, so that each logistic-regression pipeline scores it
    with one matrix product instead of re-running its encoders on 200,000 rows of text (the
    simulation scores every model trained so far on every month: months^2 / 2 scorings).
    `linear_logits` equals the pipeline's own decision function (checked by the suite), and the
    AUC only reads the order of the scores."""

    def __init__(self, model_frame: pd.DataFrame, pipeline) -> None:
        prep = pipeline.named_steps["prep"]
        columns = {name: list(cols) for name, _, cols in prep.transformers_ if name != "remainder"}
        self.categorical_columns, self.numeric_columns = columns["categorical"], columns["numeric"]
        self.codes, self.uniques = {}, {}
        for col in self.categorical_columns:
            self.codes[col], self.uniques[col] = pd.factorize(model_frame[col], use_na_sentinel=False)
        self.numeric = model_frame[self.numeric_columns].to_numpy(dtype=float)
        self.missing = np.isnan(self.numeric)

    def linear_logits(self, pipeline) -> np.ndarray:
        prep, estimator = pipeline.named_steps["prep"], pipeline.named_steps["model"]
        encoder = prep.named_transformers_["categorical"]
        imputer, scaler = prep.named_transformers_["numeric"]
        weights = estimator.coef_[0]
        logits = np.full(len(self.numeric), float(estimator.intercept_[0]))
        offset = 0
        for col, categories in zip(self.categorical_columns, encoder.categories_):
            known = {category: offset + i for i, category in enumerate(categories)}
            # A category the model never saw is all zeros in its one-hot encoding (handle_unknown).
            per_unique = np.array([weights[known[u]] if u in known else 0.0 for u in self.uniques[col]])
            logits += per_unique[self.codes[col]]
            offset += len(categories)
        imputed = np.where(self.missing, imputer.statistics_, self.numeric)
        indicators = self.missing[:, imputer.indicator_.features_].astype(float)
        design = (np.hstack([imputed, indicators]) - scaler.mean_) / scaler.scale_
        return logits + design @ weights[offset:]


@dataclass
class Measured:
    """Everything the policies can be judged on, for one seed and month size, measured once:
    for month t, `true_auc[t][j]` is model j's (j <= t) true AUC on month t's fresh sample and
    `compared[t][j]` (j < t) candidate t against model j on month t's validation rows."""

    seed: int
    users: int
    specs: list[MonthSpec]
    true_auc: list[list[float]]
    compared: list[list[tuple[float, float, AucComparison]]]  # (candidate val AUC, model j val AUC, DeLong)


def measure(
    sizes: Sequence[int] = DEFAULT_SIZES,
    seeds: Sequence[int] = (1, 2, 3, 4, 5),
    month_count: int = 24,
    truth_users: int = 200_000,
    params: ModelParams = ModelParams(),
    ci_level: float = 0.90,
    log=print,
) -> list[Measured]:
    """Train every month's candidate at every size and measure every pair the policies may meet."""
    if params.kind != "logistic_regression":
        raise ValueError(f"the simulation scores its fresh samples as logistic regressions, not {params.kind}")
    measured = []
    for seed in seeds:
        specs = scenario(seed, month_count)
        truth = simulate_months(truth_users, specs, seed=seed + TRUTH_SEED_OFFSET)
        samples = {size: simulate_months(size, specs, seed=seed) for size in sizes}
        runs = {size: Measured(seed, size, specs, [], []) for size in sizes}
        models: dict[int, list] = {size: [] for size in sizes}
        for month_index, spec in enumerate(specs):
            started = time.perf_counter()
            truth_month = next(truth)
            truth_frame = to_model_frame(month_table(truth_month.frames, with_split=False))
            encoded_truth = None
            for size in sizes:
                data = month_table(next(samples[size]).frames)
                train, validation = data[data["split"] == TRAIN], data[data["split"] == VALIDATION]
                model = build_pipeline(params)
                model.fit(to_model_frame(train), train[LABEL].to_numpy())
                models[size].append(model)
                encoded_truth = encoded_truth or EncodedSample(truth_frame, model)
                encoded_validation = EncodedSample(to_model_frame(validation), model)
                # Every model trained so far, on this month's fresh sample and validation rows
                # (logits: the same order as the probabilities, so the same AUCs and DeLong test).
                runs[size].true_auc.append(
                    [weighted_auc(truth_month.probability, encoded_truth.linear_logits(m)) for m in models[size]]
                )
                y = validation[LABEL].to_numpy()
                val_scores = [encoded_validation.linear_logits(m) for m in models[size]]
                candidate_auc = roc_auc(y, val_scores[-1])
                runs[size].compared.append(
                    [(candidate_auc, roc_auc(y, old), delong(y, val_scores[-1], old, ci_level)) for old in val_scores[:-1]]
                )
            shift = f" shift {spec.concept_shift}" if spec.kind == "concept_drift" else ""
            log(f"seed {seed} month {month_index + 1}/{len(specs)} {spec.kind}{shift} (label noise {spec.label_noise}): "
                f"{time.perf_counter() - started:.1f} s")
        measured += runs.values()
    return measured


def play(run: Measured, name: str, policy: PromotionPolicy) -> list[dict]:
    """One policy through one measured run: each month it decides against its own production."""
    production, rows = 0, []  # month 0: every policy bootstraps on the first candidate
    for month_index in range(1, len(run.specs)):
        spec = run.specs[month_index]
        candidate_auc, production_auc, comparison = run.compared[month_index][production]
        if policy.needs_comparison and abs(comparison.ci_level - policy.ci_level) > 1e-12:
            comparison = replace_level(comparison, policy.ci_level)
        decision = decide(candidate_auc, production_auc, policy, comparison=comparison, has_production=True)
        truth = run.true_auc[month_index]
        before = production
        if decision.promote:
            production = month_index
        rows.append(
            {
                "seed": run.seed,
                "users": run.users,
                "month": month_index,
                "kind": spec.kind,
                "concept_shift": spec.concept_shift if spec.kind == "concept_drift" else 0.0,
                "label_noise": spec.label_noise,
                "policy": name,
                "promoted": decision.promote,
                "val_difference": comparison.difference,
                "p_value": comparison.p_value,
                "true_candidate_auc": truth[month_index],
                "true_production_auc": truth[before],
                "true_best_auc": max(truth),
                "true_production_after_auc": truth[production],
            }
        )
    return rows


def replace_level(comparison: AucComparison, ci_level: float) -> AucComparison:
    """The same comparison with its interval at another level (the SE and p-value do not change)."""
    half = float(norm.ppf(0.5 + ci_level / 2.0)) * comparison.standard_error
    return dataclasses.replace(
        comparison, ci_level=ci_level, ci_low=max(-1.0, comparison.difference - half), ci_high=min(1.0, comparison.difference + half)
    )


def simulate(
    sizes: Sequence[int] = DEFAULT_SIZES,
    seeds: Sequence[int] = (1, 2, 3, 4, 5),
    month_count: int = 24,
    truth_users: int = 200_000,
    policies: dict[str, PromotionPolicy] = POLICIES,
    log=print,
) -> pd.DataFrame:
    """One row per seed, size, decision month and policy: the decision and the truth behind it."""
    measured = measure(sizes, seeds, month_count, truth_users, log=log)
    return trace_of(measured, policies)


def trace_of(measured: list[Measured], policies: dict[str, PromotionPolicy] = POLICIES) -> pd.DataFrame:
    return pd.DataFrame([row for run in measured for name, policy in policies.items() for row in play(run, name, policy)])


def summarize(trace: pd.DataFrame, delta: float = DELTA) -> pd.DataFrame:
    """Per month size and policy: decisions, promotions, false and missed promotions, regret."""
    gain = trace["true_candidate_auc"] - trace["true_production_auc"]
    frame = trace.assign(
        false_promotion=trace["promoted"] & (gain <= 0),
        opportunity=gain >= delta,
        missed_promotion=~trace["promoted"] & (gain >= delta),
        regret=trace["true_best_auc"] - trace["true_production_after_auc"],
    )
    summary = (
        frame.groupby(["users", "policy"], sort=False)
        .agg(
            decisions=("promoted", "size"),
            promotions=("promoted", "sum"),
            false_promotions=("false_promotion", "sum"),
            opportunities=("opportunity", "sum"),
            missed_promotions=("missed_promotion", "sum"),
            regret=("regret", "mean"),
            max_regret=("regret", "max"),
        )
        .reset_index()
    )
    base = summary[summary["policy"] == "delta"].set_index("users")
    summary["false_vs_delta"] = [
        row.false_promotions / base.loc[row.users, "false_promotions"] if base.loc[row.users, "false_promotions"] else np.nan
        for row in summary.itertuples()
    ]
    summary["regret_vs_delta"] = [
        row.regret / base.loc[row.users, "regret"] if base.loc[row.users, "regret"] else np.nan for row in summary.itertuples()
    ]
    return summary


def to_markdown(summary: pd.DataFrame, header: str) -> str:
    lines = [
        header,
        "",
        "| users | policy | decisions | promoted | false promotions | truly better by >= delta | missed | mean regret | max regret | false vs delta | regret vs delta |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in summary.itertuples():
        ratio = lambda v: "-" if pd.isna(v) else f"{v:.2f}"  # noqa: E731
        lines.append(
            f"| {row.users:,} | {row.policy} | {row.decisions} | {row.promotions} | {row.false_promotions} | "
            f"{row.opportunities} | {row.missed_promotions} | {row.regret:.4f} | {row.max_regret:.4f} | "
            f"{ratio(row.false_vs_delta)} | {ratio(row.regret_vs_delta)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.decisions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="month sizes (users)")
    parser.add_argument("--seeds", type=int, default=5, help="scenarios (seeds 1..N)")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--truth-users", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/decisions.md"))
    parser.add_argument("--replay", type=Path, default=None,
                        help="play the policies on the measurements a previous run kept (its .pickle) instead of measuring")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    seeds = list(range(1, args.seeds + 1))
    started = time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.replay:
        measured = pickle.loads(args.replay.read_bytes())
        sizes = sorted({run.users for run in measured})
        seeds = sorted({run.seed for run in measured})
        args.months = len(measured[0].specs)
    else:
        measured = []
        for seed in seeds:
            measured += measure(sizes, [seed], args.months, args.truth_users)
            # Kept (after every seed) so that other policies can be played on the same measurements.
            args.out.with_suffix(".pickle").write_bytes(pickle.dumps(measured))
    trace = trace_of(measured)
    summary = summarize(trace)
    command = (
        f"--sizes {','.join(map(str, sizes))} --seeds {len(seeds)} --months {args.months} --truth-users {args.truth_users}"
    )
    header = (
        f"# Promotion policies against known truth\n\n"
        f"`python -m benchmarks.decisions {command}`{' (replayed from its kept measurements)' if args.replay else ''}: "
        f"{len(seeds)} scenario(s) of {args.months} months, delta {DELTA}, default logistic regression, true AUCs on "
        f"{args.truth_users:,} fresh users per month; {time.perf_counter() - started:.0f} s."
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(to_markdown(summary, header))
    trace.to_csv(args.out.with_suffix(".csv"), index=False)
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
