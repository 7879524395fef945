"""The prediction service for real, on loopback: a platform that ran two months (production v2,
churn scores, the online store holding the newest month), an `mlflow server` on its registry,
and `python -m mlops_assets.serving` pointed at both by environment variables. Predictions equal
the batch scores; a promotion is followed without a restart and without a failed request; bad
input gets a clear 4xx; a registry that goes down leaves the service serving."""

import threading
import time

import pandas as pd
import pytest

from mlops_assets.cli import play_months
from mlops_assets_tests.faults.platform import Platform, failure_text
from mlops_assets_tests.serving.service import start_service, stop_service, wait_for
from mlops_assets_tests.services.servers import start_mlflow, stop_mlflow

pytestmark = pytest.mark.slow

POLL_SECONDS = 2.0
MAX_IDS = 150


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    platform = Platform(tmp_path_factory.mktemp("serving"), scenario=("baseline", "concept_drift"))
    runs = play_months(platform.defs, platform.instance, platform.incoming)
    assert all(outcome.success for _, _, outcome in runs), runs
    assert platform.production_version() == "2"
    return platform


@pytest.fixture(scope="module")
def registry_server(platform):
    server = start_mlflow(platform.registry.tracking_uri, platform.root)
    try:
        yield server
    finally:
        stop_mlflow(server)


@pytest.fixture(scope="module")
def service(platform, registry_server):
    env = {
        "MLOPS_HOME": str(platform.home),
        "MLFLOW_TRACKING_URI": registry_server.url,
        "MLOPS_SERVING_POLL_SECONDS": str(POLL_SECONDS),
        "MLOPS_SERVING_MAX_IDS": str(MAX_IDS),
    }
    service = start_service(env, platform.root)
    try:
        yield service
    finally:
        stop_service(service)


def batch_scores(platform, month="2024-02") -> pd.DataFrame:
    return pd.read_parquet(platform.latest("churn_scores", month)["scores_path"])


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"metric {name} not in /metrics")


def test_health_and_metrics_name_the_production_model(service):
    with service.client() as client:
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["model_version"] == "2" and health["model_month"] == "2024-02"
        assert health["registry"]["reachable"] is True and health["poll_seconds"] == POLL_SECONDS
        text = client.get("/metrics").text
    assert metric(text, "churn_serving_model_version") == 2.0
    assert 'churn_serving_model_info{model_month="2024-02",model_name="streamflow_churn",version="2"} 1.0' in text
    assert metric(text, "churn_serving_registry_up") == 1.0


def test_predictions_equal_the_batch_scores(platform, service):
    scores = batch_scores(platform)
    assert set(scores["model_version"]) == {"2"}
    users = scores["user_id"].tolist()
    answers = []
    with service.client() as client:
        for start in range(0, len(users), 100):
            response = client.post("/predict", json={"user_ids": users[start:start + 100]})
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["model_version"] == "2"
            answers += body["predictions"]
        single = client.post("/predict", json={"user_id": users[0]}).json()["predictions"]
    assert [a["user_id"] for a in answers] == users and all(a["found"] for a in answers)
    assert {a["feature_timestamp"] for a in answers} == {"2024-02-29T00:00:00+00:00"}
    online = pd.Series([a["churn_probability"] for a in answers], index=users)
    batch = scores.set_index("user_id")["churn_probability"]
    assert (online - batch).abs().max() < 1e-12
    assert single[0]["churn_probability"] == pytest.approx(batch[users[0]], abs=1e-12)


def test_bad_input_gets_a_clear_4xx(platform, service):
    known = batch_scores(platform)["user_id"].iloc[0]
    with service.client() as client:
        unknown = client.post("/predict", json={"user_id": "no-such-user"})
        assert unknown.status_code == 404
        assert unknown.json()["predictions"] == [
            {"user_id": "no-such-user", "found": False, "error": "unknown user: the online store holds no features for this user_id"}
        ]
        mixed = client.post("/predict", json={"user_ids": [known, "no-such-user"]})
        assert mixed.status_code == 200 and [p["found"] for p in mixed.json()["predictions"]] == [True, False]

        malformed = client.post("/predict", content=b'{"user_ids": [', headers={"content-type": "application/json"})
        assert malformed.status_code == 422 and malformed.json()["error"] == "bad_request"
        assert "JSON" in str(malformed.json()["detail"])
        empty = client.post("/predict", json={"user_ids": []})
        assert empty.status_code == 422 and "user_ids is empty" in str(empty.json()["detail"])
        both = client.post("/predict", json={"user_ids": [known], "user_id": known})
        assert both.status_code == 422 and "not both" in str(both.json()["detail"])
        wrong_type = client.post("/predict", json={"user_ids": "abc"})
        assert wrong_type.status_code == 422 and wrong_type.json()["detail"][0]["where"] == "user_ids"
        too_many = client.post("/predict", json={"user_ids": [known] * (MAX_IDS + 1)})
        assert too_many.status_code == 413 and f"at most {MAX_IDS}" in too_many.json()["detail"]
        text = client.get("/metrics").text
    assert metric(text, 'churn_predict_errors_total{reason="bad_request"}') >= 4
    assert metric(text, 'churn_predict_errors_total{reason="too_many_ids"}') >= 1
    assert metric(text, 'churn_predict_errors_total{reason="unknown_users"}') >= 1


def test_a_promotion_is_followed_without_restart_or_failed_request(platform, service):
    users = batch_scores(platform)["user_id"].tolist()[:50]
    seen, failures, stop = [], [], threading.Event()

    def client_loop():
        with service.client() as client:
            i = 0
            while not stop.is_set():
                response = client.post("/predict", json={"user_id": users[i % len(users)]})
                if response.status_code != 200:
                    failures.append((response.status_code, response.text))
                else:
                    seen.append((time.monotonic(), response.json()["model_version"]))
                i += 1
                time.sleep(0.01)

    thread = threading.Thread(target=client_loop, daemon=True)
    thread.start()
    try:
        # Re-training the newest month under the delta rule with delta 0: the same data trains the
        # same AUC, which clears delta 0, so the new version is promoted (the real job moves the
        # alias). The default `significant` policy would rightly call an equal model noise.
        result = platform.run("retraining_job", "2024-02",
                              run_config={"ops": {"promotion_decision": {"config": {"policy": "delta", "delta": 0.0}}}})
        moved = time.monotonic()
        assert result.success, failure_text(result)
        decision = result.output_for_node("promotion_decision")
        assert decision["decision"] == "promoted" and decision["candidate_version"] == "3"
        switched = wait_for(lambda: [t for t, v in seen if v == "3"], timeout=POLL_SECONDS + 30)
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not failures, failures[:3]
    assert switched, "the service never served v3"
    # Within the polling interval (plus loading the model, on a shared machine).
    assert switched[0] - moved < POLL_SECONDS + 15
    versions = [v for _, v in seen]
    assert set(versions) == {"2", "3"}
    assert versions == sorted(versions, key=int)  # once switched, never back
    with service.client() as client:
        health = client.get("/health").json()
        answer = client.post("/predict", json={"user_ids": users}).json()
    assert health["model_version"] == "3"
    # retraining_job re-scored the month with v3: the service agrees with the new batch scores.
    batch = batch_scores(platform).set_index("user_id")["churn_probability"]
    assert set(batch_scores(platform)["model_version"]) == {"3"}
    assert max(abs(p["churn_probability"] - batch[p["user_id"]]) for p in answer["predictions"]) < 1e-12


def test_registry_down_keeps_serving(platform, service, registry_server):
    stop_mlflow(registry_server)
    with service.client() as client:
        outcome = client.post("/reload").json()
        assert outcome["outcome"] == "registry_unreachable" and outcome["serving"] == "3"
        health = client.get("/health")
        assert health.status_code == 200
        body = health.json()
        assert body["status"].startswith("degraded") and body["registry"]["reachable"] is False
        assert body["registry"]["last_error"] and body["model_version"] == "3"
        user = batch_scores(platform)["user_id"].iloc[0]
        prediction = client.post("/predict", json={"user_id": user})
        assert prediction.status_code == 200 and prediction.json()["model_version"] == "3"
        text = client.get("/metrics").text
    assert metric(text, "churn_serving_registry_up") == 0.0
    assert metric(text, 'churn_serving_alias_checks_total{outcome="registry_unreachable"}') >= 1
    assert metric(text, "churn_serving_model_version") == 3.0
