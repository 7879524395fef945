"""mlops_assets: continuous training of the StreamFlow churn model on Dagster.

Heavy libraries (Feast, MLflow, Evidently) are imported inside the functions that use them,
never at package import, so loading the code location stays fast.
"""
