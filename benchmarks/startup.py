"""Start-up costs every process pays before it does any work (issue 12), now and at earlier commits.

- **Code-location load**: `import mlops_assets.definitions` in a fresh interpreter, what the
  webserver, the daemon and every run pay; and which heavy libraries that load pulls in.
- **A run's start-up**: a fresh `dagster asset materialize -m mlops_assets.definitions --select
  monthly_snapshot --partition M` process (what a daemon-launched run worker does: start Python,
  load the code location, initialize resources, start the first step), from process start to the
  first step's STEP_START in the run's event log, and to the step's end.
- **First-use imports** inside the steps (Feast, MLflow, Evidently, scikit-learn, scipy.stats):
  each in a fresh interpreter, after Dagster and pandas (which every process has anyway).

The earlier commits (`--before`, default: before issue 12's changes, and before Feast was imported
without typeguard's instrumentation) are exported to temporary folders and imported instead of the
editable install, with the same virtualenv.

    python -m benchmarks.startup --out benchmarks/results/startup.md [--before REF,REF] [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from benchmarks import publish

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
HEAVY = ("scipy", "sklearn", "feast", "mlflow", "evidently", "matplotlib", "duckdb", "plotly")
# Each library as a step first imports it; Feast also plainly, to show what feast_import.py saves.
FIRST_USE = {
    "feast (as the platform imports it, mlops_assets.feast_import)": "from mlops_assets.feast_import import import_feast; import_feast()",
    "feast (plain `import feast`, typeguard instrumenting it)": "import feast; import feast.infra.offline_stores.duckdb, feast.infra.online_stores.sqlite",
    "mlflow": "import mlflow",
    "evidently": "import evidently",
    "sklearn.linear_model": "import sklearn.linear_model",
    "scipy.stats": "import scipy.stats",
}
MONTH = "2024-01"


def prelude(tree: Path | None) -> str:
    """Python that makes `mlops_assets` come from `tree` instead of the editable install."""
    if tree is None:
        return "import sys\n"
    return (
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in getattr(f, '__module__', '') "
        "and 'editable' not in getattr(f, '__name__', '') and 'editable' not in type(f).__module__]\n"
        f"sys.path.insert(0, {str(tree)!r})\n"
    )


def python(tree: Path | None, code: str, env: dict | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([PY, "-c", prelude(tree) + code], capture_output=True, text=True, env=env, cwd=tree or ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{code[:200]} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return time.perf_counter() - start, out.stdout


def load_figures(tree: Path | None, reps: int) -> dict:
    code = (
        "import time; t = time.perf_counter(); import mlops_assets.definitions as d; s = time.perf_counter() - t\n"
        "import json, mlops_assets; print(json.dumps({'import_s': s, 'from': mlops_assets.__file__, "
        f"'heavy': [m for m in {HEAVY!r} if m in sys.modules], 'modules': len(sys.modules)}}))"
    )
    runs = [python(tree, code) for _ in range(reps)]
    info = [json.loads(out.strip().splitlines()[-1]) for _, out in runs]
    return {
        "process_s": statistics.median(w for w, _ in runs),
        "import_s": statistics.median(i["import_s"] for i in info),
        "heavy": info[0]["heavy"],
        "modules": info[0]["modules"],
        "from": info[0]["from"],
    }


def first_use(reps: int) -> dict[str, float]:
    """Seconds to import each library on top of dagster + pandas (median)."""
    result = {}
    for name, statement in FIRST_USE.items():
        code = f"import dagster, pandas, time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
        result[name] = statistics.median(float(python(None, code)[1].strip().splitlines()[-1]) for _ in range(reps))
    return result


def run_startup(tree: Path | None, data: Path, reps: int) -> dict:
    """Process start -> the first step's start, and -> the step's end, for a one-step run."""
    from dagster import DagsterEventType, DagsterInstance

    starts, ends = [], []
    for rep in range(reps):
        home = Path(tempfile.mkdtemp(prefix="mlops_startup_"))
        try:
            env = dict(os.environ, MLOPS_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
            python(tree, "from mlops_assets.cli import main; sys.exit(main(['init']))", env)
            (home / "landing").mkdir(parents=True, exist_ok=True)
            (home / "landing" / MONTH).symlink_to(data / MONTH, target_is_directory=True)
            launched = time.time()
            python(tree, "import sys; from dagster._cli import main; sys.argv = ['dagster', 'asset', 'materialize', '-m', "
                   f"'mlops_assets.definitions', '--select', 'monthly_snapshot', '--partition', {MONTH!r}]; main()", env)
            with DagsterInstance.from_config(str(home / "dagster")) as instance:
                (run,) = instance.get_runs()
                events = {e.dagster_event.event_type: e.timestamp for e in instance.all_logs(run.run_id) if e.dagster_event}
            starts.append(events[DagsterEventType.STEP_START] - launched)
            ends.append(events[DagsterEventType.STEP_SUCCESS] - launched)
        finally:
            shutil.rmtree(home, ignore_errors=True)
    return {"to_first_step_s": statistics.median(starts), "to_step_end_s": statistics.median(ends), "all_to_first_step_s": starts}


def export(ref: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="mlops_before_"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "startup.md")
    parser.add_argument("--before", default="ac64e3e,3e9b0d3",
                        help="earlier commits to compare with, comma-separated (default: before issue 12, and before "
                        "Feast was imported without typeguard's instrumentation)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--users", type=int, default=1000, help="users of the one month the run imports")
    args = parser.parse_args(argv)
    from mlops_assets.generator import write_months

    data = Path(tempfile.mkdtemp(prefix="mlops_startup_data_"))
    refs = args.before.split(",")
    befores = {ref: export(ref) for ref in refs}
    try:
        write_months(data, n_users=args.users, seed=7)
        sides = {}
        for name, tree in [*((f"before ({ref})", tree) for ref, tree in befores.items()), ("now", None)]:
            sides[name] = {"load": load_figures(tree, args.reps), "run": run_startup(tree, data, max(1, args.reps // 2 + 1))}
            print(name, json.dumps(sides[name]), flush=True)
        libraries = first_use(args.reps)
    finally:
        for tree in befores.values():
            shutil.rmtree(tree, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
    lines = [
        "# Start-up (issue 12)",
        "",
        f"`python -m benchmarks.startup --before {args.before} --reps {args.reps}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        "Linux, 2 shared cores: medians; the machine was shared, so read tenths of a second, not hundredths.",
        "",
        "| | `import mlops_assets.definitions` (s) | whole process (s) | heavy libraries loaded | modules | run: process start -> first step (s) | -> step end (s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, side in sides.items():
        load, run = side["load"], side["run"]
        lines.append(
            f"| {name} | {load['import_s']:.2f} | {load['process_s']:.2f} | {', '.join(load['heavy']) or 'none'} | {load['modules']} | "
            f"{run['to_first_step_s']:.2f} | {run['to_step_end_s']:.2f} |"
        )
    lines += [
        "",
        f"The run: `dagster asset materialize --select monthly_snapshot --partition {MONTH}` of a {args.users:,}-user month in a fresh "
        "home, the same path a daemon-launched run worker takes (start Python, load the code location, initialize resources, "
        "start the first step). The step's own time includes the libraries it needs on first use:",
        "",
        "| library, imported on first use (after dagster + pandas) | s |",
        "| --- | --- |",
        *[f"| {m} | {s:.2f} |" for m, s in libraries.items()],
        "",
    ]
    publish(args.out, "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
