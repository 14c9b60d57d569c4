"""Eval jobs: an instructor starts a retrieval or answer eval of a course, follows its
progress and reads its report, over HTTP.

Jobs are rows in the service's SQLite file, so they outlive the process: a job that was
queued or running when the service stopped is marked ``interrupted`` (with the reason) at
the next start, never silently lost. One job runs at a time, in a background thread; an
answer eval takes its turn in the model's queue question by question, so students keep
being served while it runs.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any, Literal

from eval.datasets import Question, default_dataset, load_questions
from generator.queue import Busy

log = logging.getLogger(__name__)

Kind = Literal["retrieval", "answers"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS eval_jobs (
    id TEXT PRIMARY KEY,
    course TEXT NOT NULL,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,            -- queued, running, done, failed, interrupted
    done INTEGER NOT NULL DEFAULT 0, -- questions (answers) or configurations (retrieval)
    total INTEGER NOT NULL DEFAULT 0,
    summary TEXT,                    -- the headline numbers, JSON
    error TEXT,
    report_dir TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL
)
"""


class UnknownJob(LookupError):
    pass


def course_dataset(data_dir: Path, course: str) -> Path:
    """The course's question set: a reviewed set in the data directory
    (``evals/<course>/questions.jsonl``), else the bundled one."""
    own = data_dir / "evals" / course / "questions.jsonl"
    return own if own.is_file() else default_dataset(course)


class EvalJobs:
    def __init__(self, database: Path, reports: Path, *, search, answers: Callable[[], Any],
                 data_dir: Path) -> None:
        self.database = database
        self.reports = reports
        self.search = search
        self.answers = answers  # built on first use: it loads the model
        self.data_dir = data_dir
        self._queue: queue.Queue[str] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        database.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute(SCHEMA)
            db.execute(
                "UPDATE eval_jobs SET status = 'interrupted', finished = ?, error = "
                "'the service stopped while this job was queued or running; start it again' "
                "WHERE status IN ('queued', 'running')", (time.time(),))

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.database, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    # -- the API's side ----------------------------------------------------------

    def start(self, course: str, kind: Kind, *, limit: int | None = None,
              configs: list[str] | None = None) -> dict:
        """Check the request now (unknown course, no question set → raise), then queue it."""
        self.search.index(course)  # UnknownCourse → 404
        questions = load_questions(course_dataset(self.data_dir, course), course=course)
        params = {"limit": limit, "configs": configs or ["bm25", "dense", "hybrid", "hybrid+mmr"]}
        total = (len(params["configs"]) if kind == "retrieval"
                 else len(questions[:limit] if limit else questions))
        job_id = uuid.uuid4().hex[:12]
        with closing(self._db()) as db, db:
            db.execute("INSERT INTO eval_jobs (id, course, kind, params, status, total, created) "
                       "VALUES (?, ?, ?, ?, 'queued', ?, ?)",
                       (job_id, course, kind, json.dumps(params), total, time.time()))
        self._queue.put(job_id)
        self._ensure_worker()
        return self.get(job_id)

    def get(self, job_id: str) -> dict:
        with closing(self._db()) as db:
            row = db.execute("SELECT * FROM eval_jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise UnknownJob(f"no eval job {job_id!r}")
        return _job_dict(row)

    def list(self, course: str | None = None) -> list[dict]:
        with closing(self._db()) as db:
            rows = db.execute(
                "SELECT * FROM eval_jobs WHERE ? IS NULL OR course = ? ORDER BY created DESC",
                (course, course)).fetchall()
        return [_job_dict(r) for r in rows]

    def report_file(self, job_id: str, name: str) -> Path | None:
        job = self.get(job_id)
        if job["status"] != "done" or name not in ("report.html", "report.md", "report.json"):
            return None
        path = self.reports / job_id / name
        return path if path.is_file() else None

    def wait(self, job_id: str, timeout: float = 60.0) -> dict:
        """Block until the job ends (for tests and the CLI)."""
        deadline = time.monotonic() + timeout
        while (job := self.get(job_id))["status"] in ("queued", "running"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"eval job {job_id} still {job['status']}")
            time.sleep(0.05)
        return job

    # -- the worker's side -------------------------------------------------------

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="eval-jobs",
                                                daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            try:
                self._run(job_id)
            except Exception as exc:  # a failed job is reported, the worker goes on
                log.exception("eval job %s failed", job_id)
                self._update(job_id, status="failed", error=f"{type(exc).__name__}: {exc}",
                             finished=time.time())

    def _update(self, job_id: str, **fields) -> None:
        names = ", ".join(f"{k} = ?" for k in fields)
        with closing(self._db()) as db, db:
            db.execute(f"UPDATE eval_jobs SET {names} WHERE id = ?", (*fields.values(), job_id))

    def _run(self, job_id: str) -> None:
        from eval.report import write_answer_report, write_retrieval_report

        job = self.get(job_id)
        course, params = job["course"], job["params"]
        self._update(job_id, status="running", started=time.time())
        questions = load_questions(course_dataset(self.data_dir, course), course=course)
        out = self.reports / job_id
        if job["kind"] == "retrieval":
            results = self._retrieval(job_id, course, questions, params["configs"])
            write_retrieval_report(results, out, title=course)
            summary = {r.mode: {"hit_at_5": r.hit_at_5, "recall_at_10": r.recall_at_10,
                                "mrr_at_10": r.mrr_at_10, "ndcg_at_10": r.ndcg_at_10}
                       for r in results}
        else:
            report = self._answers(job_id, course, questions[: params["limit"] or None])
            write_answer_report(report, out, title=course)
            summary = {k: v for k, v in report.to_dict().items() if k != "records"}
        self._update(job_id, status="done", summary=json.dumps(summary), report_dir=str(out),
                     finished=time.time())

    def _retrieval(self, job_id: str, course: str, questions: list[Question],
                   configs: list[str]):
        from eval.retrieval import evaluate_retrieval

        results = []
        for n, spec in enumerate(configs, start=1):
            mode, _, extra = spec.partition("+")
            results.append(evaluate_retrieval(self.search, questions, course, mode=mode,
                                              mmr=extra == "mmr"))
            self._update(job_id, done=n)
        return results

    def _answers(self, job_id: str, course: str, questions: list[Question]):
        from eval.answers import evaluate_answers

        service = self.answers()

        def ask(question: Question):
            while True:  # wait for a place in the model's queue, like any student
                try:
                    # history given (even empty): stateless, nothing stored as a chat
                    return service.ask(question.question, course,
                                       history=list(question.turns))
                except Busy as busy:
                    time.sleep(busy.retry_after)

        return evaluate_answers(ask, questions,
                                progress=lambda n, total, _: self._update(job_id, done=n))


def _job_dict(row: sqlite3.Row) -> dict:
    job = dict(row)
    job["params"] = json.loads(job["params"])
    job["summary"] = json.loads(job["summary"]) if job["summary"] else None
    job.pop("report_dir", None)
    if job["status"] == "done":
        job["report"] = {kind: f"/v1/evals/{job['id']}/report.{kind}"
                         for kind in ("html", "md", "json")}
    return job
