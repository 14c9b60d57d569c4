"""Background jobs kept as rows of the service's database: the shape shared by eval jobs
(:mod:`eval.jobs`) and ingest jobs (:mod:`ingest.jobs`).

A job is queued by inserting its row; progress and results are written to the row as
they happen, so a client polls it, from any replica. Who runs it:

- by default, one thread of this process runs the jobs of a table one at a time; at
  start, a job that was queued or running when the service stopped is marked
  ``interrupted`` with the subclass's reason, never silently lost;
- with a job queue (``STUDYHALL_QUEUE_URL``, :mod:`studyhall.core.workers`), the row's
  id is put on the queue and a ``studyhall worker`` process, on any machine, runs it. A
  worker claims a job with one UPDATE (queued → running), so no job runs twice, and beats
  every few seconds while it runs; a running job whose beat has stopped (its worker was
  killed) is marked interrupted by whoever looks at it next.

A subclass names its ``TABLE`` (of :mod:`studyhall.core.schema`, with at least id, status,
created, error, finished columns), the ``INTERRUPTED`` reason, and implements
``_run(job_id)`` and ``_row(row)``.
"""

from __future__ import annotations

import logging
import os
import queue as queue_module
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from sqlalchemy import Table, func, insert, select, update

from studyhall.core.database import Database
from studyhall.core.errors import Busy, NotFound

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0  # how often a worker says it is still running a job
STALE_S = 15.0  # a running job whose worker has not beaten for this long is interrupted
RETRY_S = 2.0  # a job that must wait is tried again after this
WAIT_LIMIT_S = 6 * 3600.0  # ...but not forever: one still waiting this long after it was
# queued fails with the reason it waited


class JobQueue(Protocol):
    """Where job ids go to be run by workers (:class:`studyhall.core.workers.RedisQueue`)."""

    def enqueue(self, table: str, job_id: str) -> None: ...


class UnknownJob(NotFound):
    pass


class Wait(Exception):  # noqa: N818 - an instruction to the runner, not an error
    """Raised by a job's ``_run`` before it changed anything, when it cannot start yet; the
    message says what it waits for."""


class BackgroundJobs:
    TABLE: Table
    INTERRUPTED: str  # the error an unfinished job gets at the next start
    KIND: str = "job"  # for messages: "eval job", "ingest job"

    def __init__(self, database: Database | Path | str, *, max_queued: int = 20,
                 queue: JobQueue | None = None) -> None:
        self.max_queued = max_queued  # jobs of this table that may wait; more are refused
        self.db = Database.of(database)
        self.jobs_queue = queue
        self._queue: queue_module.Queue[str] = queue_module.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        if queue is None:  # this process was the only runner: what it left is interrupted
            self.unfinished = self._interrupt(self.TABLE.c.status.in_(("queued", "running")))
            for job in self.unfinished:
                self._recover(job)
        else:  # workers run them: only jobs whose worker stopped beating are
            self.unfinished = self.reap()

    def _interrupt(self, which) -> list[dict]:
        """Mark the jobs ``which`` selects interrupted; the rows as they were."""
        table = self.TABLE
        with self.db.begin() as db:
            found = [dict(r) for r in db.execute(select(table).where(which)).mappings()]
            if found:
                db.execute(update(table).where(table.c.id.in_([j["id"] for j in found]), which)
                           .values(status="interrupted", finished=time.time(),
                                   error=self.INTERRUPTED))
        return found

    def reap(self) -> list[dict]:
        """Jobs running on a worker that stopped beating (killed, its machine gone): marked
        interrupted, and handed to :meth:`_recover`; the rows as they were."""
        table = self.TABLE
        stale = (table.c.status == "running") & (
            func.coalesce(table.c.heartbeat, table.c.created) < time.time() - STALE_S)
        found = self._interrupt(stale)
        for job in found:
            log.warning("%s %s: its worker %s stopped; marked interrupted", self.KIND,
                        job["id"], job.get("worker"))
            self._recover(job)
        return found

    def _recover(self, job: dict) -> None:
        """After a job is marked interrupted: put right what it left (a subclass's)."""

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
        self._put(job_id)
        return self.get(job_id)

    def _put(self, job_id: str) -> None:
        """Hand a queued job to whoever runs jobs: the queue's workers, or this process's."""
        if self.jobs_queue is not None:
            self.jobs_queue.enqueue(self.TABLE.name, job_id)
        else:
            self._queue.put(job_id)
            self._ensure_worker()

    def get(self, job_id: str) -> dict:
        if self.jobs_queue is not None:
            self.reap()
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
            self.run(self._queue.get())

    def run(self, job_id: str) -> bool:
        """Run a queued job here (the local thread, or a worker): claimed first, so of two
        workers handed the same id only one runs it; beats while it runs. Whether it ran."""
        me = f"{socket.gethostname()}:{os.getpid()}"
        table = self.TABLE
        with self.db.begin() as db:
            claimed = db.execute(update(table).where(table.c.id == job_id,
                                                     table.c.status == "queued")
                                 .values(status="running", worker=me,
                                         heartbeat=time.time())).rowcount
        if not claimed:
            log.warning("%s %s is not queued any more; not run", self.KIND, job_id)
            return False
        done = threading.Event()

        def beat() -> None:
            while not done.wait(HEARTBEAT_S):
                self._update(job_id, heartbeat=time.time())

        threading.Thread(target=beat, daemon=True, name=f"{table.name}-heartbeat").start()
        try:
            self._run(job_id)
        except Wait as wait:
            self._again_later(job_id, me, str(wait))
        except Exception as exc:  # a failed job is reported, the worker goes on
            log.exception("%s %s failed", self.KIND, job_id)
            self._failed(job_id, f"{type(exc).__name__}: {exc}")
        finally:
            done.set()
        return True

    def _again_later(self, job_id: str, me: str, reason: str) -> None:
        """A job that must wait: back to the end of the queue after ``RETRY_S`` (still
        beating meanwhile, so nobody takes it for lost), or failed once it has waited
        ``WAIT_LIMIT_S``."""
        created = self.get(job_id)["created"]
        if time.time() - created > WAIT_LIMIT_S:
            self._failed(job_id, f"waited {WAIT_LIMIT_S / 3600:.0f} h without starting: {reason}")
            return
        log.info("%s %s waits: %s", self.KIND, job_id, reason)
        time.sleep(RETRY_S)
        table = self.TABLE
        with self.db.begin() as db:
            db.execute(update(table).where(table.c.id == job_id, table.c.worker == me)
                       .values(status="queued", worker=None, heartbeat=None))
        self._put(job_id)

    def _failed(self, job_id: str, error: str) -> None:
        self._update(job_id, status="failed", error=error, finished=time.time())

    def _run(self, job_id: str) -> None:  # pragma: no cover - the subclass's work
        raise NotImplementedError

    def _row(self, row: Mapping) -> dict:  # pragma: no cover
        raise NotImplementedError
