"""`mlops-assets demo`: generate StreamFlow months and let the real Dagster daemon run them.

The demo is not a daemon of its own. It delivers every month into the landing area, then starts
`dagster-daemon run -w workspace.yaml` on the home's instance: the real `new_month_sensor` and
`drift_sensor` tick (every second instead of 15), the queued run coordinator launches what they
request one cycle run at a time, and each run is a process of the `mlops_assets` code location.
So afterwards `make dev` shows the demo's runs on the job and sensor pages and the Overview
timeline (they carry the code location's origin and can be re-executed from the UI), and the
sensors' cursors and tick history are the ones the demo left: the next daemon's first ticks
request nothing already handled.

The demo stops the daemon once everything settled: no run waiting or running, and each sensor's
newest tick, evaluated after the last run ended, requested nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
WORKSPACE = CHECKOUT / "workspace.yaml"
LOCATION_NAME = "mlops_assets"  # workspace.yaml's location_name
# The sensors the demo needs to have ticked; every other sensor of the location must settle too.
SENSOR_NAMES = ("new_month_sensor", "drift_sensor")
DEMO_SENSOR_INTERVAL_SECONDS = 1
SETTLE_TIMEOUT_SECONDS = 900


class DemoError(RuntimeError):
    """The daemon stopped, a sensor failed, or the runs did not settle in time."""


def demo_months(count: int, first: str | None = None, today: date | None = None) -> list[str]:
    """The demo's months: from `first` if given, else the `count` months ending at the last
    complete one, so the partitions (which end there) hold no empty months."""
    from mlops_assets.domain.months import last_complete_month, month_keys, months_ending_at

    if first:
        return month_keys(first, count)
    return months_ending_at(last_complete_month(today or datetime.now(timezone.utc).date()), count)


# -- the daemon ------------------------------------------------------------------------------------
@contextmanager
def running_daemon(env: Mapping[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """`dagster-daemon run -w workspace.yaml` in its own process group (the daemon, its code
    server and the runs it launched), always stopped on the way out."""
    daemon = shutil.which("dagster-daemon", path=str(Path(sys.executable).parent)) or shutil.which("dagster-daemon")
    if daemon is None:
        raise DemoError("dagster-daemon is not installed in this environment (make install)")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [daemon, "run", "-w", str(WORKSPACE)],
            cwd=CHECKOUT, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            yield process
        finally:
            stop_process_group(process)


def stop_process_group(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


# -- watching the instance -------------------------------------------------------------------------
def sensor_states(instance) -> dict:
    """The code location's sensor states (cursor, status), by sensor name."""
    from dagster._core.scheduler.instigation import InstigatorType

    return {
        state.instigator_name: state
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        if state.repository_selector.location_name == LOCATION_NAME
    }


def latest_tick(instance, state):
    ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
    return ticks[0] if ticks else None


def failure_message(instance, run_id: str) -> str:
    """The first line of what made the run fail (a step's error, else the run's own message)."""
    from dagster import DagsterEventType

    for record in instance.all_logs(run_id, of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}):
        event = record.dagster_event
        data = event.event_specific_data
        error = getattr(data, "error", None)
        text = error.message if error is not None else event.message
        if text:
            return text.strip().splitlines()[0]
    return "no failure message recorded"


def wait_until_settled(
    instance, daemon: subprocess.Popen, log_path: Path, on_run: Callable | None = None,
    timeout: float = SETTLE_TIMEOUT_SECONDS, poll_seconds: float = 0.5,
) -> list:
    """Poll the instance until no run waits or runs and each sensor's newest tick, started after
    the last run ended, was skipped (it found nothing new). Returns the finished run records."""
    from dagster import DagsterRunStatus
    from dagster._core.scheduler.instigation import TickStatus

    started, reported = time.time(), set()
    finished_statuses = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    while True:
        if daemon.poll() is not None:
            raise DemoError(f"dagster-daemon exited with code {daemon.returncode}; its log ({log_path}) ends:\n{_tail(log_path)}")
        records = instance.get_run_records()
        finished = sorted((r for r in records if r.dagster_run.status in finished_statuses), key=lambda r: r.end_time or 0)
        for record in finished:
            if record.dagster_run.run_id not in reported:
                reported.add(record.dagster_run.run_id)
                if on_run:
                    on_run(record)
        last_end = max((r.end_time or 0 for r in finished), default=started)
        settled = len(finished) == len(records)
        states = sensor_states(instance)
        for name in sorted(set(SENSOR_NAMES) | set(states)):
            tick = latest_tick(instance, states[name]) if name in states else None
            if tick is not None and tick.status == TickStatus.FAILURE:
                raise DemoError(f"{name} failed: {tick.error.message.strip() if tick.error else 'no error recorded'}")
            if tick is None or tick.status != TickStatus.SKIPPED or tick.timestamp <= last_end:
                settled = False
        if settled:
            return finished
        if time.time() - started > timeout:
            raise DemoError(f"the runs did not settle within {timeout:.0f} s; the daemon's log ({log_path}) ends:\n{_tail(log_path)}")
        time.sleep(poll_seconds)


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


# -- the demo --------------------------------------------------------------------------------------
def run_demo(home: Path, users: int, months: int, seed: int, scenario: tuple[str, ...], first_month: str | None,
             reset: bool, timeout: float = SETTLE_TIMEOUT_SECONDS) -> int:
    from mlops_assets.cli import deliver, format_table, production_line, status_rows
    from mlops_assets.generator import write_months
    from mlops_assets.instance import get_instance
    from mlops_assets.settings import record_first_month

    clock = time.time()
    if reset and home.exists():
        print(f"resetting {home}")
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    keys = demo_months(months, first_month)
    # Every later process on this home (make dev, status, materialize) reads this first month,
    # so the partitions are exactly the demo's months and those after them.
    record_first_month(home, keys[0])
    from mlops_assets.definitions import build_definitions

    instance = get_instance(home)
    defs = build_definitions(home)
    incoming = home / "incoming"
    folders = write_months(incoming, n_users=users, scenario=scenario, first_month=keys[0], seed=seed)
    print(f"generated {len(folders)} months ({keys[0]}..{keys[-1]}) of {users} StreamFlow users in {incoming}")
    landing = Path(defs.resources["landing"].path)
    for folder in folders:
        deliver(folder, landing)
    print(f"delivered them to {landing}")

    env = dict(os.environ, MLOPS_HOME=str(home), DAGSTER_HOME=str(instance.root_directory),
               MLOPS_FIRST_MONTH=keys[0], MLOPS_SENSOR_INTERVAL_SECONDS=str(DEMO_SENSOR_INTERVAL_SECONDS))
    log_path = home / "logs" / "demo_daemon.log"

    def report(record):
        run = record.dagster_run
        ok = run.status.value == "SUCCESS"
        took = (record.end_time or 0) - (record.start_time or record.end_time or 0)
        line = (f"  {run.tags.get('dagster/sensor_name', 'manual')} -> {run.job_name} {run.tags.get('dagster/partition')}: "
                f"{'ok' if ok else 'FAILED'} ({took:.1f} s, run {run.run_id[:8]})")
        print(line if ok else f"{line}: {failure_message(instance, run.run_id)}", flush=True)

    print(f"dagster-daemon run -w workspace.yaml (sensors every {DEMO_SENSOR_INTERVAL_SECONDS} s; log {log_path})", flush=True)
    try:
        with running_daemon(env, log_path) as daemon:
            finished = wait_until_settled(instance, daemon, log_path, on_run=report, timeout=timeout)
    except DemoError as error:
        print(f"demo stopped: {error}", file=sys.stderr)
        return 1
    failed = [r for r in finished if r.dagster_run.status.value != "SUCCESS"]
    print()
    print(format_table(status_rows(instance)))
    print()
    print(production_line(defs))
    print(f"reports: {defs.resources['reports'].path}")
    print(f"{len(finished)} runs ({len(failed)} failed) in {time.time() - clock:.0f} s; "
          f"Dagster instance: {instance.root_directory}  (make dev to browse it)")
    return 1 if failed else 0
