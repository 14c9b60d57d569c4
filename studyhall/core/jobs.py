"""Background jobs kept as rows of the service's SQLite file: the shape shared by eval jobs
(:mod:`eval.jobs`) and ingest jobs (:mod:`ingest.jobs`).

A job is queued by inserting its row; one worker thread runs the jobs of a table one at a
time; progress and results are written to the row as they happen, so a client polls it.
Rows outlive the process: at start, a job that was queued or running when the service
stopped is marked ``interrupted`` with the subclass's reason, never silently lost.

A subclass names its ``TABLE`` and ``SCHEMA`` (with at least id, status, error, finished
columns), the ``INTERRUPTED`` reason, and implements ``_run(job_id)`` and ``_row(row)``.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

from studyhall.core.errors import Busy, NotFound

log = logging.getLogger(__name__)


class UnknownJob(NotFound):
    pass


class BackgroundJobs:
    TABLE: str
    SCHEMA: str
    INTERRUPTED: str  # the error an unfinished job gets at the next start
    KIND: str = "job"  # for messages: "eval job", "ingest job"

    def __init__(self, database: Path, *, max_queued: int = 20) -> None:
        self.max_queued = max_queued  # jobs of this table that may wait; more are refused
        self.database = database
        self._queue: queue.Queue[str] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        database.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._db()) as db, db:
            db.execute(self.SCHEMA)
            self.unfinished = [dict(r) for r in db.execute(
                f"SELECT * FROM {self.TABLE} WHERE status IN ('queued', 'running')")]
            db.execute(f"UPDATE {self.TABLE} SET status = 'interrupted', finished = ?, "
                       "error = ? WHERE status IN ('queued', 'running')",
                       (time.time(), self.INTERRUPTED))

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.database, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def _insert(self, job_id: str, **columns) -> dict:
        """Add a queued job's row and hand it to the worker."""
        names = ", ".join(["id", "status", "created", *columns])
        marks = ", ".join("?" * (3 + len(columns)))
        with closing(self._db()) as db:
            (queued,) = db.execute(
                f"SELECT COUNT(*) FROM {self.TABLE} WHERE status = 'queued'").fetchone()
        if queued >= self.max_queued:
            raise Busy(60)  # a job takes minutes: come back in one
        with closing(self._db()) as db, db:
            db.execute(f"INSERT INTO {self.TABLE} ({names}) VALUES ({marks})",
                       (job_id, "queued", time.time(), *columns.values()))
        self._queue.put(job_id)
        self._ensure_worker()
        return self.get(job_id)

    def get(self, job_id: str) -> dict:
        with closing(self._db()) as db:
            row = db.execute(f"SELECT * FROM {self.TABLE} WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise UnknownJob(f"no {self.KIND} {job_id!r}")
        return self._row(row)

    def wait(self, job_id: str, timeout: float = 60.0) -> dict:
        """Block until the job ends (for tests and the CLI)."""
        deadline = time.monotonic() + timeout
        while (job := self.get(job_id))["status"] in ("queued", "running"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.KIND} {job_id} still {job['status']}")
            time.sleep(0.05)
        return job

    def _update(self, job_id: str, **fields) -> None:
        names = ", ".join(f"{k} = ?" for k in fields)
        with closing(self._db()) as db, db:
            db.execute(f"UPDATE {self.TABLE} SET {names} WHERE id = ?",
                       (*fields.values(), job_id))

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name=self.TABLE,
                                                daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            try:
                self._run(job_id)
            except Exception as exc:  # a failed job is reported, the worker goes on
                log.exception("%s %s failed", self.KIND, job_id)
                self._failed(job_id, f"{type(exc).__name__}: {exc}")

    def _failed(self, job_id: str, error: str) -> None:
        self._update(job_id, status="failed", error=error, finished=time.time())

    def _run(self, job_id: str) -> None:  # pragma: no cover - the subclass's work
        raise NotImplementedError

    def _row(self, row: sqlite3.Row) -> dict:  # pragma: no cover
        raise NotImplementedError
