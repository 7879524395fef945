"""Suspicious but valid data: what a month's snapshot looks like when an extract is stale, broken
or changed shape, although every value passed validation.

Each finding names the month, the file and the column (or the file), so whoever delivered the
data knows where to look. None of them stops the month: the snapshot asset reports them as
warnings (metadata and a WARN-severity asset check).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import pandas as pd

from mlops_assets.domain import schema

CONSTANT_COLUMN = "constant_column"
EMPTY_COLUMN = "empty_column"
NEW_CATEGORY = "new_category"
IDENTICAL_FILE = "identical_file"
IGNORED_COLUMNS = "ignored_columns"
KINDS = (CONSTANT_COLUMN, EMPTY_COLUMN, NEW_CATEGORY, IDENTICAL_FILE, IGNORED_COLUMNS)

# Columns that are one value by construction (the month's date) or must differ (the key).
_NOT_JUDGED = (schema.ENTITY_KEY, "as_of")


@dataclass(frozen=True)
class QualityFinding:
    kind: str  # one of KINDS
    file: str
    subject: str  # the column, or the file itself
    message: str  # `month 2024-02: usage_agg_30d.csv column avg_session_mins_7d has one value ...`

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _show(value) -> str:
    return repr(value.item() if hasattr(value, "item") else value)


def column_findings(snapshot: pd.DataFrame, month: str) -> list[QualityFinding]:
    """Columns empty for every user (an upstream extract lost them) and columns with one value
    for every user (nothing a model can learn from; often a placeholder written by the extract)."""
    findings = []
    users = len(snapshot)
    for column in snapshot.columns:
        if column in _NOT_JUDGED or users == 0:
            continue
        file = schema.FILE_OF.get(column, "snapshot")
        values = snapshot[column]
        missing = int(values.isna().sum())
        if missing == users:
            findings.append(
                QualityFinding(EMPTY_COLUMN, file, column, f"month {month}: {file} column {column} is empty for every user ({users} users)")
            )
        elif missing == 0 and _one_value(values):
            findings.append(
                QualityFinding(
                    CONSTANT_COLUMN,
                    file,
                    column,
                    f"month {month}: {file} column {column} has one value ({_show(values.iloc[0])}) for every user ({users} users)",
                )
            )
    return findings


def _one_value(values: pd.Series) -> bool:
    """`values.nunique() == 1` for a column without missing values: numbers, booleans and dates by
    their least and greatest value (no hashing of every row); text by its distinct values."""
    kind = values.dtype
    if pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind) or pd.api.types.is_datetime64_any_dtype(kind):
        return bool(values.min() == values.max())
    return values.nunique() == 1


def category_values(snapshot: pd.DataFrame) -> dict[str, list[str]]:
    """The values each categorical column holds this month (kept in the snapshot's metadata, so a
    later month knows what was seen before)."""
    return {
        column: sorted(str(v) for v in snapshot[column].dropna().unique())
        for column in schema.KNOWN_CATEGORIES
        if column in snapshot.columns
    }


def new_category_findings(
    snapshot: pd.DataFrame, month: str, seen: Mapping[str, Iterable[str]] | None = None
) -> list[QualityFinding]:
    """Values of a categorical column that neither the schema knows nor any earlier month held,
    counted per value."""
    seen = seen or {}
    findings = []
    for column, known_values in schema.KNOWN_CATEGORIES.items():
        if column not in snapshot.columns:
            continue
        known = set(known_values) | set(seen.get(column, ()))
        values = snapshot[column].dropna()
        counts = values[~values.isin(known)].value_counts()
        if counts.empty:
            continue
        file = schema.FILE_OF[column]
        shown = ", ".join(f"{value!r} ({count} users)" for value, count in counts.items())
        findings.append(
            QualityFinding(
                NEW_CATEGORY,
                file,
                column,
                f"month {month}: {file} column {column} has {len(counts)} value(s) never seen before: {shown}",
            )
        )
    return findings


def identical_file_findings(
    month: str, digests: Mapping[str, str], previous_month: str, previous_digests: Mapping[str, str] | None
) -> list[QualityFinding]:
    """Files byte-identical to the previous month's import: most likely a stale extract (users and
    subscriptions change every month, if only months_active)."""
    if not previous_digests:
        return []
    return [
        QualityFinding(
            IDENTICAL_FILE,
            name,
            name,
            f"month {month}: {name} is byte-identical to month {previous_month}'s (sha256 {digest[:12]}): a stale extract?",
        )
        for name, digest in digests.items()
        if previous_digests.get(name) == digest
    ]


def ignored_column_findings(month: str, ignored_columns: Mapping[str, Iterable[str]]) -> list[QualityFinding]:
    """Extra columns the importer ignored, per file: maybe a renamed column the model now misses."""
    return [
        QualityFinding(IGNORED_COLUMNS, file, ", ".join(columns), f"month {month}: {file} has extra column(s) {', '.join(columns)}, ignored")
        for file, columns in ignored_columns.items()
        if columns
    ]


def quality_findings(
    snapshot: pd.DataFrame,
    month: str,
    *,
    digests: Mapping[str, str],
    ignored_columns: Mapping[str, Iterable[str]],
    previous_month: str,
    previous_digests: Mapping[str, str] | None = None,
    seen_categories: Mapping[str, Iterable[str]] | None = None,
) -> list[QualityFinding]:
    """Every finding for one month, in a stable order: columns, categories, files, extra columns."""
    return [
        *column_findings(snapshot, month),
        *new_category_findings(snapshot, month, seen_categories),
        *identical_file_findings(month, digests, previous_month, previous_digests),
        *ignored_column_findings(month, ignored_columns),
    ]
