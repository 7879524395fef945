"""The MLflow tracking store and model registry.

A thin resource of our own rather than `dagster-mlflow`'s `mlflow_tracking`: that one is an
old-style resource (not a `ConfigurableResource`), opens one MLflow run per Dagster run and
leaves it RUNNING unless a hook ends it, and knows nothing of the registry or aliases, which is
what this platform needs. Here every MLflow run is a `with` block, so none is left RUNNING.

Production is the registered model's alias (default `production`); MLflow stages are deprecated.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from collections.abc import Callable

import pandas as pd
from dagster import ConfigurableResource

from mlops_assets.resources.environment import FromEnvironment

# Types a skops-serialised pipeline holds beyond scikit-learn's own trusted set. An explicit
# list: a model holding anything else fails to log instead of being trusted blindly.
SKOPS_TRUSTED_TYPES = [
    "sklearn.tree._tree.Tree",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "builtins.object",
    "numpy.dtype",
]
PIP_REQUIREMENTS_PACKAGES = ("scikit-learn", "pandas", "numpy", "skops")


class RegistryUnavailableError(RuntimeError):
    """The tracking store or registry cannot be reached."""


def _pip_requirements() -> list[str]:
    # Explicit requirements: inferring them costs seconds per model.
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in PIP_REQUIREMENTS_PACKAGES]


# Fail in seconds, not minutes, when an MLflow server is down.
HTTP_REQUEST_MAX_RETRIES = 2
HTTP_REQUEST_TIMEOUT_S = 30
MONITORING_SUFFIX = "_monitoring"


class MlflowModelRegistry(FromEnvironment, ConfigurableResource):
    tracking_uri: str
    registry_uri: str | None = None
    artifact_location: str | None = None  # only used when this resource creates the experiment
    experiment_name: str = "streamflow_churn"
    model_name: str = "streamflow_churn"
    production_alias: str = "production"
    # Where people open the MLflow UI (links in asset metadata); not where the code talks to MLflow
    # (in compose the code reaches http://mlflow:5000, a browser http://localhost:5000).
    ui_url: str | None = None

    # -- plumbing -------------------------------------------------------------------------
    def _activate(self):
        import mlflow

        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(HTTP_REQUEST_MAX_RETRIES))
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(HTTP_REQUEST_TIMEOUT_S))
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.registry_uri or self.tracking_uri)
        return mlflow

    def client(self):
        from mlflow import MlflowClient

        self._activate()
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri or self.tracking_uri)

    def check_reachable(self) -> None:
        try:
            self.client().search_registered_models(max_results=1)
        except Exception as exc:  # noqa: BLE001 - any failure here means "registry down"
            raise RegistryUnavailableError(
                f"MLflow registry at {self.registry_uri or self.tracking_uri} is unreachable: "
                f"{type(exc).__name__}: {str(exc)[:300]}"
            ) from exc

    def experiment_id(self, name: str | None = None) -> str:
        name = name or self.experiment_name
        client = self.client()
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        location = None
        if self.artifact_location:
            folder = Path(self.artifact_location) / ("" if name == self.experiment_name else name)
            folder.mkdir(parents=True, exist_ok=True)
            location = folder.resolve().as_uri()
        return client.create_experiment(name, artifact_location=location)

    # -- links into the MLflow UI -----------------------------------------------------------
    def version_url(self, version: str) -> str | None:
        if not self.ui_url:
            return None
        return f"{self.ui_url.rstrip('/')}/#/models/{quote(self.model_name)}/versions/{version}"

    def run_url(self, experiment_id: str, run_id: str, artifact: str | None = None) -> str | None:
        if not self.ui_url:
            return None
        url = f"{self.ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
        return f"{url}/artifacts/{quote(artifact)}" if artifact else url

    # -- writing ------------------------------------------------------------------------------
    def log_candidate(
        self,
        pipeline,
        input_example: pd.DataFrame,
        params: dict,
        metrics: dict,
        tags: dict,
        run_name: str,
        model_description: str | None = None,
        card: Callable[[str], str] | None = None,
        artifacts: list[Path] = (),
    ) -> dict:
        """Log the fitted pipeline with its params, metrics and figure files, and register it as a new
        version; `card(version)` is the version's description, `model_description` the registered
        model's."""
        from mlflow.models import infer_signature

        mlflow = self._activate()
        import mlflow.sklearn

        experiment_id = self.experiment_id()
        signature = infer_signature(input_example, pipeline.predict_proba(input_example)[:, 1])
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as run:
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
            for path in artifacts:
                mlflow.log_artifact(str(path), artifact_path="figures")
            info = mlflow.sklearn.log_model(
                pipeline,
                name="model",
                signature=signature,
                input_example=input_example.head(5),
                pip_requirements=_pip_requirements(),
                skops_trusted_types=SKOPS_TRUSTED_TYPES,
                registered_model_name=self.model_name,
            )
        version = str(info.registered_model_version)
        client = self.client()
        for key, value in tags.items():
            client.set_model_version_tag(self.model_name, version, key, str(value))
        if model_description:
            client.update_registered_model(self.model_name, description=model_description)
        if card:
            self.describe_version(version, card(version))
        return {
            "version": version,
            "run_id": run.info.run_id,
            "experiment_id": experiment_id,
            "model_uri": f"models:/{self.model_name}/{version}",
        }

    def describe_version(self, version: str, description: str) -> None:
        """The version's model card (Markdown, shown on its page in the MLflow UI)."""
        self.client().update_model_version(self.model_name, str(version), description=description)

    def annotate_run(self, run_id: str, metrics: dict, artifacts: list[Path] = ()) -> None:
        """Add what is learnt after a run ended (production's AUC on the same rows, the ROC figure)."""
        client = self.client()
        for key, value in metrics.items():
            if value is not None:
                client.log_metric(run_id, key, float(value))
        for path in artifacts:
            client.log_artifact(run_id, str(path), artifact_path="figures")

    def log_monitoring_run(self, run_name: str, metrics: dict, tags: dict, artifacts: list[Path]) -> dict:
        """A run of the monitoring experiment holding a drift report's files; MLflow's UI renders
        the HTML artifact, so the Evidently report opens from a link."""
        mlflow = self._activate()
        experiment_id = self.experiment_id(self.experiment_name + MONITORING_SUFFIX)
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as run:
            mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None})
            for path in artifacts:
                mlflow.log_artifact(str(path))
        return {"run_id": run.info.run_id, "experiment_id": experiment_id}

    def tag_version(self, version: str, tags: dict) -> None:
        client = self.client()
        for key, value in tags.items():
            client.set_model_version_tag(self.model_name, str(version), key, str(value))

    def set_production(self, version: str) -> None:
        """Move the production alias (one atomic registry write)."""
        self.client().set_registered_model_alias(self.model_name, self.production_alias, str(version))

    # -- reading ------------------------------------------------------------------------------
    def production(self) -> dict | None:
        """The version behind the production alias, or None when there is none yet."""
        from mlflow.exceptions import MlflowException

        client = self.client()
        try:
            version = client.get_model_version_by_alias(self.model_name, self.production_alias)
        except MlflowException as exc:
            code = getattr(exc, "error_code", "")
            if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") or "not found" in str(exc).lower():
                return None
            raise
        return {"version": str(version.version), "run_id": version.run_id, "tags": dict(version.tags)}

    def version_tags(self, version: str) -> dict:
        return dict(self.client().get_model_version(self.model_name, str(version)).tags)

    def versions(self) -> list[dict]:
        client = self.client()
        found = client.search_model_versions(f"name = '{self.model_name}'")
        rows = [{"version": str(v.version), "tags": dict(v.tags), "aliases": list(v.aliases)} for v in found]
        return sorted(rows, key=lambda r: int(r["version"]))

    def load_version(self, version: str):
        mlflow = self._activate()
        import mlflow.sklearn

        return mlflow.sklearn.load_model(f"models:/{self.model_name}/{version}")

    def load_production(self):
        mlflow = self._activate()
        import mlflow.sklearn

        return mlflow.sklearn.load_model(f"models:/{self.model_name}@{self.production_alias}")
