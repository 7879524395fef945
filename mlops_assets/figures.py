"""The pictures people look at in the Dagster UI and MLflow: data in, PNG bytes out.

Pure functions (no Dagster, no MLflow, no files): each builds a matplotlib `Figure` on the Agg
canvas (no pyplot, so no global state and no display needed) and returns the PNG. They are small
on purpose (about 480x320 px at 80 dpi, tens of KB): they travel base64-encoded in the event log
of every materialization, as `![..](data:image/png;base64,..)` Markdown (`markdown_image`).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from mlops_assets.domain.metrics import format_auc

DPI = 80
SIZE = (6.0, 4.0)
WIDE = (8.0, 3.6)
CANDIDATE_COLOR = "#1f77b4"
PRODUCTION_COLOR = "#ff7f0e"
STAYED_COLOR = "#9467bd"
CHURNED_COLOR = "#8c564b"
PROMOTED_COLOR = "#2ca02c"
DRIFTED_COLOR = "#d62728"
STEADY_COLOR = "#9ecae1"


@dataclass(frozen=True)
class TrendPoint:
    """One month of the AUC trend: the candidate's and production's AUC on the same rows."""

    month: str
    candidate_auc: float | None
    production_auc: float | None
    promoted: bool


@dataclass(frozen=True)
class DriftBar:
    """One column's drift: its score, the threshold of its test, and whether the test failed.

    p-value tests (small samples) drift when the score is *below* the threshold, distance tests
    (Wasserstein, Jensen-Shannon) when it is at or above it; the bar chart marks the threshold
    either way and colours the bar by the test's own verdict."""

    column: str
    score: float | None
    threshold: float
    drifted: bool
    method: str = ""


def _figure(size=SIZE, ncols: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, ncols)
    return figure, axes


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _auc(value: float | None) -> str:
    return format_auc(value, missing="n/a")


def markdown_image(png: bytes, alt: str) -> str:
    """Markdown that Dagster's metadata dialog (and MLflow's descriptions) render as the image."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def roc_figure(
    labels: Sequence[int],
    candidate_scores: Sequence[float],
    production_scores: Sequence[float] | None,
    *,
    candidate_auc: float | None,
    production_auc: float | None,
    delta: float,
    decision: str,
    month: str,
) -> bytes:
    """Candidate and production ROC curves on the same validation rows, one figure."""
    from sklearn.metrics import roc_curve

    y = np.asarray(labels)
    figure, ax = _figure()
    curves = [("candidate", candidate_scores, candidate_auc, CANDIDATE_COLOR)]
    if production_scores is not None:
        curves.append(("production", production_scores, production_auc, PRODUCTION_COLOR))
    for name, scores, auc, color in curves:
        fpr, tpr, _ = roc_curve(y, np.asarray(scores, dtype=float))
        ax.plot(fpr, tpr, color=color, lw=2, label=f"{name} AUC {_auc(auc)}")
    ax.plot([0, 1], [0, 1], color="#cccccc", lw=1, ls="--")
    gain = (
        f", gain {candidate_auc - production_auc:+.4f}"
        if candidate_auc is not None and production_auc is not None and np.isfinite(production_auc)
        else ""
    )
    ax.set_title(f"{month}: {decision} (delta {delta:g}{gain})", fontsize=10)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(loc="lower right", fontsize=9)
    return _png(figure)


def auc_trend_figure(points: Sequence[TrendPoint]) -> bytes:
    """Candidate and production AUC per month; promoted months marked with a star."""
    ordered = sorted(points, key=lambda p: p.month)
    months = [p.month for p in ordered]
    x = np.arange(len(months))

    def values(attr):
        return np.array([np.nan if getattr(p, attr) is None else getattr(p, attr) for p in ordered], dtype=float)

    candidate, production = values("candidate_auc"), values("production_auc")
    figure, ax = _figure()
    ax.plot(x, candidate, marker="o", color=CANDIDATE_COLOR, label="candidate")
    ax.plot(x, production, marker="s", color=PRODUCTION_COLOR, label="production (same rows)")
    promoted = np.array([p.promoted for p in ordered], dtype=bool)
    if promoted.any():
        ax.scatter(x[promoted], candidate[promoted], marker="*", s=220, color=PROMOTED_COLOR, zorder=3, label="promoted")
    ax.set_xticks(x, months, rotation=30 if len(months) > 6 else 0, fontsize=8)
    ax.set_ylabel("ROC AUC")
    ax.set_title("AUC per month", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _png(figure)


def drift_figure(columns: Sequence[DriftBar], target: DriftBar | None, *, drift_share: float, title: str) -> bytes:
    """Each feature's drift score against its threshold (drifted bars, dots and names red), the
    target beside. A p-value test drifts *below* its threshold, so its drifted bar may be too short
    to see: the dot at the score and the red name show it anyway."""
    bars = list(columns) + ([target] if target is not None else [])
    figure, ax = _figure(WIDE)
    y = np.arange(len(bars))
    scores = [0.0 if b.score is None else b.score for b in bars]
    colors = [DRIFTED_COLOR if b.drifted else STEADY_COLOR for b in bars]
    ax.barh(y, scores, color=colors, edgecolor=["black" if b is target else "none" for b in bars])
    ax.scatter(scores, y, s=24, color=colors, zorder=3)
    ax.scatter([b.threshold for b in bars], y, marker="|", s=200, color="black", zorder=4, label="threshold")
    labels = [f"{'target ' if b is target else ''}{b.column}" + (f" ({b.method})" if b.method else "") for b in bars]
    ax.set_yticks(y, labels, fontsize=7)
    for tick, bar in zip(ax.get_yticklabels(), bars):
        tick.set_color(DRIFTED_COLOR if bar.drifted else "black")
    ax.use_sticky_edges = False  # keep a dot at score 0 inside the axes
    ax.margins(x=0.02)
    ax.invert_yaxis()
    ax.set_xlabel("drift score (p-value tests: drifted below the threshold; distances: above)", fontsize=8)
    ax.set_title(f"{title}: drift_share {drift_share:.3f} (red: drifted)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    return _png(figure)


def calibration_figure(labels: Sequence[int], scores: Sequence[float], *, month: str, bins: int = 10) -> bytes:
    """The calibration curve (observed churn rate per score bin) and the score distribution by class."""
    y = np.asarray(labels).astype(int)
    p = np.asarray(scores, dtype=float)
    figure, (left, right) = _figure(WIDE, ncols=2)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    filled = [b for b in range(bins) if (which == b).any()]
    left.plot([0, 1], [0, 1], color="#cccccc", ls="--", lw=1)
    left.plot([p[which == b].mean() for b in filled], [y[which == b].mean() for b in filled], marker="o", color=CANDIDATE_COLOR)
    left.set_xlabel("mean predicted churn")
    left.set_ylabel("observed churn rate")
    left.set_xlim(0, 1)
    left.set_ylim(0, 1)
    left.set_title(f"{month}: calibration", fontsize=10)
    for label, color, name in ((0, STAYED_COLOR, "stayed"), (1, CHURNED_COLOR, "churned")):
        if not (y == label).any():
            continue
        right.hist(p[y == label], bins=edges, histtype="step", lw=2, color=color, label=f"{name} ({int((y == label).sum())})")
    right.set_xlabel("predicted churn probability")
    right.set_ylabel("validation users")
    right.set_title("score distribution by class", fontsize=10)
    right.legend(fontsize=8)
    return _png(figure)


def churn_scores_figure(scores: Sequence[float], users_per_band: Mapping[str, int], *, month: str) -> bytes:
    """The churn-score distribution and how many users fall in each risk band (bands in the given order)."""
    p = np.asarray(scores, dtype=float)
    figure, (left, right) = _figure(WIDE, ncols=2)
    left.hist(p, bins=np.linspace(0.0, 1.0, 21), color=CANDIDATE_COLOR)
    left.set_xlabel("churn score")
    left.set_ylabel("users")
    left.set_title(f"{month}: {len(p)} users scored", fontsize=10)
    names, counts = list(users_per_band), [int(users_per_band[n]) for n in users_per_band]
    bars = right.bar(names, counts, color=STEADY_COLOR)
    right.bar_label(bars, fontsize=8)
    right.set_ylabel("users")
    right.set_title("users per risk band", fontsize=10)
    return _png(figure)
