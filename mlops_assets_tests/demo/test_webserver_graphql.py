"""What a person sees in the Dagster UI after `mlops-assets demo`, asked of the real
`dagster-webserver` through its GraphQL API (the queries the UI's pages make): the jobs' runs, the
sensors' launched runs and ticks, one passed evaluation per month and check, the partitions, and a
re-execution launched from a demo run."""

from __future__ import annotations

import json
import urllib.request

import pytest
from dagster import DagsterInstance

from mlops_assets.demo import CHECKOUT, LOCATION_NAME, WORKSPACE
from mlops_assets_tests.services.servers import BIN, free_port, start_process, stop, wait_until

pytestmark = pytest.mark.slow

REPOSITORY = "__repository__"  # the implicit repository of a Definitions object
CHECKS = [
    ("training_dataset", "training_data_sanity"),
    ("promotion_decision", "production_cleared_delta"),
    ("promotion_decision", "production_matches_decision"),
]


@pytest.fixture(scope="module")
def graphql(demo, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("webserver") / "webserver.log"
    process = start_process(
        [str(BIN / "dagster-webserver"), "-w", str(WORKSPACE), "-h", "127.0.0.1", "-p", str(port)],
        env=demo["env"], cwd=CHECKOUT, log=log,
    )

    def ask(query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert "errors" not in answer, answer["errors"]
        return answer["data"]

    try:
        wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5).status == 200,
                   "dagster-webserver", process, log, timeout=180)
        # The code location is loaded (the webserver answers before it is).
        wait_until(lambda: ask("{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }")
                   ["workspaceOrError"]["locationEntries"][0]["loadStatus"] == "LOADED",
                   "the mlops_assets code location", process, log, timeout=180)
        yield ask
    finally:
        stop(process, group=True)


JOB_RUNS = """
query JobRuns($filter: RunsFilter!) {
  runsOrError(filter: $filter) {
    ... on Runs { results { runId status jobName tags { key value } repositoryOrigin { repositoryLocationName repositoryName } } }
  }
}"""


def _runs_of(graphql, job: str) -> list[dict]:
    # The job page's Runs tab: the job's runs in this code location's repository.
    runs = graphql(JOB_RUNS, {"filter": {"pipelineName": job, "tags": [{"key": ".dagster/repository", "value": f"{REPOSITORY}@{LOCATION_NAME}"}]}})
    return runs["runsOrError"]["results"]


@pytest.mark.parametrize("job", ["ingest_month_job", "retraining_job"])
def test_job_pages_list_the_demos_runs(demo, graphql, job):
    runs = _runs_of(graphql, job)
    partitions = sorted(next(t["value"] for t in run["tags"] if t["key"] == "dagster/partition") for run in runs)
    assert partitions == demo["months"]
    assert {run["status"] for run in runs} == {"SUCCESS"}
    # The origin the Overview timeline groups runs by (and re-execution resolves the job from).
    assert all(run["repositoryOrigin"] == {"repositoryLocationName": LOCATION_NAME, "repositoryName": REPOSITORY} for run in runs)


SENSOR = """
query Sensor($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    ... on Sensor { sensorState { status runs { runId jobName } ticks(limit: 200) { status runIds } } }
    ... on PythonError { message }
  }
}"""


@pytest.mark.parametrize("sensor,job", [("new_month_sensor", "ingest_month_job"), ("drift_sensor", "retraining_job")])
def test_sensor_pages_list_the_runs_they_launched(demo, graphql, sensor, job):
    answer = graphql(SENSOR, {"selector": {"repositoryLocationName": LOCATION_NAME, "repositoryName": REPOSITORY, "sensorName": sensor}})
    state = answer["sensorOrError"]["sensorState"]
    assert state["status"] == "RUNNING"
    launched = sorted(run["runId"] for run in state["runs"])
    assert launched == sorted(run["runId"] for run in _runs_of(graphql, job))
    assert len(launched) == len(demo["months"])
    # The tick history shows which ticks launched them (and the newest tick launched nothing).
    ticks = state["ticks"]
    assert sorted(run_id for tick in ticks if tick["status"] == "SUCCESS" for run_id in tick["runIds"]) == launched
    assert ticks[0]["status"] == "SKIPPED"


CHECK_EXECUTIONS = """
query Checks($assetKey: AssetKeyInput!, $checkName: String!) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 100) {
    runId status partition evaluation { success partition }
  }
}"""


@pytest.mark.parametrize("asset,check", CHECKS)
def test_one_passed_evaluation_per_month_and_check(demo, graphql, asset, check):
    executions = graphql(CHECK_EXECUTIONS, {"assetKey": {"path": [asset]}, "checkName": check})["assetCheckExecutions"]
    # Every execution belongs to a month; none was left planned or skipped.
    assert sorted((e["partition"], e["status"], e["evaluation"]["success"], e["evaluation"]["partition"]) for e in executions) == [
        (month, "SUCCEEDED", True, month) for month in demo["months"]
    ]
    retraining_runs = {run["runId"] for run in _runs_of(graphql, "retraining_job")}
    assert {e["runId"] for e in executions} == retraining_runs


PARTITIONS = """
query Partitions($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) { ... on AssetNode { partitionKeys } }
}"""


def test_partitions_are_the_demos_months(demo, graphql):
    # The demo recorded its first month in the home; the webserver (no MLOPS_FIRST_MONTH set)
    # reads it, so no empty month crowds the partition views.
    for asset in ("monthly_snapshot", "promotion_decision"):
        assert graphql(PARTITIONS, {"assetKey": {"path": [asset]}})["assetNodeOrError"]["partitionKeys"] == demo["months"]


REEXECUTE = """
mutation Reexecute($parentRunId: String!) {
  launchRunReexecution(reexecutionParams: {parentRunId: $parentRunId, strategy: ALL_STEPS}) {
    __typename
    ... on LaunchRunSuccess { run { runId status parentRunId jobName } }
    ... on PythonError { message }
  }
}"""


def test_a_demo_run_can_be_re_executed_from_the_ui(demo, graphql):
    parent = _runs_of(graphql, "retraining_job")[0]
    answer = graphql(REEXECUTE, {"parentRunId": parent["runId"]})["launchRunReexecution"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    run = answer["run"]
    try:
        assert run["parentRunId"] == parent["runId"] and run["jobName"] == "retraining_job"
        assert run["status"] == "QUEUED"  # the queued coordinator holds it for the daemon (none runs here)
    finally:
        # Leave the demo's instance as the demo left it for the other tests.
        DagsterInstance.from_config(str(demo["home"] / "dagster")).delete_run(run["runId"])
