"""Import Feast without typeguard's import-time instrumentation: 3-4 s off every run's start-up.

Feast decorates its classes with typeguard's `@typechecked`. At import, that decorator reads, parses
and recompiles the whole module's source once for every decorated function (typeguard issue #468,
open): `import feast` took 4.0-5.6 s here, 1.1-1.5 s without it, in every process that touches
Feast (each ingest, retraining and scoring run the daemon launches, the prediction service). The only
switch typeguard offers is `python -O`, which would also turn off every `assert` in the process.
So while Feast's modules load, `typeguard.typechecked` is a decorator that returns what it is given,
and it is put back straight after: what is imported later is checked as before.

What this gives up is Feast checking, at run time, the types of the arguments the platform passes
to its constructors. `mlops_assets_tests/test_feast_import.py` builds the platform's feature
definitions under Feast's full runtime checks in a fresh interpreter, so a wrong type would
still fail a test.
"""

from __future__ import annotations

import importlib
import sys
import threading

# The Feast modules the platform uses (DuckDB offline store, SQLite online store, local provider):
# loaded together so none of them is instrumented later, on first use.
FEAST_MODULES = (
    "feast",
    "feast.data_format",
    "feast.types",
    "feast.infra.passthrough_provider",
    "feast.infra.offline_stores.duckdb",
    "feast.infra.online_stores.sqlite",
)

_lock = threading.Lock()


def _unchecked(target=None, **_options):
    """typeguard.typechecked's two forms (`@typechecked` and `@typechecked(...)`), checking nothing."""
    return target if target is not None else (lambda function: function)


def import_feast():
    """The `feast` module, its modules loaded without typeguard's instrumentation (once a process)."""
    if "feast.infra.offline_stores.duckdb" in sys.modules:
        return sys.modules["feast"]
    with _lock:
        import typeguard

        checked = typeguard.typechecked
        typeguard.typechecked = _unchecked
        try:
            for name in FEAST_MODULES:
                importlib.import_module(name)
        finally:
            typeguard.typechecked = checked
    return sys.modules["feast"]
