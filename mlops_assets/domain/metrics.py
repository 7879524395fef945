"""ROC AUC, the one metric both candidate and production are judged by."""

from __future__ import annotations

import numpy as np


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

