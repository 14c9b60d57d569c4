"""Faults: a real ingest process killed with SIGKILL at each phase, and a disk that fills
during an upload.

A `studyhall serve` process serves the course throughout. For each phase an ingest runs as
its own process (tests/ingest/fault_points.py stops it exactly there) and is killed:

- while it stands at the phase and after it dies, the server serves the previous version;
- a restart (the server's, which recovers the catalog, and the ingest run again) leaves no
  staging directory, no unpublished version, no half-written pointer, and every document of
  the previous version still there; the rerun then publishes the new one.

The last phase, moving the uploaded sources into the course folder, happens inside the
server (an upload job), so there the server is the process killed and restarted: the job
reads as interrupted, the version it published serves, and every uploaded file's source is
in the course folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ingest.catalog import CURRENT
from ingest.store import read_manifest
from tests.api.test_serve_http import free_port, wait_until_healthy
from tests.conftest import write_small_course

pytestmark = pytest.mark.slow

ADMIN = "admin-token-for-the-faults-suite-01"
DRIVER = Path(__file__).with_name("fault_points.py")
CLI = [sys.executable, "-m", "studyhall.cli"]
HEADERS = {"Authorization": f"Bearer {ADMIN}"}


class Server:
    def __init__(self, root: Path, env: dict, phase: str | None = None) -> None:
        self.root, self.env, self.phase = root, env, phase
        self.log = root / "serve.log"
        self.process: subprocess.Popen | None = None

    def start(self, phase: str | None = None) -> Server:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        command = ([sys.executable, str(DRIVER), phase] if phase else CLI) + [
            "serve", "--port", str(port)]
        with open(self.log, "a") as out:
            self.process = subprocess.Popen(command, env=self.env, stdout=out,
                                            stderr=subprocess.STDOUT)
        wait_until_healthy(self.process, self.base, self.log)
        return self

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def search(self, query: str) -> list[dict]:
        response = httpx.post(f"{self.base}/v1/search", headers=HEADERS, timeout=60,
                              json={"query": query, "course": "faults", "k": 8})
        assert response.status_code == 200, response.text
        return response.json()["hits"]


def sources_of(hits: list[dict]) -> set[str]:
    return {hit["source"] for hit in hits}


def course_dir(root: Path) -> Path:
    return root / "data" / "courses" / "faults"


def leftovers(root: Path) -> list[str]:
    """What a crashed ingest may leave: staging, unpublished versions, a stray pointer."""
    course = course_dir(root)
    current = (course / CURRENT).read_text().strip()
    found = [p.name for p in (course / "versions").iterdir()
             if p.name.startswith(".") or p.name > current]
    return found + [p.name for p in course.glob(f"{CURRENT}.tmp")]


def current_files(root: Path) -> set[str]:
    course = course_dir(root)
    version = course / "versions" / (course / CURRENT).read_text().strip()
    return set(read_manifest(version).files)


def wait_for(process: subprocess.Popen, line: str, log: Path, seconds: float = 240) -> None:
    """Until the process has written ``line`` to its log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if line in log.read_text():
            return
        if process.poll() is not None:
            pytest.fail(f"the process ended before {line!r}: {log.read_text()[-3000:]}")
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"no {line!r} in {seconds:g} s: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def world(tmp_path_factory, models_dir):
    root = tmp_path_factory.mktemp("faults")
    course = write_small_course(root / "course", "faults", "Faults Course")
    env = os.environ | {
        "STUDYHALL_DATA_DIR": str(root / "data"), "STUDYHALL_MODELS_DIR": str(models_dir),
        "STUDYHALL_GENERATOR__MODEL": "tiny", "STUDYHALL_SERVER__ADMIN_TOKEN": ADMIN,
        "STUDYHALL_ACCESS__SEARCH_RATE": "100000/minute"}
    subprocess.run([*CLI, "ingest", str(course), "--course", "faults"], env=env, check=True,
                   capture_output=True)
    server = Server(root, env).start()
    yield root, course, env, server
    server.stop()
    output = server.log.read_text()
    assert "Traceback" not in output, output[-4000:]


@pytest.mark.parametrize("phase", ["parsing", "embedding", "writing", "publishing"])
def test_an_ingest_killed_at_any_phase_leaves_the_previous_version_serving(world, phase):
    root, course, env, server = world
    before_files = current_files(root)
    before = server.search("what is mode collapse")
    # the change the killed ingest was making: a new lesson and an edited one
    (course / f"new-{phase}.md").write_text(
        f"# Quasar lesson {phase}\n\nQuasars of the {phase} phase are bright galactic "
        "nuclei. A quasar is powered by accretion onto a black hole.\n")
    first = sorted(p for p in course.iterdir() if p.suffix == ".md")[0]
    first.write_text(first.read_text() + f"\n\nAn edit made before the {phase} fault.\n")

    log = root / f"ingest-{phase}.log"
    with open(log, "w") as out:
        ingest = subprocess.Popen(
            [sys.executable, str(DRIVER), phase, "ingest", str(course), "--course", "faults"],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(ingest, f"FAULT-POINT {phase}", log)
        # standing at the phase: the server still serves the previous version
        assert server.search("what is mode collapse") == before
        assert f"new-{phase}.md" not in sources_of(server.search("quasar black hole"))
    finally:
        ingest.send_signal(signal.SIGKILL)
        ingest.wait(timeout=30)
    assert ingest.returncode == -signal.SIGKILL

    # killed: still the previous version, nothing of the new one visible
    assert server.search("what is mode collapse") == before
    assert f"new-{phase}.md" not in sources_of(server.search("quasar black hole"))
    assert current_files(root) == before_files

    # restart the server: it puts right what the dead ingest left
    server.stop()
    server.start()
    assert leftovers(root) == []
    assert current_files(root) == before_files  # no document lost
    assert server.search("what is mode collapse") == before

    # restart the ingest: it completes, and the new version serves
    subprocess.run([*CLI, "ingest", str(course), "--course", "faults"], env=env, check=True,
                   capture_output=True, timeout=300)
    assert leftovers(root) == []
    assert current_files(root) == before_files | {f"new-{phase}.md"}
    assert f"new-{phase}.md" in sources_of(server.search(f"quasars of the {phase} phase"))


def test_a_server_killed_while_moving_uploaded_sources_keeps_every_document(world):
    root, _, env, server = world
    server.stop()
    server.start(phase="moving")
    files = [("files", (f"upload-{n}.md", f"# Upload {n}\n\nPulsar note {n}: pulsars are "
                        "rotating neutron stars that sweep beams of radiation.\n".encode()))
             for n in (1, 2)]
    response = httpx.post(f"{server.base}/v1/courses/faults/files", files=files,
                          headers=HEADERS, timeout=60)
    assert response.status_code == 202, response.text
    job = response.json()["id"]
    wait_for(server.process, "FAULT-POINT moving", server.log)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=30)

    server.start()
    assert {"upload-1.md", "upload-2.md"} <= current_files(root)  # the version published
    folder = root / "data" / "sources" / "faults"
    assert (folder / "upload-1.md").is_file() and (folder / "upload-2.md").is_file()
    assert not (folder / ".incoming" / job).exists()
    status = httpx.get(f"{server.base}/v1/ingest-jobs/{job}", headers=HEADERS).json()
    assert status["status"] == "interrupted"
    assert "upload-1.md" in status["error"] or "upload-2.md" in status["error"]
    assert {"upload-1.md", "upload-2.md"} & sources_of(server.search("pulsars neutron stars"))
    assert leftovers(root) == []


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs: a real filesystem that fills (mounting needs root)."""
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_disk_that_fills_during_an_upload_keeps_nothing_and_says_so(world, small_disk):
    root, _, env, server = world
    folder = root / "data" / "sources" / "faults"
    kept = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    before_files = current_files(root)
    # the course's upload folder on the small disk, what it held copied over
    server.stop()
    for name, data in kept.items():
        (small_disk / name).write_bytes(data)
    (folder.parent / "faults-saved").mkdir()
    folder.rename(folder.parent / "faults-saved" / "faults")
    folder.symlink_to(small_disk)
    try:
        server.start()
        big = b"# Big\n\n" + b"A long lesson about nebulae. " * 120_000  # 3.5 MB
        response = httpx.post(f"{server.base}/v1/courses/faults/files", headers=HEADERS,
                              files=[("files", ("big.md", big))], timeout=60)
        assert response.status_code == 507, response.text
        assert "disk is full" in response.json()["detail"]
        assert not (small_disk / "big.md").exists()
        assert not any((small_disk / ".incoming").glob("*/*"))  # nothing half-written
        assert {p.name for p in small_disk.iterdir() if p.is_file()} == set(kept)
        assert current_files(root) == before_files
        assert server.search("what is mode collapse")  # still serving
        small = httpx.post(f"{server.base}/v1/courses/faults/files", headers=HEADERS,
                           files=[("files", ("nebula.md", b"# Nebula\n\nA nebula is a cloud "
                                            b"of gas and dust in space.\n"))], timeout=60)
        assert small.status_code == 202, small.text  # once there is room, uploads work
        deadline = time.monotonic() + 120
        while (job := httpx.get(f"{server.base}/v1/ingest-jobs/{small.json()['id']}",
                                headers=HEADERS).json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.5)
        assert job["status"] == "done", job
        assert "nebula.md" in current_files(root)
        assert (small_disk / "nebula.md").is_file()
    finally:
        server.stop()
        folder.unlink()
        (folder.parent / "faults-saved" / "faults").rename(folder)
        server.start()
