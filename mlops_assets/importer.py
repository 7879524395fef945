"""Read a landing month folder (the six CSVs of `schema.FILES`) into one typed, validated
snapshot: one row per user of users.csv.

Every problem raises `SnapshotError` naming the month, the file and what is wrong, so that
whoever delivered the data can fix it without reading this code. Row numbers in messages
count data rows from 1 (the header line is not a row).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from mlops_assets.domain import months, schema

USER_ID_PATTERN = r"^\d{4}-[A-Z]{5}$"
AGGREGATE_FILES = ("usage_agg_30d.csv", "payments_agg_90d.csv", "support_agg_90d.csv")
SNAPSHOT_COLUMNS: tuple[str, ...] = (
    (schema.ENTITY_KEY,)
    + tuple(c for cols in schema.FILES.values() for c in cols if c != schema.ENTITY_KEY)
    + ("as_of",)
)
# How many bad values / rows an error message lists before saying "and N more".
_SHOWN_VALUES = 3
_SHOWN_ROWS = 5


class SnapshotError(ValueError):
    """A landing month that cannot become a snapshot; the message says which month, file and
    problem."""


# --------------------------------------------------------------------------------------
# Parsing one column of text by its kind
# --------------------------------------------------------------------------------------


def parse_column(texts: pd.Series, kind: str, column: str) -> pd.Series:
    """Parse a column read as text (`dtype=str, keep_default_na=False`) by its schema kind.

    Raises ValueError("column <name> has <problem> <values> (rows ...)"); `read_month` adds
    the month and file.
    """
    # Values are taken as written (no trimming): " True" is not a boolean.
    texts = texts.reset_index(drop=True)
    empty = (texts == "").to_numpy()
    if kind == "str":
        if column == schema.ENTITY_KEY:
            _reject(texts, empty, "empty value(s)", column)
        # Elsewhere an empty field is a missing value; the snapshot schema says where that
        # is allowed.
        return texts.astype(object).where(~empty, None)
    if kind == "bool":
        is_true = _truth(texts, empty, column, "non-boolean value(s)", "expected True/False or empty")
        return pd.Series(pd.arrays.BooleanArray(is_true, empty), name=column)
    if kind == "int":
        _reject(texts, empty, "empty value(s)", column)
        numbers = pd.to_numeric(texts, errors="coerce")
        _reject(texts, numbers.isna().to_numpy(), "non-numeric value(s)", column)
        _reject(texts, (numbers < 0).to_numpy(), "negative value(s)", column)
        _reject(texts, (numbers != np.floor(numbers)).to_numpy(), "non-integer value(s)", column)
        _reject(texts, (numbers > 2**62).to_numpy(), "too large value(s)", column)
        return numbers.astype(np.int64).rename(column)
    if kind == "float":
        numbers = pd.to_numeric(texts.where(~empty, "nan"), errors="coerce").astype(np.float64)
        _reject(texts, numbers.isna().to_numpy() & ~empty, "non-numeric value(s)", column)
        _reject(texts, np.isinf(numbers.to_numpy()), "infinite value(s)", column)
        # Fees, payments, hours and minutes: all amounts that cannot be negative.
        _reject(texts, (numbers < 0).to_numpy(), "negative value(s)", column)
        return _correctly_rounded(texts, empty, numbers).rename(column)
    if kind == "label":
        # The course's exports write True/False, our older months 0/1; a blank is an unlabelled
        # user (as if labels.csv had no row for them), not an error.
        is_true = _truth(
            texts, empty, column, "label value(s) other than True/False or 0/1", "expected True/False, 0/1 or empty",
            true_spellings=("True", "1"), false_spellings=("False", "0"),
        )
        return pd.Series(pd.arrays.IntegerArray(is_true.astype(np.int64), empty), name=column)
    if kind == "date":
        _reject(texts, empty, "empty value(s)", column)
        dates = pd.to_datetime(texts, format="%Y-%m-%d", errors="coerce")
        _reject(texts, dates.isna().to_numpy(), "non-date value(s)", column, "expected YYYY-MM-DD")
        return dates.astype("datetime64[ns]").rename(column)
    raise ValueError(f"column {column} has unknown kind {kind!r}")


def _correctly_rounded(texts: pd.Series, empty: np.ndarray, numbers: pd.Series) -> pd.Series:
    """The nearest double to each decimal, as Python's float() and Arrow read it. pandas'
    to_numeric can be one unit in the last place off for long decimals ('900719925474.4375'),
    and the typed fast path (typed_import.py) must give the same bits as this parser."""
    try:
        exact = texts.where(~empty, "nan").astype(np.float64)
    except ValueError:  # a spelling to_numeric reads and float() does not: keep to_numeric's
        return numbers
    return exact if exact.isna().equals(numbers.isna()) else numbers


def _truth(
    texts: pd.Series,
    empty: np.ndarray,
    column: str,
    problem: str,
    hint: str,
    true_spellings: tuple[str, ...] = ("True",),
    false_spellings: tuple[str, ...] = ("False",),
) -> np.ndarray:
    """True where a value means true; refuses anything that is neither true, false nor empty.
    `True`/`False` are matched in any case (TRUE, false); only those rare spellings get
    lower-cased, so the common case stays a plain comparison."""
    is_true = texts.isin(true_spellings).to_numpy()
    is_false = texts.isin(false_spellings).to_numpy()
    other = ~(is_true | is_false | empty)
    if other.any():
        lowered = texts[other].str.lower()
        is_true[other] = (lowered == "true").to_numpy()
        is_false[other] = (lowered == "false").to_numpy()
        other = ~(is_true | is_false | empty)
    _reject(texts, other, problem, column, hint)
    return is_true


def _reject(texts: pd.Series, bad: np.ndarray, problem: str, column: str, hint: str = "") -> None:
    if not bad.any():
        return
    raise ValueError(f"column {column} has {_describe(texts, bad, problem)}" + (f"; {hint}" if hint else ""))


def _describe(texts: pd.Series, bad: np.ndarray, problem: str) -> str:
    """`non-numeric value(s) 'abc' (rows 4, 9)`: a few distinct values, a few row numbers."""
    rows = np.flatnonzero(bad) + 1
    distinct = [v for v in dict.fromkeys(texts.to_numpy()[bad].tolist()) if v != ""]
    shown = "".join(f" {v!r}," for v in distinct[:_SHOWN_VALUES]).rstrip(",")
    if len(distinct) > _SHOWN_VALUES:
        shown += f" and {len(distinct) - _SHOWN_VALUES} other value(s)"
    row_list = ", ".join(str(r) for r in rows[:_SHOWN_ROWS])
    if len(rows) > _SHOWN_ROWS:
        row_list += f" and {len(rows) - _SHOWN_ROWS} more"
    return f"{problem}{shown} (row{'s' if len(rows) > 1 else ''} {row_list})"


# --------------------------------------------------------------------------------------
# Reading the files of one month
# --------------------------------------------------------------------------------------


def _read_file(folder: Path, file_name: str, month_key: str) -> tuple[pd.DataFrame, list[str]]:
    """The file's typed columns indexed by user, and the names of the extra columns it ignored."""
    where = f"month {month_key}: {file_name}"
    try:
        # Everything as text first, so that we, not pandas, decide what a value means.
        texts = pd.read_csv(folder / file_name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise SnapshotError(f"{where} is empty (no header, no rows)") from None
    except pd.errors.ParserError as error:
        raise SnapshotError(f"{where} is not a readable CSV: {error}") from None
    except UnicodeDecodeError as error:
        raise SnapshotError(f"{where} is not UTF-8 text: {error}") from None
    texts.columns = [str(c).strip() for c in texts.columns]
    wanted = schema.FILES[file_name]
    missing = [c for c in wanted if c not in texts.columns]
    if missing:
        raise SnapshotError(f"{where} is missing required column(s) {', '.join(missing)}")
    if texts.empty:
        raise SnapshotError(f"{where} has a header but no rows")
    try:
        frame = pd.DataFrame({c: parse_column(texts[c], kind, c) for c, kind in wanted.items()})
    except ValueError as error:
        raise SnapshotError(f"{where} {error}") from None
    duplicated = frame[schema.ENTITY_KEY].duplicated(keep=False).to_numpy()
    if duplicated.any():
        raise SnapshotError(f"{where} has {_describe(frame[schema.ENTITY_KEY], duplicated, 'duplicate user_id(s)')}")
    return frame.set_index(schema.ENTITY_KEY), [c for c in texts.columns if c not in wanted]


def _some(ids: pd.Index) -> str:
    shown = ", ".join(repr(i) for i in ids[:_SHOWN_VALUES])
    return shown + (f" and {len(ids) - _SHOWN_VALUES} more" if len(ids) > _SHOWN_VALUES else "")


def _aligned(frame: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """`frame` reindexed to `index`; files usually list users in the same order, and then
    the (costly, for a million string ids) hash lookup is skipped."""
    return frame if frame.index.equals(index) else frame.reindex(index)


def _join(frames: dict[str, pd.DataFrame], month_key: str) -> tuple[pd.DataFrame, dict[str, int]]:
    users = frames["users.csv"]
    subscriptions = frames["subscriptions.csv"]
    # Every user has exactly one subscription and every subscription a user: a mismatch
    # means the two files come from different extracts.
    if not subscriptions.index.equals(users.index):
        without = users.index.difference(subscriptions.index)
        if len(without):
            raise SnapshotError(
                f"month {month_key}: subscriptions.csv has no row for {len(without)} user(s) of users.csv: {_some(without)}"
            )
        strangers = subscriptions.index.difference(users.index)
        if len(strangers):
            raise SnapshotError(
                f"month {month_key}: subscriptions.csv has {len(strangers)} row(s) for user(s) not in users.csv: {_some(strangers)}"
            )
    parts = [users, _aligned(subscriptions, users.index)]
    for file_name in AGGREGATE_FILES:
        # A user absent from an aggregate had no events: counts 0, measures unknown.
        aggregate = _aligned(frames[file_name], users.index)
        for column, kind in schema.FILES[file_name].items():
            if kind == "int" and aggregate[column].dtype != np.int64:
                aggregate[column] = aggregate[column].fillna(0).astype(np.int64)
        parts.append(aggregate)
    labels = frames["labels.csv"]
    known = labels.index.equals(users.index)
    of_users = labels if known else labels[labels.index.isin(users.index)]
    label_counts = {
        "unknown_label_users": 0 if known else len(labels) - len(of_users),
        "blank_labels": int(of_users[schema.LABEL].isna().sum()),
        "users_without_label_row": len(users) - len(of_users),
    }
    parts.append(_aligned(labels, users.index).astype({schema.LABEL: "Int64"}))
    snapshot = pd.concat(parts, axis=1).sort_index().reset_index()
    snapshot["as_of"] = pd.Timestamp(months.as_of_for(month_key)).as_unit("ns")
    return snapshot[list(SNAPSHOT_COLUMNS)], label_counts


# --------------------------------------------------------------------------------------
# The snapshot schema
# --------------------------------------------------------------------------------------


_ALLOWED_VALUES = {"contract_type": schema.CONTRACT_TYPES, "user_gender": schema.GENDERS}


def _snapshot_column(name: str, kind: str) -> pa.Column:
    if name == schema.ENTITY_KEY:
        return pa.Column(str, pa.Check.str_matches(USER_ID_PATTERN), unique=True)
    if name in _ALLOWED_VALUES:
        return pa.Column(str, pa.Check.isin(_ALLOWED_VALUES[name]))
    if kind == "str":  # net_service may grow new values; the model copes
        return pa.Column(str, nullable=True)
    if kind == "bool":
        return pa.Column("boolean", nullable=True)
    if kind == "int":
        return pa.Column("int64", pa.Check.ge(0))
    if kind == "float":
        return pa.Column("float64", pa.Check.ge(0), nullable=True)
    if kind == "label":
        return pa.Column("Int64", pa.Check.isin([0, 1]), nullable=True)
    if kind == "date":
        return pa.Column("datetime64[ns]")
    raise ValueError(f"unknown kind {kind!r} for {name}")


SNAPSHOT_SCHEMA = pa.DataFrameSchema(
    {
        **{name: _snapshot_column(name, schema.COLUMN_KINDS[name]) for name in SNAPSHOT_COLUMNS[:-1]},
        "as_of": pa.Column("datetime64[ns]"),
    },
    strict=True,
    ordered=True,
    name="streamflow_snapshot",
)


def _validation_summary(error: pa.errors.SchemaErrors, snapshot: pd.DataFrame) -> str:
    """One clause per failing column and check, e.g. `subscriptions.csv column contract_type
    fails isin([...]) for 'Weekly' (2 row(s), users '0001-ABCDE', '0002-ABCDE')`."""
    clauses = []
    for (column, check), group in error.failure_cases.groupby(["column", "check"], dropna=False, sort=False):
        where = f"{schema.FILE_OF.get(column, 'snapshot')} column {column}" if isinstance(column, str) else "snapshot"
        if check == "not_nullable":
            problem = "has empty value(s)"
        else:
            values = list(dict.fromkeys(group["failure_case"].tolist()))
            shown = ", ".join(repr(v) for v in values[:_SHOWN_VALUES])
            if len(values) > _SHOWN_VALUES:
                shown += f" and {len(values) - _SHOWN_VALUES} other value(s)"
            problem = f"fails {check} for {shown}"
        # Snapshot rows are sorted by user, not in file order: name users, not row numbers.
        positions = [i for i in group["index"].tolist() if isinstance(i, (int, np.integer))]
        users = snapshot[schema.ENTITY_KEY].iloc[positions[:_SHOWN_VALUES]].tolist()
        who = f", users {_some(pd.Index(users))}" if users else ""
        clauses.append(f"{where} {problem} ({len(group)} row(s){who})")
    return "; ".join(clauses)


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def read_month(folder: Path, month_key: str) -> pd.DataFrame:
    """The typed, validated snapshot of one landing month folder (see the module docstring).

    Rows of the aggregate files for users not in users.csv are dropped. `df.attrs` holds what
    the import noticed: `unknown_label_users` (labels.csv rows dropped that way), `blank_labels`
    and `users_without_label_row` (the two ways a user is unlabelled), and `ignored_columns`
    (file name -> the extra columns it had, ignored).
    """
    folder = Path(folder)
    try:
        months.parse_month_key(month_key)
    except months.UnknownMonthError as error:
        raise SnapshotError(f"month {month_key}: {error}") from None
    if not folder.is_dir():
        raise SnapshotError(
            f"month {month_key}: folder {folder} does not exist; expected it to hold "
            f"{', '.join(schema.REQUIRED_FILES)}"
        )
    absent = [name for name in schema.REQUIRED_FILES if not (folder / name).is_file()]
    if absent:
        raise SnapshotError(f"month {month_key}: {folder} is missing file(s) {', '.join(absent)}")
    # A valid month takes the typed Arrow path; anything it does not vouch for comes here, to the
    # text parser, so that every problem is reported as below (typed_import.py).
    from mlops_assets.typed_import import read_month_typed

    typed = read_month_typed(folder, month_key)
    if typed is not None:
        return typed
    return read_month_as_text(folder, month_key)


def read_month_as_text(folder: Path, month_key: str) -> pd.DataFrame:
    """`read_month` by the text parser and the snapshot schema alone: every column read as text
    and parsed here, which is what names bad values, files and rows in messages."""
    frames, ignored_columns = {}, {}
    for name in schema.REQUIRED_FILES:
        frames[name], extra = _read_file(folder, name, month_key)
        if extra:
            ignored_columns[name] = extra
    snapshot, label_counts = _join(frames, month_key)
    try:
        snapshot = SNAPSHOT_SCHEMA.validate(snapshot, lazy=True)
    except pa.errors.SchemaErrors as error:
        raise SnapshotError(f"month {month_key}: {_validation_summary(error, snapshot)}") from None
    snapshot.attrs.update(label_counts, ignored_columns=ignored_columns)
    return snapshot


def ready_months(landing: Path) -> dict[str, Path]:
    """month key -> folder for every landing subfolder named like a month that holds all six
    files (a month still being copied is not ready yet). Sorted by month."""
    landing = Path(landing)
    found: dict[str, Path] = {}
    if not landing.is_dir():
        return found
    for folder in landing.iterdir():
        month_key = months.month_key_from_folder_name(folder.name)
        if month_key is None or not folder.is_dir():
            continue
        if not all((folder / name).is_file() for name in schema.REQUIRED_FILES):
            continue
        if month_key in found:
            # `2024-02` and `2024-02-29` both ready: which one is the truth is not ours to guess.
            raise SnapshotError(
                f"month {month_key}: two landing folders hold it ({found[month_key].name}, {folder.name}); keep one"
            )
        found[month_key] = folder
    return dict(sorted(found.items()))


def fingerprint(folder: Path) -> str:
    """sha256 over the six files' names and bytes: a redelivery with different content gets a
    different fingerprint, an identical copy the same one."""
    return _hash_delivery(folder, per_file=False)[0]


def file_digests(folder: Path) -> dict[str, str]:
    """sha256 of each of the six files: a file byte-identical to the previous month's is a stale
    extract (`domain.quality.identical_file_findings`)."""
    return _hash_delivery(folder, per_file=True)[1]


def delivery_hashes(folder: Path) -> tuple[str, dict[str, str]]:
    """(`fingerprint`, `file_digests`) of a month folder, reading each file once."""
    return _hash_delivery(folder, per_file=True)


def _hash_delivery(folder: Path, per_file: bool) -> tuple[str, dict[str, str]]:
    folder = Path(folder)
    whole, digests = hashlib.sha256(), {}
    for name in schema.REQUIRED_FILES:
        path = folder / name
        if not path.is_file():
            month_key = months.month_key_from_folder_name(folder.name) or folder.name
            raise SnapshotError(f"month {month_key}: {name} is missing in {folder}")
        # Name and size first, so that bytes cannot slide from one file into the next.
        whole.update(f"{name}\0{path.stat().st_size}\0".encode())
        if per_file:
            digests[name] = _hash_into(hashlib.sha256(), path, also=whole).hexdigest()
        else:
            _hash_into(whole, path)
    return whole.hexdigest(), digests


def _hash_into(digest, path: Path, also=None):
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            if also is not None:
                also.update(block)
    return digest
