"""Real servers on loopback for the `services` tests: a throwaway PostgreSQL cluster (Debian's
packages) and an `mlflow server` using it as backend store. Each is started on a free port, owned
by its own PID, and stopped by that PID (never by name)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent


class ServerUnavailable(RuntimeError):
    """The server's programs are not on this machine (skip), as opposed to failing to start (fail)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30, group: bool = False) -> None:
    """Stop one server by its PID (or the process group it leads), then wait for it."""
    if process.poll() is not None:
        return
    kill = (lambda s: os.killpg(process.pid, s)) if group else process.send_signal
    try:
        kill(sig)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(signal.SIGKILL)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def wait_until(check, what: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{_tail(log)}")
        try:
            if check():
                return
        except Exception as exc:  # noqa: BLE001 - not up yet
            last = exc
        time.sleep(0.5)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s ({last!r}):\n{_tail(log)}")


def _tail(log: Path, n: int = 4000) -> str:
    try:
        return log.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


def start_process(argv: list[str], env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    """A server process in its own session (its children too: stop it with stop(..., group=True))."""
    out = open(log, "w")
    try:
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        out.close()


# -- PostgreSQL ------------------------------------------------------------------------------------
def postgres_bindir() -> Path:
    """Debian's server programs (package postgresql): /usr/lib/postgresql/<major>/bin."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "postgres").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found and shutil.which("postgres"):
        return Path(found).resolve().parent
    raise ServerUnavailable("PostgreSQL server programs not found (Debian: apt-get install postgresql; scripts/install-services.sh)")


@dataclass
class Postgres:
    host: str
    port: int
    user: str
    password: str
    process: subprocess.Popen
    root: Path

    def dsn(self, db: str) -> str:
        # SQLAlchemy 2.1 maps a bare `postgresql://` to psycopg 3, which is not installed;
        # psycopg2 (brought by dagster-postgres) is named explicitly, as in docker-compose.yml.
        return f"postgresql+psycopg2://{self.user}:{self.password}@{self.host}:{self.port}/{db}"

    def connect(self, db: str):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password, dbname=db, connect_timeout=5)

    def version(self) -> str:
        conn = self.connect("postgres")
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW server_version")
                return cur.fetchone()[0]
        finally:
            conn.close()

    def create_database(self, name: str) -> None:
        conn = self.connect("postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()


def _run_as() -> dict:
    """PostgreSQL refuses to run as root: as root, run it as the unprivileged `postgres` user."""
    if os.geteuid() != 0:
        return {}
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServerUnavailable("running as root and there is no `postgres` user to run the server as") from exc
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def start_postgres(user: str = "mlops", password: str = "services-test") -> Postgres:
    bindir = postgres_bindir()
    as_user = _run_as()
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="mlops-pg-"))
    data, sockets, log = root / "data", root / "sockets", root / "postgres.log"
    sockets.mkdir()
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if as_user:
        for path in (root, sockets, pwfile):
            os.chown(path, as_user["user"], as_user["group"])
    init = subprocess.run(
        [str(bindir / "initdb"), "-D", str(data), "-U", user, f"--pwfile={pwfile}", "--auth=scram-sha-256",
         "--encoding=UTF8", "--locale=C", "--no-sync"],
        cwd=root, capture_output=True, text=True, **as_user,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    port = free_port()
    out = open(log, "w")
    process = subprocess.Popen(
        [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sockets),
         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100"],
        cwd=root, stdout=out, stderr=subprocess.STDOUT, **as_user,
    )
    out.close()
    server = Postgres("127.0.0.1", port, user, password, process, root)

    def ready() -> bool:
        server.connect("postgres").close()
        return True

    try:
        wait_until(ready, "postgres", process, log, timeout=60)
    except BaseException:
        stop_postgres(server)
        raise
    return server


def stop_postgres(server: Postgres) -> None:
    # SIGINT: PostgreSQL's "fast" shutdown (disconnect clients, checkpoint, exit).
    try:
        stop(server.process, signal.SIGINT, timeout=30)
    finally:
        shutil.rmtree(server.root, ignore_errors=True)


# -- MLflow tracking server ------------------------------------------------------------------------
@dataclass
class MlflowServer:
    url: str
    port: int
    process: subprocess.Popen
    artifacts: Path
    log: Path

    def version(self) -> str:
        with urllib.request.urlopen(f"{self.url}/version", timeout=5) as response:
            return response.read().decode().strip()


def start_mlflow(backend_store_uri: str, workdir: Path, command: list[str] | None = None, allowed_hosts: str | None = None) -> MlflowServer:
    """`mlflow server` as docker-compose.yml runs it (its command, store and artifact settings
    passed as the same environment variables), moved to loopback and a free port."""
    port = free_port()
    artifacts = workdir / "mlflow-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    log = workdir / "mlflow-server.log"
    argv = list(command or ["mlflow", "server", "--host", "0.0.0.0", "--port", "5000", "--workers", "2", "--serve-artifacts"])
    assert argv[:2] == ["mlflow", "server"], argv
    argv[0] = str(BIN / "mlflow")
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port)), ("--workers", "1")):
        argv[argv.index(flag) + 1] = value
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env |= {"MLFLOW_BACKEND_STORE_URI": backend_store_uri, "MLFLOW_ARTIFACTS_DESTINATION": str(artifacts)}
    if allowed_hosts:
        env["MLFLOW_SERVER_ALLOWED_HOSTS"] = allowed_hosts
    out = open(log, "w")
    process = subprocess.Popen(argv, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    out.close()
    server = MlflowServer(f"http://127.0.0.1:{port}", port, process, artifacts, log)

    def healthy() -> bool:
        with urllib.request.urlopen(f"{server.url}/health", timeout=5) as response:
            return response.status == 200

    try:
        # The first start against an empty database runs every migration (alembic): allow time.
        wait_until(healthy, "mlflow server", process, log, timeout=180)
    except BaseException:
        stop_mlflow(server)
        raise
    return server


def stop_mlflow(server: MlflowServer) -> None:
    # uvicorn's workers are the server's children: stop the process group the server leads.
    stop(server.process, signal.SIGTERM, timeout=30, group=True)


# -- Redis (Feast's online store in docker-compose.yml) ----------------------------------------------
@dataclass
class Redis:
    host: str
    port: int
    process: subprocess.Popen
    root: Path

    @property
    def connection(self) -> str:
        """host:port, as MLOPS_FEAST_REDIS (Feast's redis `connection_string`) takes it."""
        return f"{self.host}:{self.port}"


def start_redis() -> Redis:
    """Debian's redis-server on a free loopback port, no persistence, its files in a temp folder."""
    program = shutil.which("redis-server")
    if program is None:
        raise ServerUnavailable("redis-server not found (Debian: apt-get install redis-server; scripts/install-services.sh)")
    root = Path(tempfile.mkdtemp(prefix="mlops-redis-"))
    port = free_port()
    log = root / "redis.log"
    process = start_process(
        [program, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(root)],
        dict(os.environ), root, log,
    )
    server = Redis("127.0.0.1", port, process, root)

    def ready() -> bool:
        with socket.create_connection((server.host, port), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")

    try:
        wait_until(ready, "redis-server", process, log, timeout=30)
    except BaseException:
        stop_redis(server)
        raise
    return server


def stop_redis(server: Redis) -> None:
    try:
        stop(server.process, signal.SIGTERM, timeout=30, group=True)
    finally:
        shutil.rmtree(server.root, ignore_errors=True)
