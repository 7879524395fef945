"""The HTTP service: `POST /predict`, `GET /health`, `GET /metrics`, `POST /reload`.

    python -m mlops_assets.serving          # make serve: the embedded defaults, 127.0.0.1:8000
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel, Field, model_validator

from mlops_assets.serving.batching import MicroBatcher
from mlops_assets.serving.follower import REGISTRY_DOWN, SWITCHED, ProductionFollower
from mlops_assets.serving.frame import model_frame_from_records
from mlops_assets.serving.settings import ServingSettings

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class PredictRequest(BaseModel):
    """One user (`user_id`) or many (`user_ids`)."""

    user_ids: list[str] | None = Field(default=None, description="Users to score, answered in this order.")
    user_id: str | None = Field(default=None, description="A single user (instead of user_ids).")

    @model_validator(mode="after")
    def one_form(self):
        if (self.user_ids is None) == (self.user_id is None):
            raise ValueError("give either user_id (one user) or user_ids (a list), not both and not neither")
        if self.user_ids is not None and not self.user_ids:
            raise ValueError("user_ids is empty: give at least one user_id")
        if any(not u.strip() for u in self.ids()):
            raise ValueError("a user_id is empty")
        return self

    def ids(self) -> list[str]:
        return self.user_ids if self.user_ids is not None else [self.user_id]


class Metrics:
    """The service's Prometheus metrics, in a registry of their own (one per app)."""

    def __init__(self, model_name: str):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("churn_predict_requests", "Prediction requests by outcome", ["outcome"], registry=r)
        self.errors = Counter("churn_predict_errors", "Failed prediction requests by reason", ["reason"], registry=r)
        self.latency = Histogram("churn_predict_latency_seconds", "Time to answer POST /predict",
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.users = Counter("churn_predicted_users", "Users answered, by whether the online store knew them", ["result"], registry=r)
        self.version = Gauge("churn_serving_model_version", "Registered version of the served model (0: none)", registry=r)
        self.info = Gauge("churn_serving_model_info", "The served model (value 1)", ["model_name", "version", "model_month"], registry=r)
        self.registry_up = Gauge("churn_serving_registry_up", "1 when the last registry check succeeded", registry=r)
        self.checks = Counter("churn_serving_alias_checks", "Checks of the production alias, by outcome", ["outcome"], registry=r)
        self.last_switch = Gauge("churn_serving_last_switch_timestamp_seconds", "When the served version last changed", registry=r)
        self.model_name = model_name

    def observe_check(self, follower: ProductionFollower, outcome: str) -> None:
        self.checks.labels(outcome).inc()
        self.registry_up.set(0 if outcome == REGISTRY_DOWN else 1)
        served = follower.current
        if outcome == SWITCHED and served is not None:
            self.info.clear()
            self.info.labels(self.model_name, served.version, served.model_month).set(1)
            self.version.set(int(served.version) if served.version.isdigit() else 0)
            self.last_switch.set(time.time())


def _fail(metrics: Metrics, status: int, reason: str, detail, started: float) -> JSONResponse:
    metrics.errors.labels(reason).inc()
    metrics.requests.labels(reason).inc()
    metrics.latency.observe(time.perf_counter() - started)
    return JSONResponse(status_code=status, content={"error": reason, "detail": detail})


def create_app(settings: ServingSettings | None = None) -> FastAPI:
    settings = settings or ServingSettings.from_env()
    registry, feature_store = settings.registry, settings.feature_store
    metrics = Metrics(registry.model_name)
    follower = ProductionFollower(registry, settings.poll_seconds, on_change=metrics.observe_check)
    store = feature_store.serving_store()  # one Feast store for the process, its registry read once

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        follower.start()  # the first check runs at once, in the background
        batching = asyncio.create_task(app.state.batcher.run())
        try:
            yield
        finally:
            batching.cancel()
            follower.stop()

    app = FastAPI(title="StreamFlow churn predictions", lifespan=lifespan)
    app.state.follower = follower
    app.state.metrics = metrics

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body", "problem": e.get("msg")}
            for e in exc.errors()
        ]
        return _fail(metrics, 422, "bad_request", problems, time.perf_counter())

    def predict_batch(requests: list[list[str]]) -> list[tuple[str, list[dict]]]:
        """One online read and one model call for every request waiting: answers per request."""
        served = follower.current  # taken once: the whole batch uses this one model
        ids = [user for request in requests for user in request]
        rows = feature_store.online_features(ids, store)
        known = [(user, row) for user, row in zip(ids, rows) if row is not None]
        probabilities = served.model.predict_proba(model_frame_from_records([row for _, row in known]))[:, 1] if known else []
        by_user = {user: (row, float(p)) for (user, row), p in zip(known, probabilities)}
        answers = []
        for request in requests:
            answer = []
            for user in request:
                if user in by_user:
                    row, probability = by_user[user]
                    answer.append({"user_id": user, "found": True, "churn_probability": probability,
                                   "feature_timestamp": row["feature_timestamp"].isoformat()})
                else:
                    answer.append({"user_id": user, "found": False,
                                   "error": "unknown user: the online store holds no features for this user_id"})
            answers.append((served.version, answer))
        return answers

    batcher = MicroBatcher(predict_batch, max_rows=max(settings.max_ids, 1))
    app.state.batcher = batcher

    @app.post("/predict")
    async def predict(body: PredictRequest):
        started = time.perf_counter()
        ids = body.ids()
        if len(ids) > settings.max_ids:
            return _fail(metrics, 413, "too_many_ids", f"{len(ids)} user_ids in one request; at most {settings.max_ids}", started)
        if follower.current is None:
            return _fail(metrics, 503, "no_model", "no production model loaded yet (see GET /health)", started)
        try:
            version, answers = await batcher.submit(ids)
        except Exception as exc:  # noqa: BLE001 - answered as a 500 that says what failed
            return _fail(metrics, 500, "prediction_failed", f"{type(exc).__name__}: {str(exc)[:300]}", started)
        found = sum(1 for a in answers if a["found"])
        metrics.users.labels("found").inc(found)
        metrics.users.labels("unknown").inc(len(ids) - found)
        content = {"model_name": registry.model_name, "model_version": version, "predictions": answers}
        # Nobody known: the request as a whole has nothing to answer (404), still per id.
        status, outcome = (200, "ok" if found == len(ids) else "partly_unknown") if found else (404, "unknown_users")
        if status == 404:
            metrics.errors.labels(outcome).inc()
        metrics.requests.labels(outcome).inc()
        metrics.latency.observe(time.perf_counter() - started)
        return JSONResponse(status_code=status, content=content)

    @app.get("/health")
    async def health():
        served = follower.current
        if served is None:
            status = "no_model"
        elif follower.registry_reachable is False:
            status = "degraded: registry unreachable, serving the last loaded model"
        else:
            status = "ok"
        content = {
            "status": status,
            "model_name": registry.model_name,
            "alias": registry.production_alias,
            "model_version": served.version if served else None,
            "model_month": served.model_month if served else None,
            "model_loaded_at": served.loaded_at if served else None,
            "registry": {
                "uri": registry.registry_uri or registry.tracking_uri,
                "reachable": follower.registry_reachable,
                "last_check": follower.last_check,
                "last_error": follower.last_error,
            },
            "poll_seconds": settings.poll_seconds,
            "online_store": feature_store.online_store_path,
        }
        return JSONResponse(status_code=200 if served else 503, content=content)

    # A plain def: it may load a model, which must not block the event loop serving /predict.
    @app.post("/reload")
    def reload():
        return follower.check()

    @app.get("/metrics")
    async def prometheus_metrics():
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
