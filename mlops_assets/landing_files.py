"""The landing area on disk: what its folders hold (ready months, incomplete months, folders whose
name is no month), and delivering a folder into it as a given month, atomically.

No Dagster here: the `LandingArea` resource, the new-month sensor, `mlops-assets status` and
`mlops-assets deliver` all read the landing area through these functions, so they agree.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlops_assets.domain import months, schema
from mlops_assets.importer import fingerprint, ready_months

DELIVER_COMMAND = "mlops-assets deliver PATH --month YYYY-MM"


@dataclass(frozen=True)
class IncompleteMonth:
    """A folder named like a month that does not hold all six files (yet)."""

    month: str
    folder: Path
    missing: tuple[str, ...]
    # Changes whenever a file appears, grows or is touched: "unchanged" means the same signature.
    signature: str


@dataclass(frozen=True)
class LandingScan:
    ready: dict[str, Path] = field(default_factory=dict)
    incomplete: dict[str, IncompleteMonth] = field(default_factory=dict)
    not_months: tuple[str, ...] = ()


def is_hidden(name: str) -> bool:
    """Staging folders (`.2024-01.partial`) and other dot-names are work in progress, never reported."""
    return name.startswith(".")


def scan_landing(root: Path) -> LandingScan:
    root = Path(root)
    if not root.is_dir():
        return LandingScan()
    ready = ready_months(root)
    incomplete: dict[str, IncompleteMonth] = {}
    not_months: list[str] = []
    for folder in sorted(root.iterdir()):
        if not folder.is_dir() or is_hidden(folder.name):
            continue
        month = months.month_key_from_folder_name(folder.name)
        if month is None:
            not_months.append(folder.name)
        elif month not in ready:
            missing = tuple(name for name in schema.REQUIRED_FILES if not (folder / name).is_file())
            incomplete[month] = IncompleteMonth(month, folder, missing, folder_signature(folder))
    return LandingScan(ready=ready, incomplete=incomplete, not_months=tuple(not_months))


def folder_signature(folder: Path) -> str:
    """Names, sizes and modification times of the folder's entries (and the folder's own)."""
    digest = hashlib.sha256(str(folder.stat().st_mtime_ns).encode())
    for entry in sorted(folder.iterdir()):
        stat = entry.stat()
        digest.update(f"{entry.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def not_a_month_message(name: str, root: Path) -> str:
    return (
        f"landing folder {name!r} ({Path(root) / name}) is not named like a month, so it is not imported. "
        f"Rename it to the month it holds (YYYY-MM, e.g. 2024-01), or deliver it as a month: "
        f"mlops-assets deliver {Path(root) / name} --month YYYY-MM"
    )


# -- delivering ------------------------------------------------------------------------------------
class DeliveryError(ValueError):
    """Bad input to a delivery: nothing was delivered; the message says why."""


class DeliveryRefused(DeliveryError):
    """The month's landing folder already holds different content and replacing was not asked for."""


@dataclass(frozen=True)
class Delivery:
    action: str  # "delivered" | "replaced" | "already there"
    month: str
    target: Path
    fingerprint: str
    previous: str | None = None  # what the replaced folder held: a fingerprint or "incomplete: ..."


def copy_aside_then_rename(target: Path, fill: Callable[[Path], None], replace: bool = False) -> Path:
    """Fill a hidden staging folder next to `target`, then rename it to `target`, so nobody
    watching the parent folder ever sees a half-written `target`. With `replace`, an existing
    `target` first moves aside under a hidden name and is deleted after the rename."""
    staging = target.with_name(f".{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    fill(staging)
    aside = target.with_name(f".{target.name}.replaced")
    if replace and target.exists():
        shutil.rmtree(aside, ignore_errors=True)
        target.rename(aside)
    staging.rename(target)
    shutil.rmtree(aside, ignore_errors=True)
    return target


def _month_folders(root: Path, month: str) -> list[Path]:
    names = (month, months.as_of_for(month).isoformat())
    return [root / name for name in names if (root / name).is_dir()]


def deliver_month(source: Path, root: Path, month: str, replace: bool = False) -> Delivery:
    """Copy `source` (any folder holding the six files) into the landing area as `month`.

    The same content already there is a no-op; different content (or an incomplete folder) is
    refused unless `replace`.
    """
    source, root = Path(source), Path(root)
    try:
        months.parse_month_key(month)
    except months.UnknownMonthError as error:
        raise DeliveryError(str(error)) from None
    if not source.is_dir():
        raise DeliveryError(f"{source} is not a folder: nothing delivered")
    absent = [name for name in schema.REQUIRED_FILES if not (source / name).is_file()]
    if absent:
        raise DeliveryError(f"{source} is missing file(s) {', '.join(absent)}: nothing delivered for month {month}")
    new = fingerprint(source)
    existing = _month_folders(root, month)
    previous = None
    for folder in existing:
        missing = [name for name in schema.REQUIRED_FILES if not (folder / name).is_file()]
        held = f"an incomplete delivery (missing {', '.join(missing)})" if missing else fingerprint(folder)
        if held == new and len(existing) == 1:
            return Delivery("already there", month, folder, new)
        previous = held if previous is None else f"{previous}; {held}"
        if not replace:
            what = held if missing else f"different content ({held[:12]}; {source} holds {new[:12]})"
            raise DeliveryRefused(
                f"month {month}: landing folder {folder} already holds {what}; nothing delivered. "
                f"To replace it: mlops-assets deliver {source} --month {month} --replace"
            )
    target = copy_aside_then_rename(root / month, lambda staging: shutil.copytree(source, staging), replace=True)
    for folder in existing:
        if folder != target:  # the month was held as `YYYY-MM-DD`: one folder per month stays
            shutil.rmtree(folder)
    return Delivery("replaced" if existing else "delivered", month, target, new, previous)
