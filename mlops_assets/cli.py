"""`mlops-assets demo | status | generate | init`: the project's front door on the command line.

The demo plays the production flow month by month on the embedded defaults: it drops each month's
folder into the landing area, evaluates the real `new_month_sensor` and `drift_sensor` against the
real Dagster instance, and runs exactly the runs they request (in-process, in order).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from mlops_assets.settings import home_dir


# -- sensors, evaluated and obeyed ---------------------------------------------------------------
@dataclass(frozen=True)
class RunOutcome:
    job_name: str
    run_id: str
    success: bool


def tick(defs, sensor_name: str, instance, cursor: str | None, log_level: str = "INFO"):
    """Evaluate a sensor once, run what it requests in order; returns (new cursor, run results)."""
    from dagster import SensorResult, SkipReason, build_sensor_context

    sensor_def = defs.resolve_sensor_def(sensor_name)
    resources = {key: value for key, value in defs.resources.items() if key in sensor_def.required_resource_keys}
    context = build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs)
    result = sensor_def(context)
    if isinstance(result, SkipReason) or result is None:
        return cursor, []
    assert isinstance(result, SensorResult)
    outcomes = []
    for request in result.run_requests:
        # A sensor with several jobs names the job in each request.
        job = defs.resolve_job_def(request.job_name or sensor_def.job_name)
        tags = dict(request.tags) | {"dagster/sensor_name": sensor_name, "dagster/run_key": request.run_key}
        run_config = dict(request.run_config or {}) | {"loggers": {"console": {"config": {"log_level": log_level}}}}
        outcome = job.execute_in_process(
            instance=instance, partition_key=request.partition_key, tags=tags, run_config=run_config, raise_on_error=False
        )
        # Keep what the run was, not its in-memory result (which holds every output of the run).
        outcomes.append((request.partition_key, RunOutcome(outcome.dagster_run.job_name, outcome.run_id, outcome.success)))
    return result.cursor if result.cursor is not None else context.cursor, outcomes


SENSORS_IN_ORDER = ("new_month_sensor", "drift_sensor", "online_features_sensor")


def deliver(month_folder: Path, landing: Path) -> Path:
    """Drop a month folder into the landing area as a whole (copy aside, then rename), as a
    delivery tool should: the new-month sensor never sees a half-copied month."""
    landing.mkdir(parents=True, exist_ok=True)
    staging = landing / f".{month_folder.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(month_folder, staging)
    target = landing / month_folder.name
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def play_months(defs, instance, folders, on_run=None) -> list[tuple[str, str, RunOutcome]]:
    """Deliver each month in turn and obey both sensors after each, as the daemon would."""
    landing = Path(defs.resources["landing"].path)
    cursors: dict[str, str | None] = dict.fromkeys(SENSORS_IN_ORDER)
    runs = []
    for folder in folders:
        deliver(folder, landing)
        for sensor_name in SENSORS_IN_ORDER:
            cursors[sensor_name], outcomes = tick(defs, sensor_name, instance, cursors[sensor_name])
            for month, outcome in outcomes:
                runs.append((sensor_name, month, outcome))
                if on_run:
                    on_run(sensor_name, month, outcome)
    return runs


# -- status ----------------------------------------------------------------------------------------
def status_rows(instance) -> list[dict]:
    from dagster import AssetKey

    from mlops_assets.records import latest_metadata

    months = sorted(instance.get_materialized_partitions(AssetKey("monthly_snapshot")))
    rows = []
    for month in months:
        drift = latest_metadata(instance, "drift_report", month) or {}
        decision = latest_metadata(instance, "promotion_decision", month)
        record = decision["record"] if decision else {}
        share = drift.get("drift_share")
        rows.append(
            {
                "as_of": _as_of(month),
                "drift_share": "-" if share is None or share != share else f"{share:.3f}",
                "triggered": "yes" if drift.get("action") == "RETRAINING_TRIGGERED" else "no",
                "cand_v": record.get("candidate_version", "-"),
                "cand_auc": _fmt(record.get("candidate_auc")),
                "prod_v": record.get("production_version_before") or "-",
                "prod_auc": _fmt(record.get("production_auc")),
                "decision": record.get("decision", "no retraining" if drift else "-"),
                "prod_after": record.get("production_version_after") or "-",
            }
        )
    return rows


def _as_of(month: str) -> str:
    from mlops_assets.domain.months import as_of_for

    return as_of_for(month).isoformat()


def _fmt(value) -> str:
    return "-" if value is None or value != value else f"{value:.4f}"


def format_table(rows: list[dict]) -> str:
    if not rows:
        return "(no months processed yet)"
    headers = list(rows[0])
    widths = {h: max(len(h), *(len(str(r[h])) for r in rows)) for h in headers}
    line = lambda values: "  ".join(str(v).ljust(widths[h]) for h, v in zip(headers, values))  # noqa: E731
    return "\n".join([line(headers), line("-" * widths[h] for h in headers), *(line(r.values()) for r in rows)])


def production_line(defs) -> str:
    registry = defs.resources["registry"]
    production = registry.production()
    if production is None:
        return f"registry {registry.model_name}: no production model"
    tags = production["tags"]
    return (
        f"registry {registry.model_name}@{registry.production_alias} -> v{production['version']} "
        f"(month {tags.get('partition')}, val_auc {tags.get('val_auc')}); "
        f"{len(registry.versions())} versions registered"
    )


# -- commands --------------------------------------------------------------------------------------
def cmd_generate(args) -> int:
    from mlops_assets.generator import write_months

    scenario = _scenario(args.months, args.scenario)
    folders = write_months(Path(args.out), n_users=args.users, scenario=scenario, first_month=args.first_month, seed=args.seed)
    print("\n".join(str(f) for f in folders))
    return 0


def _scenario(months: int, explicit: str | None) -> tuple[str, ...]:
    from mlops_assets.generator import scenario_for

    return tuple(explicit.split(",")) if explicit else scenario_for(months)


def cmd_demo(args) -> int:
    from mlops_assets.definitions import build_definitions
    from mlops_assets.generator import write_months
    from mlops_assets.instance import get_instance

    home = home_dir()
    if args.reset and home.exists():
        print(f"resetting {home}")
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    instance = get_instance(home)
    defs = build_definitions(home)
    incoming = home / "incoming"
    folders = write_months(incoming, n_users=args.users, scenario=_scenario(args.months, args.scenario),
                           first_month=args.first_month, seed=args.seed)
    print(f"generated {len(folders)} months of {args.users} StreamFlow users in {incoming}")

    def report(sensor_name, month, outcome):
        state = "ok" if outcome.success else "FAILED"
        print(f"  {sensor_name} -> {outcome.job_name} {month}: {state} (run {outcome.run_id[:8]})")

    runs = play_months(defs, instance, folders, on_run=report)
    failed = any(not outcome.success for _, _, outcome in runs)
    print()
    print(format_table(status_rows(instance)))
    print()
    print(production_line(defs))
    print(f"reports: {defs.resources['reports'].path}")
    print(f"Dagster instance: {instance.root_directory}  (make dev to browse it)")
    return 1 if failed else 0


def cmd_status(args) -> int:
    from mlops_assets.definitions import build_definitions
    from mlops_assets.instance import get_instance

    home = home_dir()
    instance = get_instance(home)
    print(format_table(status_rows(instance)))
    print()
    print(production_line(build_definitions(home)))
    return 0


def cmd_init(args) -> int:
    from mlops_assets.instance import ensure_dagster_home

    print(ensure_dagster_home(home_dir()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlops-assets", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def data_options(p):
        p.add_argument("--users", type=int, default=5000)
        p.add_argument("--months", type=int, default=4)
        p.add_argument("--seed", type=int, default=7)
        p.add_argument("--first-month", default="2024-01")
        p.add_argument("--scenario", default=None, help="comma-separated month kinds, e.g. baseline,concept_drift")

    demo = sub.add_parser("demo", help="generate StreamFlow months and run the whole cycle through the sensors")
    data_options(demo)
    demo.add_argument("--reset", action="store_true", help="delete the home folder first")
    demo.set_defaults(func=cmd_demo)
    gen = sub.add_parser("generate", help="write StreamFlow months in the landing layout")
    gen.add_argument("out")
    data_options(gen)
    gen.set_defaults(func=cmd_generate)
    sub.add_parser("status", help="production version and AUC, last decision per month").set_defaults(func=cmd_status)
    sub.add_parser("init", help="create the embedded Dagster instance folder").set_defaults(func=cmd_init)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
