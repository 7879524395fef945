"""Feast imported without typeguard's import-time instrumentation (mlops_assets/feast_import.py),
and the platform's feature definitions still checked by Feast's full runtime type checks here.

Each case runs in a fresh interpreter: a process imports Feast once, and this one may have already.
"""

import json
import subprocess
import sys

from mlops_assets.feast_import import FEAST_MODULES

# typeguard's instrumented functions call these; a plain function does not.
_INSTRUMENTED = ("TypeCheckMemo", "check_argument_types_internal")


def _python(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _instrumented(function_expr: str) -> str:
    return f"sorted(set({_INSTRUMENTED!r}) & set({function_expr}.__code__.co_names))"


def test_platform_imports_feast_uninstrumented_and_puts_typeguard_back():
    found = _python(
        "import json, sys, typeguard\n"
        "checked = typeguard.typechecked\n"
        "from mlops_assets.feast_import import import_feast\n"
        "feast = import_feast()\n"
        "print(json.dumps({'restored': typeguard.typechecked is checked, 'loaded': [m for m in "
        f"{list(FEAST_MODULES)!r} if m in sys.modules], 'feature_view': {_instrumented('feast.FeatureView.__init__')}, "
        f"'entity': {_instrumented('feast.Entity.__init__')}}}))"
    )
    assert found == {"restored": True, "loaded": list(FEAST_MODULES), "feature_view": [], "entity": []}


def test_plain_import_is_instrumented_so_the_check_above_can_fail():
    found = _python(f"import json, feast; print(json.dumps({_instrumented('feast.FeatureView.__init__')}))")
    assert found == sorted(_INSTRUMENTED)


def test_feature_definitions_pass_feasts_runtime_type_checks(tmp_path):
    """Under Feast's own checks (a plain `import feast` first), the platform's entity and feature
    views are built without a TypeCheckError, and a wrong type would raise one."""
    found = _python(
        "import json, feast, typeguard\n"
        "try:\n"
        "    feast.Entity(name=1, join_keys=['user_id'])\n"
        "    wrong = None\n"
        "except typeguard.TypeCheckError as error:\n"
        "    wrong = str(error)\n"
        "from mlops_assets.resources.feature_store import FeastFeatureStore\n"
        f"objects = FeastFeatureStore(repo_path={str(tmp_path)!r}).feature_definitions()\n"
        "print(json.dumps({'wrong': wrong, 'objects': [type(o).__name__ for o in objects]}))"
    )
    assert found["wrong"] == 'argument "name" (int) is not an instance of str'
    assert found["objects"] == ["Entity", "FeatureView", "FeatureView", "FeatureView", "FeatureView"]
