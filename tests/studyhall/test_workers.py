"""Jobs on several machines' worth of processes: two replicas (services over one
PostgreSQL database and one data directory) and `studyhall worker` processes fed by a
real Redis, all started here. An upload taken by one replica is ingested by a worker and
served by both; a second upload to the same course waits its turn (with one worker, and
with two: the second waits for the first's course lock); a worker killed
mid-ingest leaves the job interrupted, the previous version serving, and nothing run twice.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retriever.service import SearchService
from studyhall.core import jobs as job_rows
from studyhall.core.settings import Settings
from studyhall.services import build_services
from tests.conftest import ROOT, write_small_course
from tests.servers import new_database, redis_server

pytestmark = pytest.mark.slow

DRIVER = ROOT / "tests" / "ingest" / "fault_points.py"
LESSON = b"# Diffusion\n\nA diffusion model learns to undo noise added step by step.\n"


@pytest.fixture(scope="module")
def redis():
    with redis_server() as url:
        yield url


@pytest.fixture
def cluster(tmp_path: Path, postgres: str, redis: str, real_embedder):
    """Settings every process shares, and two replicas built from them."""
    from redis import Redis

    Redis.from_url(redis).flushdb()
    settings = Settings(data_dir=tmp_path / "data", database_url=new_database(postgres),
                        queue_url=redis, models_dir=tmp_path / "models")
    env = {**os.environ, "STUDYHALL_DATA_DIR": str(settings.data_dir),
           "STUDYHALL_DATABASE_URL": settings.database_url, "STUDYHALL_QUEUE_URL": redis,
           "PYTHONPATH": str(ROOT)}
    replicas = [build_services(settings, search=SearchService(settings, embedder=real_embedder))
                for _ in range(2)]
    course = write_small_course(tmp_path / "tiny", "tiny", "Tiny course")
    replicas[0].ingestor.ingest(course, "tiny")  # a published version before any upload
    return settings, env, replicas


def worker(env: dict, *arguments: str, phase: str | None = None) -> subprocess.Popen:
    command = ([sys.executable, str(DRIVER), phase] if phase else
               [sys.executable, "-m", "studyhall.cli"])
    return subprocess.Popen([*command, "worker", *arguments], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def upload(replica, name: str, body: bytes) -> dict:
    return replica.ingest_jobs.submit("tiny", [(name, io.BytesIO(body))])


def test_an_upload_to_one_replica_is_ingested_by_a_worker_and_served_by_both(cluster):
    _, env, (a, b) = cluster
    job = upload(a, "diffusion.md", LESSON)
    assert job["status"] == "queued"  # the replica only queued it
    assert b.ingest_jobs.get(job["id"])["status"] == "queued"  # and the other sees it
    done = worker(env, "--burst")
    assert done.wait(timeout=300) == 0, done.stdout.read()
    finished = b.ingest_jobs.get(job["id"])
    assert finished["status"] == "done", finished
    assert finished["worker"] and finished["heartbeat"]
    for replica in (a, b):
        [hit, *_] = replica.search.search("how does diffusion undo noise", "tiny", k=3)
        assert hit.chunk.source == "diffusion.md"


def test_a_second_upload_to_the_same_course_waits_and_both_land(cluster):
    _, env, (a, b) = cluster
    first = upload(a, "diffusion.md", LESSON)
    second = upload(b, "vae.md", b"# VAE\n\nA VAE encodes to a distribution.\n")
    done = worker(env, "--burst")
    assert done.wait(timeout=300) == 0, done.stdout.read()
    assert [a.ingest_jobs.get(j["id"])["status"] for j in (first, second)] == ["done", "done"]
    sources = {hit.chunk.source for hit in b.search.search("VAE diffusion", "tiny", k=10)}
    assert {"diffusion.md", "vae.md"} <= sources


def test_with_two_workers_the_second_upload_waits_for_the_first_then_both_land(
        cluster, tmp_path):
    _, env, (a, b) = cluster
    resume = tmp_path / "resume"
    first = upload(a, "diffusion.md", LESSON)
    # worker one holds the course mid-ingest (its vectors computed, nothing published)
    one = worker({**env, "FAULT_POINT_RESUME": str(resume)}, phase="embedding")
    two = None
    try:
        for line in one.stdout:
            if line.startswith("FAULT-POINT embedding"):
                break
        second = upload(b, "vae.md", b"# VAE\n\nA VAE encodes to a distribution.\n")
        two = worker(env)
        deadline = time.monotonic() + 120
        while not (b.ingest_jobs.get(second["id"])["current"] or "").startswith("waiting"):
            assert time.monotonic() < deadline, b.ingest_jobs.get(second["id"])
            time.sleep(0.2)
        waiting = a.ingest_jobs.get(second["id"])
        assert waiting["status"] in ("queued", "running") and "another" in waiting["current"]
        assert a.ingest_jobs.get(first["id"])["status"] == "running"
        resume.touch()  # worker one goes on and publishes; the waiting job then runs
        for job in (first, second):
            assert a.ingest_jobs.wait(job["id"], timeout=300)["status"] == "done"
    finally:
        for process in (one, two):
            if process is not None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
    reports = [b.ingest_jobs.get(j["id"])["report"] for j in (first, second)]
    assert [r["added"] for r in reports] == [["diffusion.md"], ["vae.md"]]
    assert reports[0]["version"] < reports[1]["version"]  # one after the other
    sources = {hit.chunk.source for hit in b.search.search("VAE diffusion", "tiny", k=10)}
    assert {"diffusion.md", "vae.md"} <= sources


def test_a_worker_killed_mid_ingest_leaves_the_job_interrupted_and_the_old_version(
        cluster, monkeypatch):
    settings, env, (a, b) = cluster
    before = a.search.catalog.current_version("tiny")
    job = upload(a, "diffusion.md", LESSON)
    killed = worker(env, phase="embedding")
    for line in killed.stdout:
        if line.startswith("FAULT-POINT embedding"):
            break
    assert b.ingest_jobs.get(job["id"])["status"] == "running"
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    # the previous version serves throughout
    assert b.search.catalog.current_version("tiny") == before
    assert b.search.search("what does a GAN do", "tiny", k=1)
    # once the worker's beat is old, whoever looks marks the job interrupted
    monkeypatch.setattr(job_rows, "STALE_S", 4.0)
    deadline = time.monotonic() + 60
    while b.ingest_jobs.get(job["id"])["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    interrupted = b.ingest_jobs.get(job["id"])
    assert interrupted["status"] == "interrupted", interrupted
    assert "upload them again" in interrupted["error"]
    # a new worker does not run it again (it is not queued any more)
    again = worker(env, "--burst")
    assert again.wait(timeout=300) == 0
    assert a.ingest_jobs.get(job["id"])["status"] == "interrupted"
    assert a.search.catalog.current_version("tiny") == before


def test_eval_and_draft_jobs_run_on_a_worker_and_every_replica_reads_their_reports(
        cluster, models_dir, tmp_path):
    settings, env, (a, b) = cluster
    questions = settings.data_dir / "evals" / "tiny" / "questions.jsonl"
    questions.parent.mkdir(parents=True, exist_ok=True)
    questions.write_text('{"id": "q1", "course": "tiny", "question": "what is mode collapse", '
                         '"gold": [{"source": "gans.md"}], "key_facts": ["few outputs"]}\n')
    long = tmp_path / "long"
    long.mkdir()
    (long / "course.yaml").write_text("id: long\ntitle: Long lessons\n")
    (long / "collapse.md").write_text("# Mode collapse\n\n" + " ".join(
        [f"Lesson part {n}: a generator trained against a discriminator can settle on a "
         "handful of outputs that fool it, and that failure is called mode collapse."
         for n in range(6)]) + "\n")
    a.ingestor.ingest(long, "long")
    retrieval = a.evals.start("tiny", "retrieval", configs=["bm25"])
    draft = a.evals.start("long", "draft", limit=2)  # the model runs on the worker, not here
    assert [b.evals.get(j["id"])["status"] for j in (retrieval, draft)] == ["queued", "queued"]
    done = worker({**env, "STUDYHALL_MODELS_DIR": str(models_dir),
                   "STUDYHALL_GENERATOR__MODEL": "tiny"}, "--burst")
    assert done.wait(timeout=600) == 0, done.stdout.read()
    for job in (retrieval, draft):
        finished = b.evals.get(job["id"])
        assert finished["status"] == "done" and finished["worker"], finished
        assert b.evals.report_file(job["id"], "report.json").is_file()
    drafted = b.evals.get(draft["id"])
    assert drafted["done"] == drafted["total"] == drafted["summary"]["passages"] >= 1
    assert (settings.data_dir / "evals" / "long" / "questions.draft.jsonl").is_file()
    assert all("answers" not in r._built for r in (a, b))  # neither replica built a model


def test_two_replicas_spend_one_rate_limit_budget_in_redis(redis):
    from api.access.callers import Caller
    from api.access.ratelimit import RateLimited, RateLimits
    from studyhall.core.settings import AccessSettings

    access = AccessSettings(answers_rate="3/minute")
    a, b = RateLimits(access, storage_url=redis), RateLimits(access, storage_url=redis)
    caller = Caller(client="203.0.113.9", address="203.0.113.9")
    a.hit("answers", caller)
    b.hit("answers", caller)
    a.hit("answers", caller)
    with pytest.raises(RateLimited, match="3/minute"):
        b.hit("answers", caller)  # the fourth, on the other replica: over the one budget
