"""Pure domain logic: no Dagster, MLflow or Feast imports here, so it is trivially unit-tested."""
