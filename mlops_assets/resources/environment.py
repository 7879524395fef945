"""Resources set up from the environment, not offered as run config.

Where Feast, MLflow, the reports and the landing area live is a property of the deployment
(environment variables with embedded defaults, `definitions.build_resources`), not something to
edit per run. A bound `ConfigurableResource` would otherwise show every field in the Launchpad as
editable run config; this mixin binds the resource's resolved values with `.configured(...)`, so the
run config schema holds no resource fields and the Launchpad shows only per-run choices (the
model, delta, replacing a month).

Not `EnvVar`: an `EnvVar` must be set, and the embedded default needs none set; writing the
defaults into `os.environ` would leak them into every process started afterwards.
"""

from __future__ import annotations

from dagster._utils.cached_method import cached_method


class FromEnvironment:
    """Mix in before `ConfigurableResource` (or an IO manager factory)."""

    @cached_method  # Dagster resolves a resource to one definition instance
    def get_resource_definition(self):
        return super().get_resource_definition().configured(self._resolved_config_dict)  # noqa: SLF001
