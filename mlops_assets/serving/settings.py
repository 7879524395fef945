"""The service's settings, from the same environment variables as the platform (definitions.py
builds the registry and Feast resources from them) plus the service's own."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops_assets.settings import home_dir


@dataclass(frozen=True)
class ServingSettings:
    registry: object  # MlflowModelRegistry
    feature_store: object  # FeastFeatureStore
    host: str = "127.0.0.1"
    port: int = 8000
    poll_seconds: float = 30.0  # how often the production alias is checked
    max_ids: int = 1000  # user_ids per request

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ServingSettings":
        from mlops_assets.definitions import build_resources

        env = os.environ if environ is None else environ
        home = Path(env["MLOPS_HOME"]).resolve() if env.get("MLOPS_HOME") else home_dir()
        resources = build_resources(home, env)

        def number(name: str, default, kind):
            raw = env.get(name)
            try:
                value = kind(raw) if raw else default
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not a {kind.__name__}") from None
            if value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
            return value

        return cls(
            registry=resources["registry"],
            feature_store=resources["feature_store"],
            host=env.get("MLOPS_SERVING_HOST") or "127.0.0.1",
            port=number("MLOPS_SERVING_PORT", 8000, int),
            poll_seconds=number("MLOPS_SERVING_POLL_SECONDS", 30.0, float),
            max_ids=number("MLOPS_SERVING_MAX_IDS", 1000, int),
        )
