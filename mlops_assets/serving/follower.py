"""Following the production alias: check it periodically and on demand, load a new version in
the background, switch atomically, keep serving the current model while the registry is down.

The served model is one immutable `ServedModel` behind one reference: a request takes that
reference once and uses it for the whole request, so it never mixes two versions, and a model
becomes visible only after it loaded completely and scored a probe row."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd

from mlops_assets.domain.model import score
from mlops_assets.domain.schema import ENTITY_KEY, FEATURES

UNCHANGED, SWITCHED, NO_PRODUCTION, REGISTRY_DOWN, LOAD_FAILED = (
    "unchanged", "switched", "no_production", "registry_unreachable", "load_failed",
)


@dataclass(frozen=True)
class ServedModel:
    version: str
    model: object
    model_month: str
    loaded_at: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def probe_row() -> pd.DataFrame:
    """One user with every feature missing: any loadable churn model must score it."""
    return pd.DataFrame([{ENTITY_KEY: "probe", **dict.fromkeys(FEATURES)}])


class ProductionFollower:
    def __init__(self, registry, poll_seconds: float, on_change=None):
        self.registry = registry
        self.poll_seconds = poll_seconds
        self.current: ServedModel | None = None
        self.registry_reachable: bool | None = None  # None: not checked yet
        self.last_check: str | None = None
        self.last_error: str | None = None
        self._on_change = on_change or (lambda follower, outcome: None)
        self._checking = threading.Lock()  # one check (and load) at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> dict:
        """Ask the registry where the alias points; load and switch when it moved."""
        with self._checking:
            outcome = self._check()
        self._on_change(self, outcome["outcome"])
        return outcome

    def _check(self) -> dict:
        self.last_check = _now()
        try:
            production = self.registry.production()
        except Exception as exc:  # noqa: BLE001 - any failure here means the registry is down
            self.registry_reachable = False
            self.last_error = f"{type(exc).__name__}: {str(exc)[:300]}"
            return {"outcome": REGISTRY_DOWN, "error": self.last_error, "serving": self._served_version()}
        self.registry_reachable = True
        self.last_error = None
        if production is None:
            return {"outcome": NO_PRODUCTION, "serving": self._served_version()}
        version = production["version"]
        if self.current is not None and self.current.version == version:
            return {"outcome": UNCHANGED, "serving": version}
        try:
            model = self.registry.load_version(version)
            probability = float(score(model, probe_row())[0])
            if not (0.0 <= probability <= 1.0) or math.isnan(probability):
                raise ValueError(f"probe probability {probability}")
        except Exception as exc:  # noqa: BLE001 - a version that cannot load or score is not served
            self.last_error = f"v{version} not served: {type(exc).__name__}: {str(exc)[:300]}"
            return {"outcome": LOAD_FAILED, "error": self.last_error, "serving": self._served_version()}
        previous = self._served_version()
        # The switch: one reference assignment, after the model loaded and scored.
        self.current = ServedModel(version, model, production["tags"].get("partition", ""), _now())
        return {"outcome": SWITCHED, "serving": version, "previous": previous}

    def _served_version(self) -> str | None:
        return self.current.version if self.current else None

    # -- polling ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._poll, name="production-alias-poller", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.check()
            self._stop.wait(max(0.0, self.poll_seconds - (time.monotonic() - started)))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
