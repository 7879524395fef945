# One image for the Dagster code location (gRPC server), webserver and daemon, the MLflow tracking
# server (mlflow and psycopg2 are in the pinned set) and the prediction service (FastAPI, uvicorn).
# Built by `docker compose up --build`.
FROM python:3.11.7-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=0 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home
WORKDIR /opt/mlops_assets
# The pinned set first (its own layer: code edits do not reinstall it), then the package.
COPY pyproject.toml constraints.txt README.md ./
COPY mlops_assets ./mlops_assets
RUN pip install --no-cache-dir -c constraints.txt . \
    && python -m compileall -q /usr/local/lib/python3.11 \
    && mkdir -p /data /mlflow/artifacts
COPY deploy/dagster.yaml /opt/dagster/dagster_home/dagster.yaml
COPY deploy/workspace.yaml /opt/dagster/workspace.yaml
EXPOSE 3000 4000 5000 8000
