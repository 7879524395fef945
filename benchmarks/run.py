"""The benchmark harness (`make bench`): the platform's monthly cycle against a bare baseline, in
the same run, at several sizes.

For each size it generates the StreamFlow scenario months with the package's own generator
(cached), then, for each repetition (fresh state every time, the order of the sides rotated):
  baseline  benchmarks/baseline.py, one process per month (plain pandas + DuckDB ASOF JOIN +
            scikit-learn + scipy drift statistics)
  warm      benchmarks/platform_warm.py: one process, every asset of each month materialized
            in-process on a real Dagster instance (per-asset times from the event log)
  cold      `dagster asset materialize -m mlops_assets.definitions --select '*' --partition M`,
            one process per month, as a user runs it (after `mlops-assets init`)
Peak RSS is each process's ru_maxrss (wait4). Medians over repetitions; ratios platform/baseline
per stage and per month. It also asserts that the platform and the baseline built the same
training set (features, labels, split) and reached the same results (val AUCs, drift share,
drifted features, promotion decisions).

    python -m benchmarks.run --sizes 10000,100000 --reps 3 --out benchmarks/results/cycle.md
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
DAGSTER = str(Path(sys.executable).parent / "dagster")
STAGES = [  # (baseline stage, platform asset)
    ("ingest", "monthly_snapshot"),
    ("pit_join", "training_dataset"),
    ("train", "candidate_model"),
    ("production", "production_metrics"),
    ("drift", "drift_report"),
    ("promotion", "promotion_decision"),
]
SCENARIO_MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e




def run_wait4(cmd: list[str], extra_env: dict | None = None, out_path: Path | None = None) -> tuple[float, float, str]:
    """Run a child, reap it with os.wait4 to read its own peak RSS (ru_maxrss, KiB on Linux)."""
    start = time.perf_counter()
    log = open(out_path or os.devnull, "w")
    stdout_file = out_path.with_suffix(".stdout") if out_path else None
    so = open(stdout_file, "w") if stdout_file else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, env=env() | (extra_env or {}), stdout=so, stderr=log)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    log.close()
    if so is not subprocess.DEVNULL:
        so.close()
    if proc.returncode != 0:
        tail = out_path.read_text()[-4000:] if out_path else ""
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{tail}")
    out = stdout_file.read_text() if stdout_file else ""
    return wall, usage.ru_maxrss / 1024.0, out


def ensure_data(root: Path, n_users: int) -> Path:
    folder = root / f"users_{n_users}"
    if not (folder / SCENARIO_MONTHS[-1] / "labels.csv").exists():
        from mlops_assets.generator import write_months

        t = time.perf_counter()
        write_months(folder, n_users=n_users, seed=7)
        print(f"generated {n_users} users x {len(SCENARIO_MONTHS)} months in {time.perf_counter() - t:.1f}s -> {folder}", flush=True)
    return folder


MODEL_KIND: str | None = None  # --model-kind: None = the platform's default (TrainingConfig)


def run_config_json() -> list[str]:
    if MODEL_KIND is None:
        return []
    return ["--config-json", json.dumps({"ops": {"candidate_model": {"config": {"model_kind": MODEL_KIND}}}})]


def run_baseline(data: Path, work: Path, dump: bool) -> dict:
    state = work / "baseline"
    shutil.rmtree(state, ignore_errors=True)
    months = {}
    for month in SCENARIO_MONTHS:
        cmd = [PY, "-m", "benchmarks.baseline", "--data", str(data), "--month", month, "--state", str(state)]
        cmd += ["--model-kind", MODEL_KIND] if MODEL_KIND else []
        wall, rss, out = run_wait4(cmd + (["--dump"] if dump else []), out_path=work / f"baseline_{month}.log")
        result = json.loads(out.strip().splitlines()[-1])
        months[month] = result | {"process_s": wall, "rss_mib": rss}
    return months


def run_warm(data: Path, work: Path) -> dict:
    home = work / "warm_home"
    shutil.rmtree(home, ignore_errors=True)
    out_json = work / "warm.json"
    cmd = [PY, "-m", "benchmarks.platform_warm", "--data", str(data), "--home", str(home),
           "--months", ",".join(SCENARIO_MONTHS), "--out", str(out_json)] + (["--model-kind", MODEL_KIND] if MODEL_KIND else [])
    wall, rss, _ = run_wait4(cmd, out_path=work / "warm.log")
    result = json.loads(out_json.read_text())
    months = {m["month"]: {"month_s": m["wall_s"], "steps": m["steps"]} for m in result["months"]}
    return {"months": months, "process_s": wall, "rss_mib": rss, "home": str(home)}


def run_cold(data: Path, work: Path) -> dict:
    from dagster import DagsterInstance

    from benchmarks.platform_warm import link_months, step_times

    home = work / "cold_home"
    shutil.rmtree(home, ignore_errors=True)
    extra = {"MLOPS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    run_wait4([PY, "-m", "mlops_assets.cli", "init"], extra, out_path=work / "cold_init.log")
    link_months(data, home / "landing", SCENARIO_MONTHS)
    months = {}
    for month in SCENARIO_MONTHS:
        cmd = [DAGSTER, "asset", "materialize", "-m", "mlops_assets.definitions", "--select", "*", "--partition", month]
        wall, rss, _ = run_wait4(cmd + run_config_json(), extra, out_path=work / f"cold_{month}.log")
        months[month] = {"process_s": wall, "rss_mib": rss}
    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = sorted(instance.get_runs(), key=lambda r: instance.get_run_record_by_id(r.run_id).create_timestamp)
        for run in runs:
            month = run.tags.get("dagster/partition")
            if month in months:
                months[month]["steps"] = step_times(instance, run.run_id)
    return {"months": months, "home": str(home)}


def _load(home: Path, asset: str, month: str):
    with open(home / "storage" / asset / month, "rb") as fh:
        return pickle.load(fh)


def check_equal(baseline: dict, warm_home: Path, cold_home: Path, work: Path) -> list[str]:
    """Same data, same results: the platform's training set and decisions against the baseline's."""
    from mlops_assets.domain.model import to_model_frame
    from mlops_assets.domain.schema import ENTITY_KEY, FEATURES, LABEL

    notes = []
    for month in SCENARIO_MONTHS:
        b = baseline[month]
        for side, home in (("warm", warm_home), ("cold", cold_home)):
            dataset = _load(home, "training_dataset", month)
            ref = pd.read_parquet(work / "baseline" / f"dataset_{month}.parquet")
            assert list(dataset[ENTITY_KEY]) == list(ref[ENTITY_KEY]), f"{side} {month}: users differ"
            pd.testing.assert_frame_equal(
                to_model_frame(dataset[list(FEATURES)]).reset_index(drop=True),
                to_model_frame(ref[list(FEATURES)]).reset_index(drop=True),
                check_dtype=True,
            )
            assert (dataset[LABEL].to_numpy() == ref[LABEL].to_numpy()).all(), f"{side} {month}: labels differ"
            assert (dataset["split"].to_numpy() == ref["split"].to_numpy()).all(), f"{side} {month}: split differs"
            cand = _load(home, "candidate_model", month)
            assert abs(cand["val_auc"] - b["candidate_auc"]) < 1e-9, (side, month, cand["val_auc"], b["candidate_auc"])
            prod = _load(home, "production_metrics", month)
            if b["production_auc"] is None:
                assert not prod["has_production"]
            else:
                assert abs(prod["production_auc"] - b["production_auc"]) < 1e-9, (side, month, prod["production_auc"], b["production_auc"])
            drift = _load(home, "drift_report", month)
            if b["drift_share"] is None:
                assert drift["drift_share"] is None
            else:
                assert abs(drift["drift_share"] - b["drift_share"]) < 1e-12, (side, month, drift["drift_share"], b["drift_share"])
                assert drift["drifted_columns"] == b["drifted_columns"], (side, month)
            decision = _load(home, "promotion_decision", month)
            assert decision["decision"] == b["decision"], (side, month, decision["decision"], b["decision"])
        notes.append(
            f"{month}: same {b['rows']} rows x 14 features, labels, split; val_auc {b['candidate_auc']:.4f}; "
            f"production auc {'-' if b['production_auc'] is None else format(b['production_auc'], '.4f')}; "
            f"drift_share {'-' if b['drift_share'] is None else format(b['drift_share'], '.3f')}; {b['decision']}"
        )
    return notes


def med(values) -> float:
    values = [v for v in values if v is not None and not np.isnan(v)]
    return statistics.median(values) if values else float("nan")


def summarize(n_users: int, reps: list[dict]) -> tuple[list[dict], dict]:
    rows = []
    for month in SCENARIO_MONTHS:
        for stage, asset in STAGES:
            base = med([r["baseline"][month]["times"][stage] for r in reps])
            warm = med([r["warm"]["months"][month]["steps"].get(asset, float("nan")) for r in reps])
            cold = med([r["cold"]["months"][month]["steps"].get(asset, float("nan")) for r in reps])
            rows.append({"users": n_users, "month": month, "stage": asset, "baseline_s": base, "warm_s": warm, "cold_step_s": cold})
        base = med([r["baseline"][month]["compute_s"] for r in reps])
        warm = med([r["warm"]["months"][month]["month_s"] for r in reps])
        rows.append({"users": n_users, "month": month, "stage": "whole month (in-process)", "baseline_s": base, "warm_s": warm, "cold_step_s": float("nan")})
        base_p = med([r["baseline"][month]["process_s"] for r in reps])
        cold_p = med([r["cold"]["months"][month]["process_s"] for r in reps])
        rows.append({"users": n_users, "month": month, "stage": "whole month (cold process)", "baseline_s": base_p, "warm_s": float("nan"), "cold_step_s": cold_p})
    peaks = {
        "baseline_rss_mib": max(max(m["rss_mib"] for m in r["baseline"].values()) for r in reps),
        "warm_rss_mib": max(r["warm"]["rss_mib"] for r in reps),
        "cold_rss_mib": max(max(m["rss_mib"] for m in r["cold"]["months"].values()) for r in reps),
    }
    return rows, peaks


def fmt_table(rows: list[dict]) -> str:
    frame = pd.DataFrame(rows)
    frame["warm/base"] = frame["warm_s"] / frame["baseline_s"]
    frame["cold/base"] = frame["cold_step_s"] / frame["baseline_s"]
    return frame.to_markdown(index=False, floatfmt=".2f")


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--data-root", type=Path, default=Path(os.environ.get("BENCH_DATA", "/tmp/mlops_bench_data")))
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("BENCH_WORK", "/tmp/mlops_bench_work")))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "cycle.md")
    parser.add_argument("--model-kind", default=None, help="candidate model kind on both sides (default: the platform's default)")
    args = parser.parse_args(argv)
    global MODEL_KIND
    MODEL_KIND = args.model_kind
    sizes = [int(s) for s in args.sizes.split(",")]
    all_rows, sections, raw = [], [], {}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for n_users in sizes:
        data = ensure_data(args.data_root, n_users)
        reps = []
        for rep in range(args.reps):
            work = args.work / f"u{n_users}" / f"rep{rep}"
            work.mkdir(parents=True, exist_ok=True)
            sides = ["baseline", "warm", "cold"]
            order = sides[rep % 3:] + sides[:rep % 3]  # rotate, so no side always runs first
            result = {}
            for side in order:
                t = time.perf_counter()
                if side == "baseline":
                    result["baseline"] = run_baseline(data, work, dump=(rep == 0))
                elif side == "warm":
                    result["warm"] = run_warm(data, work)
                else:
                    result["cold"] = run_cold(data, work)
                print(f"[{n_users} users rep {rep}] {side} done in {time.perf_counter() - t:.1f}s", flush=True)
            if rep == 0:
                result["equal"] = check_equal(result["baseline"], Path(result["warm"]["home"]), Path(result["cold"]["home"]), work)
                print("\n".join(f"  equal: {n}" for n in result["equal"]), flush=True)
            reps.append(result)
        rows, peaks = summarize(n_users, reps)
        all_rows += rows
        raw[n_users] = {"reps": reps, "peaks": peaks}
        totals = pd.DataFrame(rows)
        whole = totals[totals["stage"] == "whole month (in-process)"]
        cold = totals[totals["stage"] == "whole month (cold process)"]
        stage_sum = totals[~totals["stage"].str.startswith("whole")].groupby("stage", sort=False)[["baseline_s", "warm_s", "cold_step_s"]].sum()
        stage_sum["warm/base"] = stage_sum["warm_s"] / stage_sum["baseline_s"]
        section = [
            f"### {n_users:,} users ({args.reps} repetition(s), medians; 4 scenario months)",
            "",
            "Per stage, summed over the 4 months (seconds):",
            "",
            stage_sum.reset_index().to_markdown(index=False, floatfmt=".2f"),
            "",
            f"Whole cycle, 4 months: baseline {whole['baseline_s'].sum():.1f}s, platform in-process {whole['warm_s'].sum():.1f}s "
            f"-> **{whole['warm_s'].sum() / whole['baseline_s'].sum():.2f}x**; per process (imports included): baseline script "
            f"{cold['baseline_s'].sum():.1f}s, `dagster asset materialize` {cold['cold_step_s'].sum():.1f}s -> "
            f"**{cold['cold_step_s'].sum() / cold['baseline_s'].sum():.2f}x**.",
            f"Peak RSS: baseline {peaks['baseline_rss_mib']:.0f} MiB, platform in-process (4 months in one process) "
            f"{peaks['warm_rss_mib']:.0f} MiB, platform cold (max per month) {peaks['cold_rss_mib']:.0f} MiB.",
            "",
            "Same data, same results (asserted, platform warm and cold against the baseline):",
            "",
            *[f"- {n}" for n in reps[0]["equal"]],
            "",
        ]
        sections.append("\n".join(section))
        write_out(args, started, sections, all_rows, raw)
    return 0


def write_out(args, started, sections, all_rows, raw) -> None:
    text = "\n".join(
        [
            "# Cycle benchmark: platform against the bare baseline",
            "",
            f"Machine: {machine()}. Run started {started}. Command: `python -m benchmarks.run --sizes {args.sizes} --reps {args.reps}"
            + (f" --model-kind {args.model_kind}" if args.model_kind else "") + "`. Model: "
            + (args.model_kind or "the platform default (TrainingConfig)") + ".",
            "warm = every asset of the month materialized in-process in one long-lived process (per-asset time from "
            "Dagster's event log); cold = one `dagster asset materialize --select '*' --partition M` process per month "
            "(per-asset time from the run's event log; the process time includes imports). Ratios are platform / baseline.",
            "",
            *sections,
            "## Per month and stage (medians, seconds)",
            "",
            fmt_table(all_rows),
            "",
        ]
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps(raw, default=str, indent=1))
    print(text, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
