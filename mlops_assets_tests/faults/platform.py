"""A whole platform in a temporary folder, for the fault suite: real Dagster instance (the same
instance settings as the embedded default: pools, queue), real Feast repo, real MLflow registry,
real Evidently reports; plus a snapshot of everything that must never be lost."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import yaml
from dagster import DagsterEventType, DagsterInstance

from mlops_assets.definitions import build_definitions
from mlops_assets.generator import write_months
from mlops_assets.instance import INSTANCE_SETTINGS
from mlops_assets.records import latest_materialization

N_USERS = 400


def _as_of(month: str) -> str:
    from mlops_assets.domain.months import as_of_for

    return as_of_for(month).isoformat()


def failure_text(result) -> str:
    """Everything a user reads about why a run failed: step failures' errors and descriptions."""
    parts = []
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE:
            data = event.event_specific_data
            if data.user_failure_data is not None and data.user_failure_data.description:
                parts.append(data.user_failure_data.description)
            if data.error is not None:
                parts.append(data.error.to_string())
    return "\n".join(parts)


def file_digests(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


class Platform:
    def __init__(self, root: Path, scenario=("baseline", "concept_drift", "quiet", "quiet", "quiet"), seed=11, environ=None, n_users=N_USERS):
        self.root = root
        self.home = root / "home"
        self.instance_dir = root / "dagster"
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        (self.instance_dir / "dagster.yaml").write_text(yaml.safe_dump(INSTANCE_SETTINGS))
        self.instance = DagsterInstance.from_config(str(self.instance_dir))
        self.defs = build_definitions(self.home, environ=environ or {})
        self.incoming = write_months(root / "incoming", n_users=n_users, scenario=scenario, seed=seed)
        self.landing = Path(self.defs.resources["landing"].path)
        self.registry = self.defs.resources["registry"]

    # -- delivering -------------------------------------------------------------------------------
    def source(self, month: str) -> Path:
        return next(f for f in self.incoming if f.name == month)

    def deliver(self, month: str, edit=None) -> Path:
        """Drop a month into the landing area; `edit(folder)` may damage it first."""
        staging = self.root / "staging" / month
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(self.source(month), staging)
        if edit:
            edit(staging)
        target = self.landing / month
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, target)
        return target

    def withdraw(self, month: str) -> None:
        shutil.rmtree(self.landing / month, ignore_errors=True)

    # -- running ----------------------------------------------------------------------------------
    def run(self, job: str, month: str, run_config: dict | None = None, defs=None):
        job_def = (defs or self.defs).resolve_job_def(job)
        return job_def.execute_in_process(
            instance=self.instance, partition_key=month, run_config=run_config or {}, raise_on_error=False
        )

    def ingest(self, month: str, **kw):
        return self.run("ingest_month_job", month, **kw)

    def retrain(self, month: str, **kw):
        return self.run("retraining_job", month, **kw)

    def process(self, month: str):
        self.deliver(month)
        ingest = self.ingest(month)
        assert ingest.success, failure_text(ingest)
        retrain = self.retrain(month)
        assert retrain.success, failure_text(retrain)
        return retrain.output_for_node("promotion_decision")

    # -- observing --------------------------------------------------------------------------------
    def production_version(self) -> str | None:
        production = self.registry.production()
        return production["version"] if production else None

    def latest(self, asset: str, month: str) -> dict | None:
        record = latest_materialization(self.instance, asset, month)
        if record is None:
            return None
        return {k: v.value for k, v in record.asset_materialization.metadata.items()} | {"_run_id": record.run_id}

    def stored_value(self, asset: str, month: str):
        """The asset's value as its IO manager loads it (a pickle; churn_scores: its Parquet file)."""
        return self.defs.load_asset_value(asset, instance=self.instance, partition_key=month)

    def state(self, months: list[str]) -> dict:
        """Everything about `months` that a fault must never lose or overwrite."""
        home = self.home
        state = {
            "production": self.production_version(),
            "versions": [(v["version"], v["tags"]) for v in self.registry.versions()],
            # Reports of these months (and every earlier version kept in history/).
            "reports": {
                name: digest
                for name, digest in file_digests(home / "reports").items()
                if name.startswith("history/") or any(_as_of(m) in name.split("_vs_")[-1] for m in months)
            },
            "archive": {m: file_digests(home / "archive" / m) for m in months},
        }
        for month in months:
            for view in ("subs_profile_fv", "usage_agg_30d_fv", "payments_agg_90d_fv", "support_agg_90d_fv"):
                path = home / "feast" / "data" / view / f"{month}.parquet"
                state[f"feast/{view}/{month}"] = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
            for asset in ("monthly_snapshot", "drift_report", "promotion_decision"):
                latest = self.latest(asset, month)
                state[f"{asset}/{month}"] = None if latest is None else latest["_run_id"]
            stored = Path(self.defs.resources["io_manager"].base_dir) / "monthly_snapshot" / month
            state[f"stored_snapshot/{month}"] = hashlib.sha256(stored.read_bytes()).hexdigest() if stored.exists() else None
        return state


def assert_nothing_lost(before: dict, after: dict) -> None:
    """Everything recorded before is still there, unchanged; only additions are allowed (a new
    report of a later month, a newer model version), and production did not move."""
    assert after["production"] == before["production"], "production moved"
    old_versions = dict(before["versions"])
    new_versions = dict(after["versions"])
    for version, tags in old_versions.items():
        assert new_versions.get(version) == tags, f"model version {version} lost or re-tagged"
    for group in ("reports", "archive"):
        for key, digest in before[group].items():
            assert after[group].get(key) == digest, f"{group} {key} lost or overwritten"
    for key, value in before.items():
        if key not in ("production", "versions", "reports", "archive"):
            assert after[key] == value, f"{key} changed"
