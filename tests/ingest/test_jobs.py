"""Ingest jobs outlive the process: interrupted, not lost; failures say why."""

import io
import time

import pytest

from ingest.jobs import IngestJobs
from studyhall.core import jobs as job_rows


@pytest.fixture
def make_jobs(settings, ingestor, course_dir):
    ingestor.ingest(course_dir, "tiny")

    def make() -> IngestJobs:
        return IngestJobs(settings.database, settings.sources_dir, ingestor=ingestor,
                          max_upload_bytes=1 << 20)

    return make


def lesson() -> list[tuple[str, io.BytesIO]]:
    return [("extra.md", io.BytesIO(b"# Extra\n\nAn extra lesson about autoencoders.\n"))]


def test_a_job_runs_in_the_background_file_by_file(make_jobs):
    jobs = make_jobs()
    done = jobs.wait(jobs.submit("tiny", lesson())["id"])
    assert (done["status"], done["done"], done["total"], done["current"]) == ("done", 1, 1, None)
    assert done["report"]["added"] == ["extra.md"] and done["report"]["version"]


def test_a_job_the_service_stopped_in_is_reported_interrupted_not_lost(make_jobs, settings):
    jobs = make_jobs()
    jobs._ensure_worker = lambda: None  # the process "dies" before the worker picks it up
    job = jobs.submit("tiny", lesson())
    incoming = settings.sources_dir / "tiny" / ".incoming" / job["id"]
    assert job["status"] == "queued" and (incoming / "extra.md").is_file()

    again = make_jobs().get(job["id"])
    assert again["status"] == "interrupted" and "upload them again" in again["error"]
    assert not incoming.exists()


def test_a_job_whose_course_is_being_written_waits_for_it_then_lands(
        make_jobs, catalog, monkeypatch):
    monkeypatch.setattr(job_rows, "RETRY_S", 0.1)
    jobs = make_jobs()
    with catalog.lock("tiny"):  # `studyhall ingest` is writing the course
        job = jobs.submit("tiny", lesson())
        deadline = time.monotonic() + 30
        while not (jobs.get(job["id"])["current"] or "").startswith("waiting"):
            assert time.monotonic() < deadline, jobs.get(job["id"])
            time.sleep(0.05)
        time.sleep(0.3)  # it tries again, and waits again, while the lock is held
        waiting = jobs.get(job["id"])
        assert waiting["status"] in ("queued", "running") and "another ingest" in waiting["current"]
    done = jobs.wait(job["id"])
    assert done["status"] == "done" and done["report"]["added"] == ["extra.md"], done
    assert catalog.current_version("tiny").name == done["report"]["version"]


def test_a_job_that_waits_too_long_fails_with_what_it_waited_for(make_jobs, catalog, settings,
                                                                 monkeypatch):
    monkeypatch.setattr(job_rows, "RETRY_S", 0.05)
    monkeypatch.setattr(job_rows, "WAIT_LIMIT_S", 0.5)
    jobs = make_jobs()
    with catalog.lock("tiny"):
        done = jobs.wait(jobs.submit("tiny", lesson())["id"], timeout=30)
    assert done["status"] == "failed" and "without starting" in done["error"]
    assert "another ingest" in done["error"]
    assert not (settings.sources_dir / "tiny" / ".incoming" / done["id"]).exists()


def test_an_upload_of_several_files_is_one_new_version(make_jobs, catalog):
    before = catalog.current_version("tiny")
    jobs = make_jobs()
    files = [("a.md", io.BytesIO(b"# A\n\nAbout autoencoders.\n")),
             ("b.md", io.BytesIO(b"# B\n\nAbout diffusion.\n")),
             ("broken.pdf", io.BytesIO(b"%PDF-1.7\nthe rest of it is missing"))]
    done = jobs.wait(jobs.submit("tiny", files)["id"])
    assert done["status"] == "done" and done["done"] == 3
    assert sorted(done["report"]["added"]) == ["a.md", "b.md"]
    assert "broken.pdf" in done["report"]["skipped"]
    versions = sorted(p.name for p in (catalog.course_dir("tiny") / "versions").iterdir())
    assert len(versions) == 2 and before.name in versions  # one version for the three


def test_the_job_queue_is_bounded(make_jobs):
    from studyhall.core.errors import Busy

    jobs = make_jobs()
    jobs._ensure_worker = lambda: None  # nothing runs: they all stay queued
    jobs.max_queued = 2
    jobs.submit("tiny", lesson())
    jobs.submit("tiny", lesson())
    with pytest.raises(Busy):
        jobs.submit("tiny", lesson())


def test_after_an_upload_publishes_the_next_step_runs_and_its_word_is_kept(
        settings, ingestor, course_dir):
    ingestor.ingest(course_dir, "tiny")
    calls = []

    def after(course: str) -> str:
        calls.append(course)
        if len(calls) == 2:
            raise RuntimeError("no question set")
        return "gate refitted"

    jobs = IngestJobs(settings.database, settings.sources_dir, ingestor=ingestor,
                      max_upload_bytes=1 << 20, after_publish=after)
    first = jobs.wait(jobs.submit("tiny", lesson())["id"])
    assert first["report"]["after"] == "gate refitted" and calls == ["tiny"]
    second = jobs.wait(jobs.submit("tiny", [("b.md", io.BytesIO(b"# B\n\nDiffusion.\n"))])["id"])
    assert second["status"] == "done" and second["report"]["added"] == ["b.md"]
    assert "the step after it failed: no question set" in second["report"]["after"]
    unreadable = jobs.wait(jobs.submit("tiny", [("x.pdf", io.BytesIO(b"%PDF-1.7\nbroken"))])["id"])
    assert "after" not in unreadable["report"] and len(calls) == 2  # nothing was published
