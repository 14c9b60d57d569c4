"""Background jobs kept as rows of the service's database: the shape shared by eval jobs
(:mod:`eval.jobs`) and ingest jobs (:mod:`ingest.jobs`).

A job is queued by inserting its row; one worker thread runs the jobs of a table one at a
time; progress and results are written to the row as they happen, so a client polls it.
Rows outlive the process: at start, a job that was queued or running when the service
stopped is marked ``interrupted`` with the subclass's reason, never silently lost.

A subclass names its ``TABLE`` (of :mod:`studyhall.core.schema`, with at least id, status,
created, error, finished columns), the ``INTERRUPTED`` reason, and implements
``_run(job_id)`` and ``_row(row)``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Table, func, insert, select, update

from studyhall.core.database import Database
from studyhall.core.errors import Busy, NotFound

log = logging.getLogger(__name__)


class UnknownJob(NotFound):
    pass


class BackgroundJobs:
    TABLE: Table
    INTERRUPTED: str  # the error an unfinished job gets at the next start
    KIND: str = "job"  # for messages: "eval job", "ingest job"

    def __init__(self, database: Database | Path | str, *, max_queued: int = 20) -> None:
        self.max_queued = max_queued  # jobs of this table that may wait; more are refused
        self.db = Database.of(database)
        self._queue: queue.Queue[str] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        table = self.TABLE
        unfinished = table.c.status.in_(("queued", "running"))
        with self.db.begin() as db:
            self.unfinished = [dict(r) for r in db.execute(
                select(table).where(unfinished)).mappings()]
            db.execute(update(table).where(unfinished).values(
                status="interrupted", finished=time.time(), error=self.INTERRUPTED))

    def _insert(self, job_id: str, **columns) -> dict:
        """Add a queued job's row and hand it to the worker."""
        table = self.TABLE
        with self.db.connect() as db:
            queued = db.execute(select(func.count()).select_from(table)
                                .where(table.c.status == "queued")).scalar_one()
        if queued >= self.max_queued:
            raise Busy(60)  # a job takes minutes: come back in one
        with self.db.begin() as db:
            db.execute(insert(table).values(id=job_id, status="queued", created=time.time(),
                                            **columns))
        self._queue.put(job_id)
        self._ensure_worker()
        return self.get(job_id)

    def get(self, job_id: str) -> dict:
        with self.db.connect() as db:
            row = db.execute(select(self.TABLE).where(self.TABLE.c.id == job_id)).mappings().first()
        if row is None:
            raise UnknownJob(f"no {self.KIND} {job_id!r}")
        return self._row(row)

    def rows(self, course: str | None = None) -> list[dict]:
        """Every job (of ``course``), newest first."""
        query = select(self.TABLE).order_by(self.TABLE.c.created.desc())
        if course is not None:
            query = query.where(self.TABLE.c.course == course)
        with self.db.connect() as db:
            return [self._row(r) for r in db.execute(query).mappings()]

    def wait(self, job_id: str, timeout: float = 60.0) -> dict:
        """Block until the job ends (for tests and the CLI)."""
        deadline = time.monotonic() + timeout
        while (job := self.get(job_id))["status"] in ("queued", "running"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.KIND} {job_id} still {job['status']}")
            time.sleep(0.05)
        return job

    def _update(self, job_id: str, **fields) -> None:
        with self.db.begin() as db:
            db.execute(update(self.TABLE).where(self.TABLE.c.id == job_id).values(**fields))

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name=self.TABLE.name,
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

    def _row(self, row: Mapping) -> dict:  # pragma: no cover
        raise NotImplementedError
