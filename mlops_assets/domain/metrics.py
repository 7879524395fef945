"""ROC AUC, the one metric both candidate and production are judged by."""

from __future__ import annotations

import numpy as np


def format_auc(value: float | None, missing: str = "None") -> str:
    """An AUC (or a loss) as people read it: 4 decimals. Records keep full precision."""
    return missing if value is None or value != value else f"{value:.4f}"


def format_share(value: float | None, missing: str = "None") -> str:
    """A share (drift share, churn rate) as people read it: 3 decimals."""
    return missing if value is None or value != value else f"{value:.3f}"


class UndefinedMetricError(ValueError):
    """AUC is undefined: the rows hold one class only, or the scores are not finite."""


def roc_auc(y_true, scores) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true, dtype=float)
    s = np.asarray(scores, dtype=float)
    if len(y) == 0:
        raise UndefinedMetricError("ROC AUC is undefined on zero rows")
    classes = np.unique(y[~np.isnan(y)])
    if len(classes) < 2:
        raise UndefinedMetricError(
            f"ROC AUC is undefined: the {len(y)} validation rows hold one class only ({classes.tolist()})"
        )
    if not np.all(np.isfinite(s)):
        raise UndefinedMetricError(f"ROC AUC is undefined: {int((~np.isfinite(s)).sum())} scores are NaN or infinite")
    return float(roc_auc_score(y, s))



def probability_metrics(y_true, scores) -> dict[str, float]:
    """How good the churn probabilities are beyond ranking: log loss, Brier score, PR AUC
    (average precision). Logged on the candidate's MLflow run next to val_auc."""
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss

    y = np.asarray(y_true, dtype=int)
    s = np.clip(np.asarray(scores, dtype=float), 1e-15, 1 - 1e-15)
    return {
        "log_loss": float(log_loss(y, s, labels=[0, 1])),
        "brier_score": float(brier_score_loss(y, s)),
        "pr_auc": float(average_precision_score(y, s)),
    }
