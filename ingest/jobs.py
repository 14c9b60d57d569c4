"""Ingest jobs: files an instructor uploads join the course in the background, and the job
says, file by file, what was added, replaced or skipped and why.

Jobs are rows in the service's database (like :mod:`eval.jobs`), so they outlive the
process: a job that was queued or running when the service stopped is marked
``interrupted`` at the next start, never silently lost. One job runs at a time, in a
background thread (or on ``studyhall worker`` processes); a job whose course another
ingest is writing waits for it (its ``current`` says so) and then runs.

Where the files go: ``<data_dir>/sources/<course>/``. An upload is first written to
``<course folder>/.incoming/<job id>/`` (a hidden folder, which ingestion never reads);
each file is then ingested on its own, as ``studyhall ingest FILE --course ID`` does, so
the course's other files stay, wherever they came from (the bundled course's are in
``corpus/``, not here; a folder ingest of this one would drop them). A file that ingests
is moved into the course folder, replacing its earlier copy; a file that cannot be read
is skipped with the reason and deleted, and if the course had an earlier version of it,
that version keeps being served (and stays in the folder). Progress is files done of
files uploaded.

A service killed between publishing a version and moving its sources leaves them in
``.incoming``; at the next start each file the published version holds (same name, same
SHA-256) is moved into the course folder, so no ingested document loses its source copy,
and the rest are removed.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO

from ingest.catalog import CourseBusy, validate_course_id
from ingest.pipeline import IngestError, Ingestor, IngestReport
from ingest.store import read_manifest
from ingest.uploads import clean_names, inspect, remove, save_files
from studyhall.core.database import Database
from studyhall.core.hashing import sha256_file
from studyhall.core.jobs import BackgroundJobs, JobQueue, Wait
from studyhall.core.schema import ingest_jobs

log = logging.getLogger(__name__)

INCOMING = ".incoming"



class IngestJobs(BackgroundJobs):
    TABLE = ingest_jobs
    INTERRUPTED = ("the service stopped while this job was queued or running; the files its "
                   "report does not list were not ingested: upload them again")
    KIND = "ingest job"

    def __init__(self, database: Database | Path | str, sources: Path, *, ingestor: Ingestor,
                 max_upload_bytes: int, max_queued: int = 20, queue: JobQueue | None = None,
                 after_publish: Callable[[str], str | None] | None = None) -> None:
        self.sources = sources
        self.ingestor = ingestor
        # called with the course after an upload published a new version; what it returns
        # (a course gate refitted, say) is kept in the job's report as ``after``
        self.after_publish = after_publish
        self.max_upload_bytes = max_upload_bytes
        super().__init__(database, max_queued=max_queued, queue=queue)

    def folder(self, course: str) -> Path:
        """The course's folder of uploaded files."""
        return self.sources / validate_course_id(course)

    def _incoming(self, course: str, job_id: str) -> Path:
        return self.folder(course) / INCOMING / job_id

    def _recover(self, job: dict) -> None:
        """Keep the uploads of an interrupted job that its published version holds."""
        incoming = self._incoming(job["course"], job["id"])
        try:
            version = self.ingestor.catalog.current_version(job["course"])
            held = read_manifest(version).files if version is not None else {}
        except (OSError, ValueError):
            held = {}
        kept = []
        for name in json.loads(job["files"]):
            path = incoming / name
            if path.is_file() and name in held and held[name].sha256 == sha256_file(path):
                os.replace(path, self.folder(job["course"]) / name)
                kept.append(name)
        remove(incoming)
        if kept:
            log.warning("ingest job %s: kept the sources of %s, which the published index "
                        "holds", job["id"], ", ".join(kept))
            self._update(job["id"], error=self.INTERRUPTED + (
                f"; the index already holds {', '.join(kept)}, which were kept"))

    # -- the API's side ----------------------------------------------------------

    def submit(self, course: str, files: Sequence[tuple[str, BinaryIO]]) -> dict:
        """Check and keep the files of one upload, then queue their ingest.

        Raises :class:`~ingest.uploads.UploadRejected` (a bad name, type or size;
        nothing is kept) or a usage error (a bad course id).
        """
        validate_course_id(course)
        names = clean_names([name for name, _ in files])
        job_id = uuid.uuid4().hex[:12]
        incoming = self._incoming(course, job_id)
        try:
            save_files([(name, stream) for name, (_, stream) in zip(names, files, strict=True)],
                       incoming, self.max_upload_bytes)
            for name in names:
                inspect(name, incoming / name, self.ingestor.limits)
            job = self._insert(job_id, course=course, files=json.dumps(names), total=len(names))
        except BaseException:  # refused (too large, queue full): nothing is kept
            remove(incoming)
            raise
        log.info("ingest job %s: %d file(s) for course %s", job_id, len(names), course)
        return job

    # -- the worker's side -------------------------------------------------------

    def _failed(self, job_id: str, error: str) -> None:
        self._update(job_id, status="failed", current=None, error=error, finished=time.time())
        remove(self._incoming(self.get(job_id)["course"], job_id))  # (one that waited kept them)

    def _row(self, row) -> dict:
        return _job_dict(row)

    def _run(self, job_id: str) -> None:
        job = self.get(job_id)
        course = job["course"]
        folder, incoming = self.folder(course), self._incoming(course, job_id)
        self._update(job_id, status="running", started=time.time())
        files = {name: incoming / name for name in job["files"]}
        waiting = False
        try:
            try:  # every file in one new version: all of them, or none
                report = self.ingestor.ingest_files(
                    files, course,
                    on_file=lambda n, total, name: self._update(job_id, done=n, current=name))
            except IngestError as exc:  # a new course whose files are all unreadable
                report = IngestReport(course, skipped={
                    name: str(exc) for name in job["files"]})
            except CourseBusy as exc:  # another ingest writes the course: this one waits
                waiting = True
                self._update(job_id, current=f"waiting: {exc}")
                raise Wait(str(exc)) from None
            for name in job["files"]:  # published: keep the sources it was made from
                if name not in report.skipped:
                    os.replace(incoming / name, folder / name)
            result = _report_dict(report)
            if report.version and self.after_publish is not None:
                try:
                    result["after"] = self.after_publish(course)
                except Exception as exc:  # the upload is published; this is an extra
                    log.exception("ingest job %s: after publishing %s", job_id, course)
                    result["after"] = f"published; the step after it failed: {exc}"
            self._update(job_id, done=len(files), report=json.dumps(result))
        finally:
            if not waiting:  # a job that waits keeps its files for its turn
                remove(incoming)
        self._update(job_id, status="done", current=None, finished=time.time())


def _report_dict(report: IngestReport) -> dict:
    data = asdict(report)
    data.pop("removed")  # a file upload never removes one
    data["seconds"] = round(report.seconds, 2)
    data["summary"] = report.summary()
    return data


def _job_dict(row) -> dict:
    job = dict(row)
    job["files"] = json.loads(job["files"])
    job["report"] = json.loads(job["report"]) if job["report"] else None
    return job
