"""The decision simulation (benchmarks/decisions.py) in miniature: four months at 1,000 users, one
seeded scenario, a 20,000-user truth sample. Checks that the table is produced, agrees with the
per-decision trace it summarizes, and that the fast scoring of the fresh sample is the pipeline's."""

import re

import numpy as np
import pandas as pd
import pytest

from benchmarks import decisions
from mlops_assets.domain.model import build_pipeline, to_model_frame
from mlops_assets.generator import simulate_months


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("decisions") / "decisions.md"
    assert decisions.main(["--sizes", "1000", "--seeds", "1", "--months", "4", "--truth-users", "20000", "--out", str(out)]) == 0
    return out.read_text(), pd.read_csv(out.with_suffix(".csv"))


def test_the_scenario_is_seeded_and_holds_every_kind():
    full = decisions.scenario(3, 24)
    assert full == decisions.scenario(3, 24) and full != decisions.scenario(4, 24)
    assert len(full) == 24 and full[0].kind == "baseline"
    kinds = [m.kind for m in full]
    assert kinds.count("covariate_drift") == 3 and kinds.count("concept_drift") == 5
    assert {m.concept_shift for m in full if m.kind == "concept_drift"} == set(decisions.CONCEPT_SHIFTS)
    assert len({m.label_noise for m in full}) == 1


def test_the_table_is_produced_with_a_row_per_policy(run):
    table, trace = run
    rows = [line for line in table.splitlines() if re.match(r"\| 1,000 \|", line)]
    assert [row.split(" | ")[1] for row in rows] == list(decisions.POLICIES)
    # Three decision months (the first is the bootstrap) for each policy.
    assert len(trace) == 3 * len(decisions.POLICIES)
    assert (trace.groupby("policy").size() == 3).all()


def test_the_table_agrees_with_the_trace(run):
    table, trace = run
    summary = decisions.summarize(trace)
    for row in summary.itertuples():
        gain = trace.loc[trace["policy"] == row.policy, "true_candidate_auc"] - trace.loc[trace["policy"] == row.policy, "true_production_auc"]
        promoted = trace.loc[trace["policy"] == row.policy, "promoted"]
        assert row.decisions == 3
        assert row.false_promotions == int((promoted & (gain <= 0)).sum()) <= row.promotions <= row.decisions
        assert row.missed_promotions == int((~promoted & (gain >= decisions.DELTA)).sum()) <= row.opportunities
        assert 0.0 <= row.regret <= row.max_regret
        line = next(l for l in table.splitlines() if l.startswith(f"| 1,000 | {row.policy} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[2:7] == [str(row.decisions), str(row.promotions), str(row.false_promotions),
                              str(row.opportunities), str(row.missed_promotions)]
        assert cells[7] == f"{row.regret:.4f}"
    # Regret is measured after the decision: production's true AUC never exceeds the best so far.
    assert (trace["true_best_auc"] >= trace["true_production_after_auc"] - 1e-12).all()
    assert ((trace["p_value"] >= 0) & (trace["p_value"] <= 1)).all()


def test_fast_scoring_of_the_fresh_sample_is_the_pipelines_own():
    specs = decisions.scenario(1, 2)
    train = decisions.month_table(next(simulate_months(1000, specs, seed=1)).frames)
    model = build_pipeline()
    model.fit(to_model_frame(train), train["churn_label"].to_numpy())
    fresh = to_model_frame(decisions.month_table(next(simulate_months(5000, specs, seed=2)).frames, with_split=False))
    logits = decisions.EncodedSample(fresh, model).linear_logits(model)
    np.testing.assert_allclose(logits, model.decision_function(fresh), rtol=0, atol=1e-10)
