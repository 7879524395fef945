# One image for the code location, the webserver, the daemon and the MLflow server.
FROM python:3.11.7-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=0 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /opt/mlops_assets
COPY pyproject.toml constraints.txt README.md ./
COPY mlops_assets ./mlops_assets
RUN pip install --no-cache-dir -c constraints.txt . && python -m compileall -q /usr/local/lib/python3.11
COPY deploy/dagster.yaml /opt/dagster/dagster_home/dagster.yaml
COPY deploy/workspace.yaml /opt/dagster/workspace.yaml
