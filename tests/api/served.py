"""A real `studyhall serve` process over the small test course ("tiny", public), with the
tiny model and an admin token: what the hardening suites (fuzz, bad input) run against."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.api.test_serve_http import free_port, wait_until_healthy
from tests.conftest import write_small_course

ADMIN_TOKEN = "admin-token-for-the-hardening-suite"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CLI = [sys.executable, "-m", "studyhall.cli"]


@contextmanager
def served(root: Path, models_dir: Path, **settings: str) -> Iterator[str]:
    """Ingest the course under ``root``, serve it, yield the base URL; on exit, stop the
    server and fail if it logged a traceback. ``settings`` are extra STUDYHALL_ variables
    (``ACCESS__SEARCH_RATE="..."``)."""
    course = write_small_course(root / "course", "tiny", "Tiny Course")
    env = os.environ | {
        "STUDYHALL_DATA_DIR": str(root / "data"), "STUDYHALL_MODELS_DIR": str(models_dir),
        "STUDYHALL_GENERATOR__MODEL": "tiny", "STUDYHALL_GENERATOR__MAX_TOKENS": "16",
        "STUDYHALL_SERVER__ADMIN_TOKEN": ADMIN_TOKEN,
        **{f"STUDYHALL_{name}": value for name, value in settings.items()}}
    subprocess.run([*CLI, "ingest", str(course), "--course", "tiny"], env=env, check=True,
                   capture_output=True)
    subprocess.run([*CLI, "course", "visibility", "tiny", "public"], env=env, check=True,
                   capture_output=True)
    port = free_port()
    log = root / "serve.log"  # a file: a pipe nobody reads fills, and blocks the server
    with open(log, "w") as out:
        process = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, base, log)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
    output = log.read_text()
    assert "Traceback" not in output, output[-4000:]
