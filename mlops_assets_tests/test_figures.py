"""The figures are real PNGs, small enough for the event log, and show what they claim: the
colours that mean "drifted", "production" or "promoted" appear exactly when the data says so."""

import base64
import io

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from mlops_assets import figures
from mlops_assets.figures import DriftBar, TrendPoint

MAX_PNG_BYTES = 80_000  # each image travels base64-encoded in the event log


def pixels(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) < MAX_PNG_BYTES
    return imread(io.BytesIO(png), format="png")[..., :3]


def has_colour(image: np.ndarray, colour: str, tolerance: float = 0.02, at_least: int = 20) -> bool:
    close = np.all(np.abs(image - np.array(to_rgb(colour))) < tolerance, axis=-1)
    return int(close.sum()) >= at_least


@pytest.fixture
def validation():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 600)
    good = np.clip(labels * 0.35 + rng.random(600) * 0.65, 0, 1)
    weak = rng.random(600)
    return labels, good, weak


def test_roc_draws_production_only_when_there_is_one(validation):
    labels, good, weak = validation
    both = pixels(figures.roc_figure(labels, good, weak, candidate_auc=0.81, production_auc=0.5, delta=0.01,
                                     decision="promoted", month="2024-03"))
    alone = pixels(figures.roc_figure(labels, good, None, candidate_auc=0.81, production_auc=None, delta=0.01,
                                      decision="promoted", month="2024-01"))
    assert both.shape[:2] == (round(figures.SIZE[1] * figures.DPI), round(figures.SIZE[0] * figures.DPI))
    assert has_colour(both, figures.CANDIDATE_COLOR) and has_colour(both, figures.PRODUCTION_COLOR)
    assert has_colour(alone, figures.CANDIDATE_COLOR) and not has_colour(alone, figures.PRODUCTION_COLOR)


def test_trend_marks_promoted_months_only():
    points = [TrendPoint("2024-01", 0.81, None, True), TrendPoint("2024-03", 0.82, 0.54, True),
              TrendPoint("2024-02", None, None, False)]
    marked = pixels(figures.auc_trend_figure(points))
    unmarked = pixels(figures.auc_trend_figure([TrendPoint("2024-04", 0.8205, 0.8198, False)]))
    assert has_colour(marked, figures.PROMOTED_COLOR)
    assert not has_colour(unmarked, figures.PROMOTED_COLOR)


def test_drift_bars_are_red_only_for_drifted_features():
    steady = [DriftBar("monthly_fee", 0.02, 0.1, False, "wasserstein"), DriftBar("contract_type", 0.01, 0.1, False)]
    drifted = steady + [DriftBar("watch_hours_30d", 0.4, 0.1, True, "wasserstein")]
    target = DriftBar("churn_label", 0.03, 0.1, False, "jensenshannon")
    calm = pixels(figures.drift_figure(steady, target, drift_share=0.0, title="2024-01-31 -> 2024-02-29"))
    alarmed = pixels(figures.drift_figure(drifted, None, drift_share=1 / 3, title="2024-02-29 -> 2024-03-31"))
    assert has_colour(calm, figures.STEADY_COLOR) and not has_colour(calm, figures.DRIFTED_COLOR)
    assert has_colour(alarmed, figures.DRIFTED_COLOR)


def test_calibration_and_score_distribution_show_both_classes(validation):
    labels, good, _ = validation
    image = pixels(figures.calibration_figure(labels, good, month="2024-03"))
    assert has_colour(image, figures.CANDIDATE_COLOR)
    assert has_colour(image, figures.STAYED_COLOR) and has_colour(image, figures.CHURNED_COLOR)
    only_stayed = pixels(figures.calibration_figure(np.zeros(50, dtype=int), good[:50], month="2024-03"))
    assert has_colour(only_stayed, figures.STAYED_COLOR)
    assert not has_colour(only_stayed, figures.CHURNED_COLOR, at_least=60)


def test_churn_scores_figure_counts_users_per_band():
    scores = np.linspace(0, 1, 300)
    image = pixels(figures.churn_scores_figure(scores, {"low": 150, "medium": 90, "high": 60}, month="2024-03"))
    assert has_colour(image, figures.CANDIDATE_COLOR) and has_colour(image, figures.STEADY_COLOR)


def test_markdown_image_embeds_the_png():
    png = figures.auc_trend_figure([TrendPoint("2024-01", 0.8, None, True)])
    markdown = figures.markdown_image(png, "trend")
    prefix = "![trend](data:image/png;base64,"
    assert markdown.startswith(prefix) and markdown.endswith(")")
    assert base64.b64decode(markdown[len(prefix):-1]) == png
