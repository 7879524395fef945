"""The prediction service under a bounded load on loopback: p50/p95/p99 latency and throughput.

Builds a platform home (generated months through the real sensors: production model, churn
scores, the online store holding the newest month) unless --home names one, starts
`python -m mlops_assets.serving` as its own process (not niced), then runs N client processes
(niced, so the server keeps its share of a shared machine), each sending its share of the requests
one after another over one keep-alive connection: first single users, then batches. Every answer
must be a 200 for known users; the run stops by itself (request counts and a time cap per phase).

    python -m benchmarks.serving --out benchmarks/results/serving.md
    python -m benchmarks.serving --users 5000 --single 20000 --batches 2000 --batch-size 100 --clients 4
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform as platform_info
import shutil
import sys
import time
from pathlib import Path

import numpy as np


def build_home(root: Path, users: int, seed: int) -> Path:
    import yaml
    from dagster import DagsterInstance

    from mlops_assets.cli import play_months
    from mlops_assets.definitions import build_definitions
    from mlops_assets.generator import write_months
    from mlops_assets.instance import INSTANCE_SETTINGS

    shutil.rmtree(root, ignore_errors=True)
    home, instance_dir = root / "home", root / "dagster"
    instance_dir.mkdir(parents=True)
    (instance_dir / "dagster.yaml").write_text(yaml.safe_dump(INSTANCE_SETTINGS))
    instance = DagsterInstance.from_config(str(instance_dir))
    defs = build_definitions(home, environ={})
    months = write_months(root / "incoming", n_users=users, scenario=("baseline", "concept_drift"), seed=seed)
    runs = play_months(defs, instance, months)
    failed = [(s, m, o.job_name) for s, m, o in runs if not o.success]
    if failed:
        raise SystemExit(f"building the benchmark home failed: {failed}")
    return home


def known_users(home: Path) -> list[str]:
    import pandas as pd

    files = sorted((home / "scores").glob("churn_scores_*.parquet"))
    if not files:
        raise SystemExit(f"{home} has no churn scores: run the cycle first (or omit --home)")
    return pd.read_parquet(files[-1])["user_id"].tolist()


def client(url: str, payloads: list[dict], deadline: float, queue) -> None:
    """One client: its requests one after another; latencies in seconds, and failures."""
    import httpx

    os.nice(10)
    latencies, failures = [], []
    with httpx.Client(base_url=url, timeout=30) as http:
        for payload in payloads:
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            response = http.post("/predict", json=payload)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                failures.append(f"{response.status_code}: {response.text[:200]}")
    queue.put((latencies, failures))


def run_phase(url: str, name: str, payloads: list[dict], clients: int, time_cap: float) -> dict:
    queue = mp.get_context("fork").Queue()
    shares = [payloads[i::clients] for i in range(clients)]
    deadline = time.monotonic() + time_cap
    processes = [mp.get_context("fork").Process(target=client, args=(url, share, deadline, queue)) for share in shares]
    started = time.perf_counter()
    for p in processes:
        p.start()
    results = [queue.get(timeout=time_cap + 120) for _ in processes]
    wall = time.perf_counter() - started
    for p in processes:
        p.join(timeout=30)
    latencies = np.array([x for lat, _ in results for x in lat])
    failures = [f for _, fails in results for f in fails]
    users = sum(len(p.get("user_ids", [None])) for p in payloads[: len(latencies)])
    return {
        "phase": name,
        "requests": len(latencies),
        "failures": len(failures),
        "first_failure": failures[0] if failures else "",
        "p50_ms": float(np.percentile(latencies, 50) * 1e3),
        "p95_ms": float(np.percentile(latencies, 95) * 1e3),
        "p99_ms": float(np.percentile(latencies, 99) * 1e3),
        "max_ms": float(latencies.max() * 1e3),
        "wall_s": wall,
        "requests_per_s": len(latencies) / wall,
        "users_per_s": users / wall,
    }


def table(rows: list[dict]) -> str:
    lines = ["| phase | requests | failed | p50 ms | p95 ms | p99 ms | max ms | req/s | users/s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(
            f"| {r['phase']} | {r['requests']:,} | {r['failures']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['requests_per_s']:.0f} | {r['users_per_s']:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an existing MLOPS_HOME (cycle run, online store filled)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mlops_bench_work/serving"))
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--single", type=int, default=20000, help="single-user requests")
    parser.add_argument("--batches", type=int, default=2000, help="batch requests")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--time-cap", type=float, default=180.0, help="seconds per phase at most")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    from mlops_assets_tests.serving.service import start_service, stop_service

    home = args.home.resolve() if args.home else build_home(args.work, args.users, args.seed)
    users = known_users(home)
    rng = np.random.default_rng(args.seed)
    single = [{"user_id": users[i]} for i in rng.integers(0, len(users), args.single)]
    batches = [{"user_ids": [users[i] for i in rng.integers(0, len(users), args.batch_size)]} for _ in range(args.batches)]
    args.work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    service = start_service({"MLOPS_HOME": str(home), "MLOPS_SERVING_MAX_IDS": str(max(1000, args.batch_size))}, args.work)
    try:
        with service.client() as http:
            version = http.get("/health").json()["model_version"]
            for payload in single[:200]:  # warm-up, not measured
                http.post("/predict", json=payload)
        rows = [
            run_phase(service.url, "single user", single, args.clients, args.time_cap),
            run_phase(service.url, f"batch of {args.batch_size}", batches, args.clients, args.time_cap),
        ]
    finally:
        stop_service(service)
    load_after = os.getloadavg()
    header = (
        f"Prediction service (`python -m mlops_assets.serving`, one uvicorn process, not niced) on loopback, "
        f"model v{version}, {len(users):,} users in the online store (SQLite); {args.clients} client processes "
        f"(niced), keep-alive, requests one after another per client. {platform_info.machine()}, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        f"(a machine shared with other work)."
    )
    text = f"{header}\n\n{table(rows)}\n"
    failures = [r for r in rows if r["failures"]]
    if failures:
        text += "\nFailures: " + "; ".join(f"{r['phase']}: {r['failures']} ({r['first_failure']})" for r in failures) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
