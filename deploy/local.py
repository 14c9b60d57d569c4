"""The servers a multi-machine studyhall uses, started on this machine's loopback from
Debian's packages, each in a scratch directory, each gone when its block ends: PostgreSQL
(the shared database), Redis (the job queue, the rate-limit counters), HAProxy (the load
balancer). `make services` installs the packages; the tests and `make cluster` use these.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Missing(RuntimeError):
    """A server's package is not installed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, seconds: float = 120.0, process: subprocess.Popen | None = None) -> None:
    """Until ``url`` answers 200 (or ``process`` exits, or time runs out: RuntimeError)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited ({process.returncode}) before "
                               f"{url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {seconds:.0f} s")


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise Missing("PostgreSQL is not installed: `make services` installs Debian's package")
    return Path(found[-1]).parent


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server of its own on a free loopback port, trusting local connections;
    yields its URL (user ``studyhall``, database ``postgres``). As root the server runs as
    the ``postgres`` user, which PostgreSQL insists on."""
    bin_dir = _postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="studyhall-pg-"))
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data, port = root / "data", free_port()

    def run(*args: str) -> None:
        done = subprocess.run([str(bin_dir / args[0]), *args[1:]], user=user, cwd=root,
                              capture_output=True, text=True, timeout=120)
        if done.returncode:
            log = (root / "log").read_text() if (root / "log").exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}\n{log}")

    run("initdb", "-D", str(data), "-U", "studyhall", "--auth=trust", "-E", "UTF8")
    options = (f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off "
               "-c synchronous_commit=off -c max_connections=200")
    run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    try:
        yield f"postgresql://studyhall@127.0.0.1:{port}/postgres"
    finally:
        try:
            run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def redis_server() -> Iterator[str]:
    """A Redis server of its own on a free loopback port, nothing persisted; its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise Missing("Redis is not installed: `make services` installs Debian's package")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


HAPROXY_CONFIG = """\
global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 300s
    timeout server 300s
    retries 2
    option redispatch       # a request whose replica is down goes to another
    option httplog
    option forwardfor       # the client's address in X-Forwarded-For (uvicorn trusts loopback)

frontend studyhall
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance leastconn       # answers stream for seconds: the least busy replica takes the next
    option httpchk GET /healthz
    http-check expect status 200
{servers}
"""


@contextmanager
def haproxy(backends: list[int], port: int | None = None) -> Iterator[str]:
    """HAProxy on ``port`` in front of the replicas on ``backends`` (loopback ports),
    checking each one's /healthz every half second; yields the balancer's URL."""
    binary = shutil.which("haproxy")
    if binary is None:
        raise Missing("HAProxy is not installed: `make services` installs Debian's package")
    port = port or free_port()
    root = Path(tempfile.mkdtemp(prefix="studyhall-haproxy-"))
    servers = "\n".join(f"    server replica{n} 127.0.0.1:{p} check inter 500ms fall 2 rise 1"
                        for n, p in enumerate(backends, start=1))
    config = root / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=port, servers=servers))
    check = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True)
    if check.returncode:
        raise RuntimeError(f"haproxy refused its config: {check.stdout}{check.stderr}")
    process = subprocess.Popen([binary, "-db", "-f", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/healthz", 60, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
