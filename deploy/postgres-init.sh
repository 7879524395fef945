#!/bin/bash
# A second database for MLflow's backend store, beside Dagster's.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -c "CREATE DATABASE \"${MLFLOW_POSTGRES_DB}\";"
