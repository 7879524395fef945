"""The online prediction service: churn probability of users from Feast's online store, scored
by the model behind the registry's production alias, followed without a restart."""
