"""Two months of the real cycle against real servers on loopback, as the docker-compose deployment
runs it: Dagster's runs, event log and schedules in PostgreSQL (deploy/dagster.yaml, dagster-postgres),
MLflow's tracking store and registry in PostgreSQL behind an `mlflow server` reached over HTTP, with
artifacts served by that server. The same code as the embedded default; only the environment
changes. The months are delivered into the landing area and driven through the real sensors with
`mlops_assets.cli.play_months`, exactly like test_end_to_end.py."""

import json
import os
import pickle
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, AssetRecordsFilter, DagsterInstance

from mlops_assets.cli import play_months
from mlops_assets.definitions import build_definitions
from mlops_assets.domain.schema import LABEL
from mlops_assets.generator import write_months
from mlops_assets_tests.services.conftest import DAGSTER_DB, MLFLOW_DB

pytestmark = [pytest.mark.services, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
MODEL = "streamflow_churn"
ASSETS = ("monthly_snapshot", "drift_report", "training_dataset", "candidate_model", "production_metrics", "promotion_decision")


@pytest.fixture(scope="module")
def dagster_home(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(ROOT / "deploy" / "dagster.yaml", folder / "dagster.yaml")
    return folder


def dagster_env(postgres) -> dict:
    """What docker-compose.yml's x-dagster-env sets, pointed at the loopback server."""
    return {
        "DAGSTER_POSTGRES_HOST": postgres.host,
        "DAGSTER_POSTGRES_PORT": str(postgres.port),
        "DAGSTER_POSTGRES_USER": postgres.user,
        "DAGSTER_POSTGRES_PASSWORD": postgres.password,
        "DAGSTER_POSTGRES_DB": DAGSTER_DB,
    }


@pytest.fixture(scope="module")
def instance(postgres, dagster_home):
    """A Dagster instance from the deployment's own dagster.yaml, pointed at the test Postgres
    through the same environment variables docker-compose.yml sets."""
    env = dagster_env(postgres)
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    instance = DagsterInstance.from_config(str(dagster_home))
    try:
        yield instance
    finally:
        instance.dispose()
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


@pytest.fixture(scope="module")
def defs(home, mlflow_server):
    return build_definitions(home, environ={"MLFLOW_TRACKING_URI": mlflow_server.url})


@pytest.fixture(scope="module")
def cycle(home, defs, instance):
    months = write_months(home / "incoming", n_users=400, scenario=("baseline", "concept_drift"), first_month="2024-01", seed=11)
    return play_months(defs, instance, months)


def decision(instance, month: str) -> dict:
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("promotion_decision"), asset_partitions=[month]), limit=1
    ).records
    assert records, f"promotion_decision {month} was never materialized"
    return records[0].asset_materialization.metadata["record"].value


def rest(server, path: str, **params) -> dict:
    with urllib.request.urlopen(f"{server.url}{path}?{urllib.parse.urlencode(params)}", timeout=30) as response:
        return json.loads(response.read())


def test_every_requested_run_succeeded_in_order(cycle):
    summary = [(sensor, month, outcome.job_name, outcome.success) for sensor, month, outcome in cycle]
    assert summary == [
        ("new_month_sensor", "2024-01", "ingest_month_job", True),
        ("drift_sensor", "2024-01", "retraining_job", True),
        ("online_features_sensor", "2024-01", "online_features_job", True),
        ("new_month_sensor", "2024-02", "ingest_month_job", True),
        ("drift_sensor", "2024-02", "retraining_job", True),
        ("online_features_sensor", "2024-02", "online_features_job", True),
    ]


def test_dagster_storage_is_the_postgres_database(cycle, instance, postgres):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    run_ids = {outcome.run_id for _, _, outcome in cycle}
    conn = postgres.connect(DAGSTER_DB)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT run_id, status FROM runs")
            stored = dict(cur.fetchall())
            cur.execute(
                "SELECT DISTINCT asset_key, partition FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
            )
            materialized = {(json.loads(key)[0], partition) for key, partition in cur.fetchall()}
    finally:
        conn.close()
    assert run_ids <= set(stored) and all(stored[r] == "SUCCESS" for r in run_ids)
    assert materialized >= {(asset, month) for asset in ASSETS for month in ("2024-01", "2024-02")}


def test_decisions_and_the_registry_behind_the_tracking_server(cycle, instance, defs, mlflow_server):
    first, second = decision(instance, "2024-01"), decision(instance, "2024-02")
    assert (first["decision"], first["production_version_after"]) == ("promoted", "1")
    assert second["production_version_before"] == "1"
    assert (second["decision"], second["production_version_after"]) == ("promoted", "2")
    # The alias as the tracking server serves it (MLflow REST API), not as a client caches it.
    served = rest(mlflow_server, "/api/2.0/mlflow/registered-models/alias", name=MODEL, alias="production")
    version = served["model_version"]
    assert version["version"] == "2"
    tags = {t["key"]: t["value"] for t in version.get("tags", [])}
    assert tags["partition"] == "2024-02" and tags["promotion.cleared_delta"] == "true"
    assert defs.resources["registry"].production()["version"] == "2"
    for check, asset in (("training_data_sanity", "training_dataset"), ("production_cleared_delta", "promotion_decision"),
                         ("production_matches_decision", "promotion_decision")):
        key = AssetCheckKey(AssetKey(asset), check)
        assert instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key].status.value == "SUCCEEDED"


def test_mlflow_state_is_in_postgres_and_artifacts_on_the_server(cycle, postgres, mlflow_server, home):
    conn = postgres.connect(MLFLOW_DB)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT version FROM registered_model_aliases WHERE name = %s AND alias = 'production'", (MODEL,))
            assert cur.fetchall() == [(2,)]
            cur.execute("SELECT count(*) FROM model_versions WHERE name = %s", (MODEL,))
            assert cur.fetchone()[0] == 2
            cur.execute("SELECT DISTINCT artifact_uri FROM runs")
            uris = [row[0] for row in cur.fetchall()]
    finally:
        conn.close()
    # Artifacts went through the server (mlflow-artifacts:/ proxied to --artifacts-destination),
    # not to a folder of the client's.
    assert uris and all(uri.startswith("mlflow-artifacts:") for uri in uris), uris
    assert list(mlflow_server.artifacts.rglob("MLmodel"))
    assert not (home / "mlflow").exists()


SCORER = """
import json, sys
import mlflow.sklearn
import pandas as pd
from sklearn.metrics import roc_auc_score
rows = pd.read_pickle(sys.argv[1])
model = mlflow.sklearn.load_model("models:/streamflow_churn@production")
proba = model.predict_proba(rows.drop(columns=["__label__"]))[:, 1]
print(json.dumps({"n": len(proba), "auc": roc_auc_score(rows["__label__"], proba)}))
"""


def test_a_second_process_loads_production_over_http_and_scores(cycle, home, mlflow_server, tmp_path):
    from mlops_assets.assets.models import validation_rows
    from mlops_assets.domain.model import to_model_frame

    stored = home / "storage" / "training_dataset" / "2024-02"
    dataset = pickle.loads(stored.read_bytes())
    validation = validation_rows(dataset)
    rows = to_model_frame(validation).assign(__label__=validation[LABEL].to_numpy())
    rows.to_pickle(tmp_path / "rows.pkl")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DAGSTER_"))}
    env["MLFLOW_TRACKING_URI"] = mlflow_server.url
    env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "2"
    done = subprocess.run(
        [sys.executable, "-c", SCORER, str(tmp_path / "rows.pkl")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    scored = json.loads(done.stdout.strip().splitlines()[-1])
    assert scored["n"] == len(validation) > 0
    served = rest(mlflow_server, "/api/2.0/mlflow/registered-models/alias", name=MODEL, alias="production")
    val_auc = float({t["key"]: t["value"] for t in served["model_version"]["tags"]}["val_auc"])
    assert scored["auc"] == pytest.approx(val_auc, abs=1e-6)


def test_the_tracking_server_answers_the_compose_host_name_only(cycle, mlflow_server):
    """docker-compose.yml's code location calls http://mlflow:5000: that Host header is allowed,
    an unknown one is refused (MLflow's DNS-rebinding protection)."""
    path = f"{mlflow_server.url}/api/2.0/mlflow/registered-models/get?name={MODEL}"
    ok = urllib.request.Request(path, headers={"Host": "mlflow:5000"})
    with urllib.request.urlopen(ok, timeout=30) as response:
        assert json.loads(response.read())["registered_model"]["name"] == MODEL
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(path, headers={"Host": "rebind.example"}), timeout=30)
    assert refused.value.code in (400, 403)


def test_status_in_another_process_reads_both_stores_from_the_environment(cycle, postgres, mlflow_server, home, dagster_home):
    """`docker compose exec code_location mlops-assets status`, minus Docker: a fresh process that
    knows the services only through the compose file's environment variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DAGSTER_", "MLOPS_"))}
    env |= dagster_env(postgres) | {"DAGSTER_HOME": str(dagster_home), "MLOPS_HOME": str(home), "MLFLOW_TRACKING_URI": mlflow_server.url}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "mlops-assets"), "status"], cwd=home, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2024-01-31" in done.stdout and "2024-02-29" in done.stdout
    assert "streamflow_churn@production -> v2 (month 2024-02" in done.stdout
