"""`python -m mlops_assets.serving` (make serve): the prediction service on uvicorn, configured
from the environment (MLOPS_HOME or the MLflow/Feast variables, MLOPS_SERVING_*)."""

import sys

import uvicorn

from mlops_assets.serving.app import create_app
from mlops_assets.serving.settings import ServingSettings


def main() -> int:
    settings = ServingSettings.from_env()
    print(
        f"churn predictions on http://{settings.host}:{settings.port} "
        f"(model {settings.registry.model_name}@{settings.registry.production_alias}, "
        f"alias checked every {settings.poll_seconds:g}s; online store {settings.feature_store.online_store_path})",
        flush=True,
    )
    # No access log: a line per request costs more than the prediction itself.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
