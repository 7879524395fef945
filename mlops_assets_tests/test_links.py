"""Pictures, links and the model card after two real months (`small_cycle`: the sensors of a real
`dagster dev`, a real MLflow store, Feast repo and Evidently reports): every link points at the
version or run MLflow really holds, the card and the run say what the decision said, numbers
people read are rounded, and the Launchpad offers only per-run choices."""

import base64
import json
import re
import urllib.request
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from mlops_assets.definitions import DEFAULT_MLFLOW_UI_URL, build_definitions
from mlops_assets.domain.model import ModelKind, data_fingerprint
from mlops_assets.domain.promotion import PolicyKind
from mlops_assets.records import latest_materialization, latest_metadata
from mlops_assets.resources.registry import MONITORING_SUFFIX
from mlops_assets_tests.small_cycle import MONTHS

pytestmark = pytest.mark.slow

PNG_MARKDOWN = re.compile(r"^!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)$")


@pytest.fixture(scope="module")
def cycle(small_cycle):
    registry = small_cycle.defs.resources["registry"]
    return {
        "defs": small_cycle.defs,
        "instance": small_cycle.instance,
        "registry": registry,
        # Both URIs explicitly: MlflowClient's registry otherwise defaults to the process-wide
        # `mlflow.get_registry_uri()`, which another test of the session may have pointed elsewhere.
        "client": MlflowClient(tracking_uri=registry.tracking_uri, registry_uri=registry.registry_uri or registry.tracking_uri),
        "home": small_cycle.home,
        "ui": small_cycle.ui_url,
        "metadata": {
            (asset, month): latest_metadata(small_cycle.instance, asset, month)
            for asset in ("candidate_model", "drift_report", "promotion_decision", "production_metrics")
            for month in MONTHS
        },
    }


def png_of(markdown: str) -> bytes:
    match = PNG_MARKDOWN.match(markdown)
    assert match, markdown[:80]
    png = base64.b64decode(match.group(1))
    assert png.startswith(b"\x89PNG") and len(png) < 80_000
    return png


def fragment(url: str, prefix: str) -> list[str]:
    assert url.startswith(prefix + "/#/"), url
    return [unquote(part) for part in url[len(prefix) + 3:].split("/")]


def test_decision_links_both_versions_and_the_candidates_run(cycle):
    meta, registry, client = cycle["metadata"][("promotion_decision", "2024-02")], cycle["registry"], cycle["client"]
    record = meta["record"]
    assert fragment(meta["candidate_version_url"], cycle["ui"]) == ["models", registry.model_name, "versions", record["candidate_version"]]
    assert fragment(meta["production_version_before_url"], cycle["ui"]) == [
        "models", registry.model_name, "versions", record["production_version_before"]]
    _, experiment_id, _, run_id = fragment(meta["candidate_run_url"], cycle["ui"])
    version = client.get_model_version(registry.model_name, record["candidate_version"])
    assert version.run_id == run_id
    assert client.get_run(run_id).info.experiment_id == experiment_id
    # the first month had no production model: no link to one
    assert "production_version_before_url" not in cycle["metadata"][("promotion_decision", "2024-01")]


def test_candidate_links_its_run_and_version(cycle):
    meta, client = cycle["metadata"][("candidate_model", "2024-01")], cycle["client"]
    _, experiment_id, _, run_id = fragment(meta["mlflow_run_url"], cycle["ui"])
    assert run_id == meta["mlflow_run_id"] and client.get_run(run_id).info.experiment_id == experiment_id
    assert fragment(meta["model_version_url"], cycle["ui"])[-1] == meta["model_version"]


def test_decision_shows_roc_and_trend_and_saves_them_beside_the_reports(cycle):
    reports = cycle["defs"].resources["reports"].path
    for month in MONTHS:
        meta = cycle["metadata"][("promotion_decision", month)]
        for name in ("roc", "auc_trend"):
            png = png_of(meta[name])
            path = meta[f"{name}_png"]
            assert path.startswith(reports) and open(path, "rb").read() == png
    calibration = cycle["metadata"][("candidate_model", "2024-02")]
    assert open(calibration["calibration_png"], "rb").read() == png_of(calibration["calibration"])


def test_model_card_and_candidate_run_say_what_the_decision_said(cycle):
    registry, client = cycle["registry"], cycle["client"]
    model = client.get_registered_model(registry.model_name)
    assert "churn_label" in model.description and "Promotion policy" in model.description
    for month in MONTHS:
        record = cycle["metadata"][("promotion_decision", month)]["record"]
        version = client.get_model_version(registry.model_name, record["candidate_version"])
        card = version.description
        assert f"| decision | {record['decision']} (production now v{record['production_version_after']}) |" in card
        assert f"| val_auc | {record['candidate_auc']:.4f} |" in card
        assert record["reason"] in card
        assert f"`{version.tags['data_fingerprint']}`" in card
        # Taken from the stored frame's attrs, not hashed again: it must still be that frame's hash.
        stored = pd.read_pickle(Path(cycle["defs"].resources["io_manager"].base_dir) / "training_dataset" / month)
        assert version.tags["data_fingerprint"] == data_fingerprint(stored)
        assert "| model kind | logistic_regression |" in card
        run = client.get_run(version.run_id)
        assert {"val_auc", "log_loss", "brier_score", "pr_auc"} <= set(run.data.metrics)
        assert "n_estimators" not in run.data.params and run.data.params["kind"] == "logistic_regression"
        artifacts = {a.path for a in client.list_artifacts(version.run_id, "figures")}
        assert {f"figures/roc_{month}.png", f"figures/calibration_{month}.png"} <= artifacts
    second = cycle["metadata"][("promotion_decision", "2024-02")]["record"]
    run = client.get_run(client.get_model_version(registry.model_name, second["candidate_version"]).run_id)
    assert run.data.metrics["production_auc_same_rows"] == pytest.approx(second["production_auc"])
    card = client.get_model_version(registry.model_name, second["candidate_version"]).description
    assert f"| production AUC, same rows | {second['production_auc']:.4f} (v{second['production_version_before']}) |" in card


def test_drift_report_is_an_mlflow_monitoring_run_and_linked(cycle):
    meta, registry, client = cycle["metadata"][("drift_report", "2024-02")], cycle["registry"], cycle["client"]
    _, experiment_id, _, run_id, _, artifact = fragment(meta["report_html_url"], cycle["ui"])
    assert client.get_experiment(experiment_id).name == registry.experiment_name + MONITORING_SUFFIX
    files = {a.path for a in client.list_artifacts(run_id)}
    html, json = meta["report_html"].rsplit("/", 1)[1], meta["report_json"].rsplit("/", 1)[1]
    assert artifact == html and {html, json, "drift_2024-02.png"} <= files
    assert client.get_run(run_id).data.metrics["drift_share"] == pytest.approx(
        latest_materialization(cycle["instance"], "drift_report", "2024-02").asset_materialization.metadata["drift_share"].value, abs=1e-3)
    png_of(meta["drift_chart"])


def test_numbers_people_read_are_rounded_and_the_record_keeps_full_precision(cycle):
    decision = cycle["metadata"][("promotion_decision", "2024-02")]
    for key in ("candidate_auc", "production_auc"):
        assert decision[key] == round(decision["record"][key], 4)
    assert decision["drift_share"] == round(decision["record"]["drift_share"], 3)
    assert decision["record"]["candidate_auc"] != round(decision["record"]["candidate_auc"], 4)  # full precision kept
    run_id = latest_materialization(cycle["instance"], "production_metrics", "2024-02").run_id
    lines = [e.message for e in cycle["instance"].all_logs(run_id) if e.message and e.message.startswith("[PRODUCTION]")]
    assert lines and all(re.search(r" auc=\d\.\d{4} ", line) for line in lines), lines


LAUNCHPAD_QUERY = """query ($selector: PipelineSelector!) { runConfigSchemaOrError(selector: $selector) {
  __typename ... on RunConfigSchema { rootDefaultYaml allConfigTypes { key ... on EnumConfigType { values { value } } } }
  ... on PythonError { message } } }"""


def test_launchpad_offers_per_run_choices_only(small_cycle):
    """What the webserver hands the Launchpad (its GraphQL): the default run config of each job
    holds no resource and no path, and model_kind is a choice of the three kinds."""
    for job_name in ("retraining_job", "ingest_month_job", "monthly_cycle_job"):
        selector = {"repositoryLocationName": "mlops_assets", "repositoryName": "__repository__", "pipelineName": job_name}
        request = urllib.request.Request(
            f"{small_cycle.dagster_url}/graphql", headers={"Content-Type": "application/json"},
            data=json.dumps({"query": LAUNCHPAD_QUERY, "variables": {"selector": selector}}).encode(),
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            schema = json.load(response)["data"]["runConfigSchemaOrError"]
        assert schema["__typename"] == "RunConfigSchema", schema
        scaffold = yaml.safe_load(schema["rootDefaultYaml"])
        assert set(scaffold) == {"ops"} and str(small_cycle.home) not in schema["rootDefaultYaml"], scaffold
        choices = {t["key"]: sorted(v["value"] for v in t["values"]) for t in schema["allConfigTypes"] if t.get("values")}
        if job_name != "ingest_month_job":
            assert scaffold["ops"]["candidate_model"]["config"]["model_kind"] == ModelKind.logistic_regression.name
            assert choices == {
                "ModelKind": sorted(kind.name for kind in ModelKind),
                "PolicyKind": sorted(kind.name for kind in PolicyKind),
            }


def test_embedded_default_links_to_make_mlflow(tmp_path):
    registry = build_definitions(tmp_path, environ={}).resources["registry"]
    assert registry.version_url("3") == f"{DEFAULT_MLFLOW_UI_URL}/#/models/{registry.model_name}/versions/3"
    server = build_definitions(tmp_path, environ={"MLFLOW_TRACKING_URI": "http://mlflow:5000"}).resources["registry"]
    assert server.run_url("1", "abc") == "http://mlflow:5000/#/experiments/1/runs/abc"
