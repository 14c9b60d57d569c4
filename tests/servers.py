"""Real servers from Debian's packages, started by the tests themselves (as the browser
tests start chromium): PostgreSQL and Redis. `make test` installs the packages (`make
services`); a test that needs one and finds it missing fails and says how to get it."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: `make services` installs Debian's package")
    return Path(found[-1]).parent


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server of its own on a free loopback port, in a scratch directory,
    trusting local connections; yields its URL (user ``studyhall``, database ``postgres``).
    As root the server runs as the ``postgres`` user, which PostgreSQL insists on."""
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


def new_database(server_url: str) -> str:
    """A fresh, empty database on the server; its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url.replace("postgresql://", "postgresql://", 1),
                         autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def redis_server() -> Iterator[str]:
    """A Redis server of its own on a free loopback port, nothing persisted; its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("Redis is not installed: `make services` installs Debian's package")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        from redis import Redis

        client = Redis.from_url(url)
        for _ in range(200):
            try:
                if client.ping():
                    break
            except Exception:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
