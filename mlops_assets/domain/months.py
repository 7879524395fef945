"""The one mapping between a partition key (what users type) and a month's `as_of` date."""

from __future__ import annotations

import calendar
import re
from datetime import date

# The course's first month: the partitions start here unless MLOPS_FIRST_MONTH (settings.py) says otherwise.
DEFAULT_FIRST_MONTH = "2024-01"
_MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")
_AS_OF = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class UnknownMonthError(ValueError):
    """A partition key or month folder name that is not a calendar month we know."""


def parse_month_key(month_key: str) -> tuple[int, int]:
    match = _MONTH_KEY.match(month_key.strip())
    if not match:
        raise UnknownMonthError(f"{month_key!r} is not a month key: expected YYYY-MM, for example 2024-02")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise UnknownMonthError(f"{month_key!r} is not a month key: month {month} is not in 1..12")
    return year, month


def as_of_for(month_key: str) -> date:
    """`2024-02` -> 2024-02-29: the month-end date the snapshot describes."""
    year, month = parse_month_key(month_key)
    return date(year, month, calendar.monthrange(year, month)[1])


def month_key_for(as_of: date) -> str:
    """2024-02-29 (or any day of February 2024) -> `2024-02`."""
    return f"{as_of.year:04d}-{as_of.month:02d}"


def previous_month_key(month_key: str) -> str:
    year, month = parse_month_key(month_key)
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def next_month_key(month_key: str) -> str:
    year, month = parse_month_key(month_key)
    return f"{year + 1:04d}-01" if month == 12 else f"{year:04d}-{month + 1:02d}"


def month_keys(first: str, count: int) -> list[str]:
    keys = [first]
    for _ in range(count - 1):
        keys.append(next_month_key(keys[-1]))
    return keys


def last_complete_month(today: date) -> str:
    """The newest month whose last day has passed: on 2026-12-01 that is `2026-11`."""
    return previous_month_key(month_key_for(today))


def months_ending_at(last: str, count: int) -> list[str]:
    """`count` consecutive month keys, the newest being `last`."""
    first = last
    for _ in range(count - 1):
        first = previous_month_key(first)
    return month_keys(first, count)


def month_key_from_folder_name(name: str) -> str | None:
    """Landing folders are named `YYYY-MM` (or the as_of date `YYYY-MM-DD`, which must be the
    month's last day so there is no doubt which month it is). Anything else is not a month."""
    if _MONTH_KEY.match(name):
        try:
            parse_month_key(name)
        except UnknownMonthError:
            return None
        return name
    match = _AS_OF.match(name)
    if match:
        key = f"{match.group(1)}-{match.group(2)}"
        try:
            if as_of_for(key).isoformat() == name:
                return key
        except UnknownMonthError:
            return None
    return None
