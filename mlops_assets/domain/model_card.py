"""The model card MLflow shows: the registered model's description and each version's.

Plain Markdown from plain values (no MLflow here), so the text is unit-tested and the registry
resource only writes it. Numbers are rounded where people read them (4 decimals for AUCs and
losses, 3 for shares); the tags and the decision record keep full precision.
"""

from __future__ import annotations

from collections.abc import Mapping

from functools import partial

from mlops_assets.domain.metrics import format_auc, format_share
from mlops_assets.domain.schema import FEATURE_VIEWS, LABEL

_auc = partial(format_auc, missing="n/a")
_share = partial(format_share, missing="n/a")


def model_description(model_name: str, production_alias: str, drift_threshold: float) -> str:
    views = "\n".join(f"- `{view}`: {', '.join(columns)}" for view, columns in FEATURE_VIEWS.items())
    return (
        f"# {model_name}\n\n"
        f"Predicts `{LABEL}`: the probability that a StreamFlow subscriber churns in the month after "
        "`as_of` (the month's last day). One version per month the cycle retrains.\n\n"
        f"## Features (Feast, point in time at `as_of`)\n{views}\n\n"
        "## Promotion policy\n"
        f"`@{production_alias}` moves to a candidate only if `candidate_auc >= production_auc + delta`, both "
        "measured by ROC AUC on the same validation rows (a stable hash of `user_id`), after the "
        "registered model loads and re-scores those rows to its logged AUC. The first vetted candidate "
        "is promoted (bootstrap); an old month never moves production backwards. Retraining runs when "
        f"the month's drift share is at least {drift_threshold:g}. Each version's description is its "
        "card: the month, data, metrics and the decision with its reason."
    )


def version_card(card: Mapping) -> str:
    """A version's card. `card` holds what is known: at registration the decision is pending;
    promotion_decision writes it again with production's AUC, the decision and the reason."""
    params = card.get("params") or {}
    metrics = card.get("metrics") or {}
    lines = [
        f"# {card['month']}: candidate v{card['version']}",
        "",
        "| | |",
        "|---|---|",
        f"| month (as_of) | {card['month']} ({card['as_of']}) |",
        f"| rows | {card['train_rows']} train, {card['validation_rows']} validation |",
        f"| model kind | {params.get('kind', '?')} |",
        f"| parameters | {', '.join(f'{k}={v}' for k, v in params.items() if k != 'kind') or '-'} |",
        f"| val_auc | {_auc(card.get('val_auc'))} |",
        *(f"| {name} | {_auc(value)} |" for name, value in metrics.items()),
        f"| production AUC, same rows | {_production(card)} |",
        f"| decision | {card.get('decision') or 'pending (promotion_decision)'} |",
        f"| reason | {card.get('reason') or '-'} |",
        f"| drift share | {_share(card.get('drift_share'))} |",
        f"| data fingerprint | `{card['data_fingerprint']}` |",
        "",
        f"Features ({sum(len(c) for c in FEATURE_VIEWS.values())}): "
        + ", ".join(c for cols in FEATURE_VIEWS.values() for c in cols),
    ]
    return "\n".join(lines)


def _production(card: Mapping) -> str:
    if "production_auc" not in card:
        return "pending"
    if card.get("production_version") is None:
        return "none (no production model yet)"
    return f"{_auc(card['production_auc'])} (v{card['production_version']})"
