"""The benchmark harness (`make bench`, `make bench-1m`, `make bench-10m`): the platform's monthly
cycle against a bare baseline, in the same run, at several sizes.

For each size it generates the StreamFlow scenario months with the package's own generator
(cached under BENCH_DATA, default /var/tmp/mlops_bench_data, outside the repository), then, for
each repetition (fresh state every time, the order of the sides rotated):
  baseline  benchmarks/baseline.py, one process per month (a typed pyarrow read of the six CSVs,
            DuckDB ASOF JOIN, scikit-learn, scipy drift statistics)
  warm      benchmarks/platform_warm.py: one process, the cycle's assets of each month materialized
            in-process on a real Dagster instance (per-asset times from the event log)
  cold      `dagster asset materialize -m mlops_assets.definitions --select <the cycle's assets>
            --partition M`, one process per month, as a user runs it (after `mlops-assets init`)
Like with like: both sides produce the same outputs each month: the snapshot and the offline
feature tables, the training set, the candidate and its val AUC, production on the same rows, the
drift statistics, production's AUC on the month's validation users against its AUC at promotion
(production_performance), the decision, and every user of the month scored by the model the
decision left (churn_scores, a Parquet file). The platform's online store (online_features: `feast
materialize` into SQLite) has no counterpart in the baseline and is left out of the platform's
runs; benchmarks/online_materialize.py measures it on its own.
Peak RSS is each process's ru_maxrss (wait4), reported per side. Medians over repetitions; ratios
platform/baseline per stage and per month, and two lines the issue asks for: monthly_snapshot
against the baseline's typed pyarrow read of the same six CSVs alone, and the drift report against
the scipy statistics. It also asserts that the platform and the baseline built the same training
set (features, labels, split) and reached the same results (val AUCs, production AUCs, drift share,
drifted features, promotion decisions, every user's churn probability).

    python -m benchmarks.run --sizes 10000,100000 --reps 3 --out benchmarks/results/cycle.md
    python -m benchmarks.run --sizes 10000000 --reps 1 --months 2024-01 --sides baseline,cold --out ...
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
    ("performance", "production_performance"),
    ("scores", "churn_scores"),
]
# The platform's side of the comparison: the monthly cycle without the online store (see above).
CYCLE_ASSETS = [asset for _, asset in STAGES]
SCENARIO_MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]
SIDES = ["baseline", "warm", "cold"]
MONTHS: list[str] = list(SCENARIO_MONTHS)  # the months this run measures (--months)


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
    """The generator's scenario months for n_users (seed 7), generated once and kept: only as many
    months as the run asks for (10M users for 2024-01 alone)."""
    folder = root / f"users_{n_users}"
    wanted = SCENARIO_MONTHS.index(max(MONTHS)) + 1
    if not all((folder / m / "labels.csv").exists() for m in MONTHS):
        t = time.perf_counter()
        subprocess.run([PY, "-m", "mlops_assets.generator", str(folder), "--users", str(n_users), "--months", str(wanted), "--seed", "7"],
                       check=True, env=env())
        print(f"generated {n_users} users x {wanted} months in {time.perf_counter() - t:.1f}s -> {folder}", flush=True)
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
    for month in MONTHS:
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
           "--months", ",".join(MONTHS), "--assets", ",".join(CYCLE_ASSETS), "--out", str(out_json)] + (["--model-kind", MODEL_KIND] if MODEL_KIND else [])
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
    link_months(data, home / "landing", MONTHS)
    months = {}
    for month in MONTHS:
        cmd = [DAGSTER, "asset", "materialize", "-m", "mlops_assets.definitions", "--select", ",".join(CYCLE_ASSETS), "--partition", month]
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
    """An asset's stored value: Parquet for DataFrames (the platform's IO manager), else a pickle."""
    path = home / "storage" / asset / month
    if path.with_name(f"{month}.parquet").exists():
        return pd.read_parquet(path.with_name(f"{month}.parquet"))
    with open(path, "rb") as fh:
        return pickle.load(fh)


def check_equal(baseline: dict, homes: dict[str, Path], work: Path) -> list[str]:
    """Same data, same results: each platform side's training set, decisions and scores against
    the baseline's."""
    from mlops_assets.domain.model import to_model_frame
    from mlops_assets.domain.schema import ENTITY_KEY, FEATURES, LABEL

    notes = []
    for month in MONTHS:
        b = baseline[month]
        for side, home in homes.items():
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
            performance = _load(home, "production_performance", month)
            if b["performance"] is None:
                assert performance["auc_now"] is None, (side, month, performance)
            else:
                assert abs(performance["auc_now"] - b["performance"]["auc_now"]) < 1e-9, (side, month, performance, b["performance"])
                # The platform reads it back from the version's val_auc tag, written with 6 decimals.
                assert abs(performance["auc_at_promotion"] - b["performance"]["auc_at_promotion"]) <= 5e-7, (side, month)
            drift = _load(home, "drift_report", month)
            if b["drift_share"] is None:
                assert drift["drift_share"] is None
            else:
                assert abs(drift["drift_share"] - b["drift_share"]) < 1e-12, (side, month, drift["drift_share"], b["drift_share"])
                assert drift["drifted_columns"] == b["drifted_columns"], (side, month)
            decision = _load(home, "promotion_decision", month)
            assert decision["decision"] == b["decision"], (side, month, decision["decision"], b["decision"])
            scores = pd.read_parquet(home / "scores" / Path(b["scores_path"]).name)
            ref_scores = pd.read_parquet(b["scores_path"])
            assert list(scores["user_id"]) == list(ref_scores["user_id"]), f"{side} {month}: scored users or ranks differ"
            gap = float(np.max(np.abs(scores["churn_probability"].to_numpy() - ref_scores["churn_probability"].to_numpy()), initial=0.0))
            assert gap < 1e-12, (side, month, gap)
            assert (scores["risk_band"].to_numpy() == ref_scores["risk_band"].to_numpy()).all(), f"{side} {month}: bands differ"
        notes.append(
            f"{month}: same {b['rows']} rows x 14 features, labels, split; val_auc {b['candidate_auc']:.4f}; "
            f"production auc {'-' if b['production_auc'] is None else format(b['production_auc'], '.4f')}; "
            f"drift_share {'-' if b['drift_share'] is None else format(b['drift_share'], '.3f')}; {b['decision']}; "
            f"{b['scored_users']} users scored, same probabilities, ranks and bands ({', '.join(homes)} against the baseline)"
        )
    return notes


def med(values) -> float:
    values = [v for v in values if v is not None and not np.isnan(v)]
    return statistics.median(values) if values else float("nan")


def summarize(n_users: int, reps: list[dict]) -> tuple[list[dict], dict]:
    rows = []
    nan = float("nan")

    def side(r, name, month, key="steps", asset=None):
        if name not in r:
            return nan
        values = r[name]["months"][month]
        return values[key].get(asset, nan) if asset else values.get(key, nan)

    for month in MONTHS:
        for stage, asset in STAGES:
            base = med([r["baseline"][month]["times"][stage] for r in reps])
            warm = med([side(r, "warm", month, asset=asset) for r in reps])
            cold = med([side(r, "cold", month, asset=asset) for r in reps])
            rows.append({"users": n_users, "month": month, "stage": asset, "baseline_s": base, "warm_s": warm, "cold_step_s": cold})
        base = med([r["baseline"][month]["typed_read_s"] for r in reps])
        rows.append({"users": n_users, "month": month, "stage": "typed pyarrow read of the six CSVs (baseline)", "baseline_s": base,
                     "warm_s": nan, "cold_step_s": nan})
        base = med([r["baseline"][month]["compute_s"] for r in reps])
        warm = med([side(r, "warm", month, key="month_s") for r in reps])
        rows.append({"users": n_users, "month": month, "stage": "whole month (in-process)", "baseline_s": base, "warm_s": warm, "cold_step_s": nan})
        base_p = med([r["baseline"][month]["process_s"] for r in reps])
        cold_p = med([side(r, "cold", month, key="process_s") for r in reps])
        rows.append({"users": n_users, "month": month, "stage": "whole month (cold process)", "baseline_s": base_p, "warm_s": nan, "cold_step_s": cold_p})
    peaks = {"baseline_rss_mib": max(max(m["rss_mib"] for m in r["baseline"].values()) for r in reps)}
    if all("warm" in r for r in reps):
        peaks["warm_rss_mib"] = max(r["warm"]["rss_mib"] for r in reps)
    if all("cold" in r for r in reps):
        peaks["cold_rss_mib"] = max(max(m["rss_mib"] for m in r["cold"]["months"].values()) for r in reps)
    return rows, peaks


def headline(n_users: int, reps: int, rows: list[dict], peaks: dict, sides: list[str]) -> list[str]:
    """The issue's lines: whole month in-process and per process, monthly_snapshot against the
    typed read, the drift report against the scipy statistics, peak RSS per side."""
    totals = pd.DataFrame(rows)
    months = len(MONTHS)

    def total(stage: str, column: str) -> float:
        return float(totals.loc[totals["stage"] == stage, column].sum(min_count=1))

    def ratio(a: float, b: float) -> str:
        return f"**{a / b:.2f}x**" if a == a and b == b and b else "-"

    stage_sum = totals[~totals["stage"].str.startswith("whole")].groupby("stage", sort=False)[["baseline_s", "warm_s", "cold_step_s"]].sum(min_count=1)
    stage_sum["warm/base"] = stage_sum["warm_s"] / stage_sum["baseline_s"]
    stage_sum["cold/base"] = stage_sum["cold_step_s"] / stage_sum["baseline_s"]
    lines = [
        f"### {n_users:,} users ({reps} repetition(s), medians; {months} month(s): {', '.join(MONTHS)}; sides: {', '.join(sides)})",
        "",
        f"Per stage, summed over the {months} month(s) (seconds):",
        "",
        stage_sum.reset_index().to_markdown(index=False, floatfmt=".2f"),
        "",
    ]
    base, warm = total("whole month (in-process)", "baseline_s"), total("whole month (in-process)", "warm_s")
    base_p, cold_p = total("whole month (cold process)", "baseline_s"), total("whole month (cold process)", "cold_step_s")
    if "warm" in sides:
        lines.append(f"- Whole cycle in-process: baseline {base:.1f}s, platform {warm:.1f}s -> {ratio(warm, base)} "
                     f"({warm / months:.1f}s a month).")
    if "cold" in sides:
        lines.append(f"- Per process (imports included): baseline script {base_p:.1f}s, `dagster asset materialize` "
                     f"{cold_p:.1f}s -> {ratio(cold_p, base_p)} ({cold_p / months:.1f}s a month).")
    typed = total("typed pyarrow read of the six CSVs (baseline)", "baseline_s")
    drift_rows = totals[(totals["stage"] == "drift_report") & (totals["month"] != MONTHS[0])]
    for which, name, column in (("warm", "in-process", "warm_s"), ("cold", "cold", "cold_step_s")):
        if which in sides:
            snap = total("monthly_snapshot", column)
            drift, scipy = float(drift_rows[column].sum(min_count=1)), float(drift_rows["baseline_s"].sum(min_count=1))
            line = (f"- monthly_snapshot ({name}) {snap:.1f}s against the typed pyarrow read of the same six CSVs "
                    f"{typed:.1f}s -> {ratio(snap, typed)}")
            if len(MONTHS) > 1:  # the first month has no reference: no drift to compare
                line += (f"; drift_report ({name}, months with a reference) {drift:.1f}s "
                         f"against the scipy statistics {scipy:.1f}s -> {ratio(drift, scipy)}")
            lines.append(line + ".")
    lines.append("- Peak RSS: " + ", ".join(f"{k.replace('_rss_mib', '')} {v:,.0f} MiB" for k, v in peaks.items())
                 + (" (warm: every month in one process; cold and baseline: the largest month's process)."))
    return lines + [""]


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
    parser.add_argument("--months", default=",".join(SCENARIO_MONTHS), help="scenario months to run, in order (e.g. 2024-01)")
    parser.add_argument("--sides", default=",".join(SIDES), help="which of baseline,warm,cold (the baseline always runs)")
    parser.add_argument("--data-root", type=Path, default=Path(os.environ.get("BENCH_DATA", "/var/tmp/mlops_bench_data")))
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("BENCH_WORK", "/tmp/mlops_bench_work")))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "cycle.md")
    parser.add_argument("--model-kind", default=None, help="candidate model kind on both sides (default: the platform's default)")
    args = parser.parse_args(argv)
    global MODEL_KIND, MONTHS
    MODEL_KIND = args.model_kind
    MONTHS = [m for m in SCENARIO_MONTHS if m in args.months.split(",")]
    unknown = set(args.months.split(",")) - set(MONTHS)
    if unknown or not MONTHS or MONTHS != SCENARIO_MONTHS[: len(MONTHS)]:
        parser.error(f"--months must be the first scenario months in order ({', '.join(SCENARIO_MONTHS)}), got {args.months}")
    sides = [side for side in SIDES if side in args.sides.split(",") or side == "baseline"]
    sizes = [int(s) for s in args.sizes.split(",")]
    all_rows, sections, raw = [], [], {}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for n_users in sizes:
        data = ensure_data(args.data_root, n_users)
        reps = []
        for rep in range(args.reps):
            work = args.work / f"u{n_users}" / f"rep{rep}"
            work.mkdir(parents=True, exist_ok=True)
            order = sides[rep % len(sides):] + sides[:rep % len(sides)]  # rotate, so no side always runs first
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
                homes = {side: Path(result[side]["home"]) for side in ("warm", "cold") if side in result}
                result["equal"] = check_equal(result["baseline"], homes, work)
                print("\n".join(f"  equal: {n}" for n in result["equal"]), flush=True)
            reps.append(result)
        rows, peaks = summarize(n_users, reps)
        all_rows += rows
        raw[n_users] = {"reps": reps, "peaks": peaks, "months": MONTHS, "sides": sides}
        section = headline(n_users, args.reps, rows, peaks, sides) + [
            "Same data, same results (asserted, the platform's sides against the baseline):",
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
            f" --months {','.join(MONTHS)} --sides {args.sides}"
            + (f" --model-kind {args.model_kind}" if args.model_kind else "") + "`. Model: "
            + (args.model_kind or "the platform default (TrainingConfig)") + ".",
            "warm = the cycle's assets of the month materialized in-process in one long-lived process that has imported the "
            "libraries its steps use, as the baseline script has before its timer starts (per-asset time from "
            "Dagster's event log); cold = one `dagster asset materialize --select <the cycle's assets> --partition M` process per month "
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
