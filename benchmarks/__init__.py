"""Benchmarks (`make bench`): see README, Benchmarks."""

from pathlib import Path


def publish(out: Path, text: str) -> None:
    """Write a result table where the README points to it, and show it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text if text.endswith("\n") else text + "\n")
    print(text)
