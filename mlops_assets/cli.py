"""`mlops-assets demo | status | deliver | generate | init | rollback`: the project's front door on the command line.

The demo (`mlops_assets/demo.py`) delivers generated months into the landing area and lets the real
`dagster-daemon` run them. `tick`/`play_months` below evaluate the sensors in-process and obey
them, for tests that drive the cycle without a daemon.
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


SENSORS_IN_ORDER = ("new_month_sensor", "drift_sensor", "performance_sensor", "online_features_sensor")


def deliver(month_folder: Path, landing: Path) -> Path:
    """Drop a month folder named `YYYY-MM` into the landing area as a whole (copy aside, then
    rename), replacing what was there: the new-month sensor never sees a half-copied month."""
    from mlops_assets.domain.months import month_key_from_folder_name
    from mlops_assets.landing_files import deliver_month

    return deliver_month(month_folder, landing, month_key_from_folder_name(month_folder.name), replace=True).target


def play_months(defs, instance, folders, on_run=None, cursors=None) -> list[tuple[str, str, RunOutcome]]:
    """Deliver each month in turn and obey the sensors after each, as the daemon would. Pass the
    same `cursors` dict to a later call to go on where the previous one stopped."""
    landing = Path(defs.resources["landing"].path)
    cursors = dict.fromkeys(SENSORS_IN_ORDER) if cursors is None else cursors
    for sensor_name in SENSORS_IN_ORDER:
        cursors.setdefault(sensor_name, None)
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
def status_rows(instance, scan=None) -> list[dict]:
    """One row per month: its one state (see `mlops_assets.month_status`), drift and decision."""
    from mlops_assets.landing_files import LandingScan
    from mlops_assets.month_status import month_statuses

    rows = []
    for status in month_statuses(instance, scan or LandingScan()):
        drift, record = status.drift or {}, status.decision or {}
        share = drift.get("drift_share")
        rows.append(
            {
                "as_of": _as_of(status.month),
                "state": status.state,
                "drift_share": "-" if share is None or share != share else f"{share:.3f}",
                # What requested the month's retraining (drift, performance, both, manual), as its
                # decision recorded it; before a decision, whether the drift report asks.
                "triggered": record.get("retraining_trigger")
                or ("drift" if drift.get("action") == "RETRAINING_TRIGGERED" else "no" if drift else "-"),
                "cand_v": record.get("candidate_version", "-"),
                "cand_auc": _fmt(record.get("candidate_auc")),
                "prod_v": record.get("production_version_before") or "-",
                "prod_auc": _fmt(record.get("production_auc")),
                "prod_after": record.get("production_version_after") or "-",
                "detail": status.detail,
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
    lines = [line(headers), line("-" * widths[h] for h in headers), *(line(r.values()) for r in rows)]
    return "\n".join(text.rstrip() for text in lines)


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
    from mlops_assets.demo import run_demo

    return run_demo(home_dir(), users=args.users, months=args.months, seed=args.seed,
                    scenario=_scenario(args.months, args.scenario), first_month=args.first_month, reset=args.reset)


def cmd_status(args) -> int:
    from mlops_assets.definitions import build_definitions
    from mlops_assets.instance import get_instance
    from mlops_assets.landing_files import not_a_month_message
    from mlops_assets.month_status import FAILED_STATES

    home = home_dir()
    instance = get_instance(home)
    defs = build_definitions(home)
    landing = defs.resources["landing"]
    scan = landing.scan()
    rows = status_rows(instance, scan)
    print(format_table(rows))
    for name in scan.not_months:
        print(not_a_month_message(name, landing.path))
    print()
    print(production_line(defs))
    if rows and rows[-1]["state"] in FAILED_STATES:
        print(f"newest month {rows[-1]['as_of'][:7]}: {rows[-1]['state']}", file=sys.stderr)
        return 1
    return 0


def cmd_deliver(args) -> int:
    from mlops_assets.definitions import build_definitions
    from mlops_assets.landing_files import DeliveryError, DeliveryRefused, deliver_month
    from mlops_assets.partitions import monthly_partitions

    landing = Path(build_definitions(home_dir()).resources["landing"].path)
    keys = monthly_partitions.get_partition_keys()
    if args.month not in keys:
        print(f"month {args.month!r} is not a partition: expected YYYY-MM from {keys[0]} to {keys[-1]}; nothing delivered",
              file=sys.stderr)
        return 2
    try:
        delivery = deliver_month(Path(args.path), landing, args.month, replace=args.replace)
    except DeliveryRefused as refused:
        print(refused, file=sys.stderr)
        return 1
    except DeliveryError as error:
        print(error, file=sys.stderr)
        return 2
    content = f"content {delivery.fingerprint[:12]}"
    if delivery.action == "already there":
        print(f"month {delivery.month} is already in the landing area with the same {content} ({delivery.target}); nothing to do")
        return 0
    previous = delivery.previous or ""
    held = previous if previous.startswith("an ") else f"content {previous[:12]}"
    what = "delivered" if delivery.action == "delivered" else f"replaced {held} with"
    print(f"{what} {args.path} as month {delivery.month}: {delivery.target} ({content}).")
    print("new_month_sensor requests its import at its next tick (sensors run under `make dev`).")
    if delivery.action == "replaced":
        print(f"If {delivery.month} was already imported from other content, its snapshot refuses this one until you "
              f"materialize monthly_snapshot for {delivery.month} with config replace_existing: true.")
    return 0


def cmd_rollback(args) -> int:
    from mlops_assets.definitions import build_definitions
    from mlops_assets.instance import get_instance
    from mlops_assets.rollback import run_rollback

    home = home_dir()
    defs = build_definitions(home)
    record, refused = run_rollback(defs, get_instance(home), args.to, args.reason, args.month)
    if refused:
        print(refused, file=sys.stderr)
        return 1
    print(record["reason"])
    print(production_line(defs))
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
    # The demo's months end at the last complete month unless --first-month is given.
    demo.set_defaults(first_month=None)
    demo.set_defaults(func=cmd_demo)
    gen = sub.add_parser("generate", help="write StreamFlow months in the landing layout")
    gen.add_argument("out")
    data_options(gen)
    gen.set_defaults(func=cmd_generate)
    sub.add_parser(
        "status", help="each month's state (exit 1 when the newest month failed or is blocked); production"
    ).set_defaults(func=cmd_status)
    deliver_parser = sub.add_parser("deliver", help="deliver a folder holding the six files as a month, atomically")
    deliver_parser.add_argument("path", help="a folder holding the six CSVs, e.g. the course's month_000")
    deliver_parser.add_argument("--month", required=True, help="the month it holds, YYYY-MM")
    deliver_parser.add_argument("--replace", action="store_true", help="replace a landing folder holding other content")
    deliver_parser.set_defaults(func=cmd_deliver)
    sub.add_parser("init", help="create the embedded Dagster instance folder").set_defaults(func=cmd_init)
    rollback = sub.add_parser("rollback", help="put production back on an earlier version that cleared delta")
    rollback.add_argument("--to", required=True, metavar="VERSION", help="registered model version, e.g. 2")
    rollback.add_argument("--reason", required=True, help="why (recorded in the decision record and on the versions)")
    rollback.add_argument("--month", default=None, help="month to record it in (default: the latest month with a decision)")
    rollback.set_defaults(func=cmd_rollback)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
