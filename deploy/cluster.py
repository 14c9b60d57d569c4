"""The whole multi-machine topology on this machine, on loopback (`make cluster`):

    PostgreSQL ─┬─ replica 1 (studyhall serve) ─┐
    Redis ──────┼─ replica 2 (studyhall serve) ─┼─ HAProxy :8080 ← students
                ├─ worker (studyhall worker)    │
                └─ model server (llama-cpp-python's OpenAI-compatible server)

Every studyhall process shares one data directory (the course versions; on a real
cluster an NFS or object-store mount), the database and the queue by URL, and sends
generation to the model server. Ctrl-C stops it all. docs/deploy.md maps each piece onto
real machines. :class:`Cluster` is also what the integration tests start.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from deploy.local import free_port, haproxy, postgres_server, redis_server, wait_http

ROOT = Path(__file__).resolve().parents[1]


class Cluster:
    """Start the topology in ``__enter__``, stop it in ``__exit__``. ``model``: the profile
    the model server loads (default, fast, tiny); ``data_dir``: the shared directory."""

    def __init__(self, data_dir: Path, *, model: str = "default", replicas: int = 2,
                 workers: int = 1, port: int | None = None,
                 admin_token: str = "cluster-admin-token-local",
                 models_dir: Path | None = None, log_dir: Path | None = None,
                 settings: dict[str, str] | None = None) -> None:
        self.data_dir, self.model, self.port = Path(data_dir).resolve(), model, port
        self.replica_count, self.worker_count = replicas, workers
        self.admin_token = admin_token
        self.models_dir = models_dir
        self.settings = settings or {}  # more STUDYHALL_* for every studyhall process
        self.log_dir = Path(log_dir or self.data_dir / "cluster-logs")
        self._stack = ExitStack()
        self.replicas: list[subprocess.Popen | None] = []
        self.replica_ports: list[int] = []
        self.workers: list[subprocess.Popen] = []
        self.env: dict[str, str] = {}

    # --- the pieces ---------------------------------------------------------------------

    def _log(self, name: str):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return open(self.log_dir / f"{name}.log", "ab")

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=self._log(name),
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self._stack.callback(_stop, process)
        return process

    def _model_server(self) -> str:
        from generator.models import resolve_model

        path = resolve_model(self.model, self.models_dir or self.data_dir / "models")
        port = free_port()
        process = self._spawn("model-server", [
            sys.executable, "-m", "llama_cpp.server", "--model", str(path),
            "--model_alias", self.model, "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", "4096",
            # it writes one answer at a time, and by default a second request cuts the
            # first short (its stream ends without a finish reason): queue them instead
            "--interrupt_requests", "false"], dict(os.environ))
        url = f"http://127.0.0.1:{port}/v1"
        wait_http(f"{url}/models", 300, process)
        return url

    def start_replica(self, n: int) -> None:
        """Start replica ``n`` (again, after :meth:`kill_replica`) on its port."""
        port = self.replica_ports[n]
        self.replicas[n] = self._spawn(f"replica{n + 1}", [
            sys.executable, "-m", "studyhall.cli", "serve", "--host", "127.0.0.1",
            "--port", str(port)], self.env)
        wait_http(f"http://127.0.0.1:{port}/healthz", 180, self.replicas[n])

    def kill_replica(self, n: int) -> None:
        """SIGKILL replica ``n``, as a machine that dies does."""
        process = self.replicas[n]
        if process is not None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            self.replicas[n] = None

    def start_worker(self) -> subprocess.Popen:
        worker = self._spawn(f"worker{len(self.workers) + 1}",
                             [sys.executable, "-m", "studyhall.cli", "worker"], self.env)
        self.workers.append(worker)
        return worker

    def studyhall(self, *arguments: str) -> str:
        """Run a studyhall command against the cluster's state; its output."""
        done = subprocess.run([sys.executable, "-m", "studyhall.cli", *arguments], env=self.env,
                              cwd=ROOT, capture_output=True, text=True, timeout=600)
        if done.returncode:
            raise RuntimeError(f"studyhall {' '.join(arguments)}: {done.stderr or done.stdout}")
        return done.stdout

    def replica_url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.replica_ports[n]}"

    # --- all of it ----------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        try:
            database = self._stack.enter_context(postgres_server())
            queue = self._stack.enter_context(redis_server())
            model_url = self._model_server()
            self.env = {**os.environ, "PYTHONPATH": str(ROOT),
                        "STUDYHALL_DATA_DIR": str(self.data_dir),
                        "STUDYHALL_DATABASE_URL": database, "STUDYHALL_QUEUE_URL": queue,
                        "STUDYHALL_GENERATOR__BACKEND": "openai",
                        "STUDYHALL_GENERATOR__BASE_URL": model_url,
                        "STUDYHALL_GENERATOR__MODEL": self.model,
                        "STUDYHALL_SERVER__ADMIN_TOKEN": self.admin_token, **self.settings}
            self.database_url, self.queue_url, self.model_url = database, queue, model_url
            # the address platforms and browsers reach: the balancer, whichever replica
            # answers (an LTI login's target and its launch must name the same tool)
            self.port = self.port or free_port()
            self.env["STUDYHALL_SERVER__PUBLIC_URL"] = f"http://127.0.0.1:{self.port}"
            self.replica_ports = [free_port() for _ in range(self.replica_count)]
            self.replicas = [None] * self.replica_count
            for n in range(self.replica_count):
                self.start_replica(n)
            for _ in range(self.worker_count):
                self.start_worker()
            self.url = self._stack.enter_context(haproxy(self.replica_ports, self.port))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def stop_on_sigterm() -> None:
    """SIGTERM ends the process the way Ctrl-C does, so every server is stopped on the way
    out (Python's default for SIGTERM exits without unwinding)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8080, help="the balancer's port")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--model", default="default", help="default, fast or tiny")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("STUDYHALL_DATA_DIR", ".studyhall")))
    args = parser.parse_args()
    stop_on_sigterm()
    with Cluster(args.data_dir, model=args.model, replicas=args.replicas,
                 port=args.port) as cluster:
        # the course visibility lives in the database: the bundled course is public here too
        if (cluster.data_dir / "courses" / "genai-basics" / "CURRENT").is_file():
            cluster.studyhall("course", "visibility", "genai-basics", "public")
        print(f"studyhall on {cluster.url} (HAProxy) → replicas "
              f"{', '.join(cluster.replica_url(n) for n in range(args.replicas))}; worker; "
              f"model server {cluster.model_url}; PostgreSQL {cluster.database_url}; Redis "
              f"{cluster.queue_url}; logs in {cluster.log_dir}. Admin token: "
              f"{cluster.admin_token}. Ctrl-C stops it all.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping", flush=True)


if __name__ == "__main__":
    main()
