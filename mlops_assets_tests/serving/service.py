"""The prediction service as a real process on loopback (`python -m mlops_assets.serving`, as
`make serve` runs it), on a free port, stopped by its own PID."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from mlops_assets_tests.services.servers import free_port, start_process, stop, wait_until


@dataclass
class Service:
    url: str
    process: object
    log: Path

    def client(self, **kw) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kw)


def start_service(env: dict, workdir: Path, timeout: float = 120) -> Service:
    port = free_port()
    log = workdir / "serving.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLOPS_"))}
    environ |= env | {"MLOPS_SERVING_HOST": "127.0.0.1", "MLOPS_SERVING_PORT": str(port)}
    process = start_process([sys.executable, "-m", "mlops_assets.serving"], environ, workdir, log)
    service = Service(f"http://127.0.0.1:{port}", process, log)

    def loaded() -> bool:
        return httpx.get(f"{service.url}/health", timeout=5).status_code == 200

    try:
        wait_until(loaded, "prediction service", process, log, timeout=timeout)
    except BaseException:
        stop_service(service)
        raise
    return service


def stop_service(service: Service) -> None:
    stop(service.process, group=True)


def wait_for(check, timeout: float, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    return None
