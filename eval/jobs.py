"""Eval jobs: an instructor starts a retrieval or answer eval of a course, follows its
progress and reads its report, over HTTP. Two more course jobs ride on the same rows:
``draft`` (a question set drafted from the course's passages with the model, for the
instructor to review) and ``warm`` (the KV cache of the sources its questions retrieve,
:mod:`eval.warm`), so with a queue they too run on workers, not in the API process.

Jobs are rows in the service's database, so they outlive the process: a job that was
queued or running when the service stopped is marked ``interrupted`` (with the reason) at
the next start, never silently lost. One job runs at a time, in a background thread; an
answer eval takes its turn in the model's queue question by question, so students keep
being served while it runs.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from eval.datasets import Question, course_dataset, load_questions
from eval.retrieval import COMPARED
from retriever.service import RetrievalConfig
from studyhall.core.database import Database
from studyhall.core.errors import Busy, InvalidRequest
from studyhall.core.jobs import BackgroundJobs, JobQueue, UnknownJob
from studyhall.core.schema import eval_jobs

log = logging.getLogger(__name__)

Kind = Literal["retrieval", "answers", "draft", "warm"]
DRAFT_PASSAGES = 20  # passages a draft job writes questions from, unless told
MAX_DRAFT_PASSAGES = 500  # as `studyhall eval generate --count` allows
REPORTED = ("retrieval", "answers", "draft")  # the kinds that write a report


class EvalJobs(BackgroundJobs):
    TABLE = eval_jobs
    INTERRUPTED = "the service stopped while this job was queued or running; start it again"
    KIND = "eval job"

    def __init__(self, database: Database | Path | str, reports: Path, *, search,
                 answers: Callable[[], Any], data_dir: Path, max_queued: int = 20,
                 queue: JobQueue | None = None, kv_reuse: bool = False) -> None:
        super().__init__(database, max_queued=max_queued, queue=queue)
        self.reports = reports
        self.search = search
        self.answers = answers  # built on first use, where a job runs: it loads the model
        self.data_dir = data_dir
        self.kv_reuse = kv_reuse  # generator.kv_reuse: whether a warm job would be of use

    # -- the API's side ----------------------------------------------------------

    def start(self, course: str, kind: Kind, *, limit: int | None = None,
              configs: list[str] | None = None) -> dict:
        """Check the request now (unknown course, no question set → raise), then queue it."""
        self.search.index(course)  # UnknownCourse → 404
        if kind == "draft" and limit is not None and limit > MAX_DRAFT_PASSAGES:
            raise InvalidRequest("limit", f"a draft job drafts from at most "
                                 f"{MAX_DRAFT_PASSAGES} passages")
        if kind == "warm" and not self.kv_reuse:
            raise InvalidRequest("kind", "warm computes the KV cache generator.kv_reuse "
                                 "reads, and kv_reuse is off on this service")
        params = {"limit": limit, "configs": list(configs or COMPARED)}
        if kind == "draft":  # from the passages: no question set needed
            total = limit or DRAFT_PASSAGES
        else:
            questions = load_questions(course_dataset(self.data_dir, course), course=course)
            total = (len(params["configs"]) if kind == "retrieval"
                     else len(questions[:limit] if limit else questions))
        return self._insert(uuid.uuid4().hex[:12], course=course, kind=kind,
                            params=json.dumps(params), total=total)

    def list(self, course: str | None = None) -> list[dict]:
        return self.rows(course)

    def report_file(self, job_id: str, name: str) -> Path | None:
        job = self.get(job_id)
        if (job["status"] != "done" or job["kind"] not in REPORTED
                or name not in ("report.html", "report.md", "report.json")):
            return None
        path = self.reports / job_id / name
        return path if path.is_file() else None

    # -- the worker's side -------------------------------------------------------

    def _row(self, row) -> dict:
        return _job_dict(row)

    def _run(self, job_id: str) -> None:
        job = self.get(job_id)
        self._update(job_id, status="running", started=time.time())
        run = {"retrieval": self._retrieval, "answers": self._answers, "draft": self._draft,
               "warm": self._warm}[job["kind"]]
        out = self.reports / job_id
        summary = run(job_id, job, out)
        self._update(job_id, status="done", summary=json.dumps(summary), finished=time.time(),
                     report_dir=str(out) if job["kind"] in REPORTED else None)

    # -- each kind: (job id, its row, its report folder) → the headline numbers ------------

    def _questions(self, job: dict) -> list[Question]:
        questions = load_questions(course_dataset(self.data_dir, job["course"]),
                                   course=job["course"])
        return questions[: job["params"]["limit"] or None]

    def _retrieval(self, job_id: str, job: dict, out: Path) -> dict:
        from eval.report import write_retrieval_report
        from eval.retrieval import evaluate_retrieval

        questions, results = self._questions(job), []
        for n, spec in enumerate(job["params"]["configs"], start=1):
            results.append(evaluate_retrieval(self.search, questions, job["course"],
                                              RetrievalConfig.parse(spec)))
            self._update(job_id, done=n)
        write_retrieval_report(results, out, title=job["course"])
        return {r.mode: {"hit_at_5": r.hit_at_5, "recall_at_10": r.recall_at_10,
                         "mrr_at_10": r.mrr_at_10, "ndcg_at_10": r.ndcg_at_10} for r in results}

    def _answers(self, job_id: str, job: dict, out: Path) -> dict:
        from eval.answers import evaluate_answers
        from eval.report import write_answer_report

        service, course = self.answers(), job["course"]

        def ask(question: Question):
            while True:  # wait for a place in the model's queue, like any student
                try:
                    # history given (even empty): stateless, nothing stored as a chat;
                    # the model's own answers, not the answer cache's
                    return service.ask(question.question, course,
                                       history=list(question.turns), use_cache=False)
                except Busy as busy:
                    time.sleep(busy.retry_after)

        report = evaluate_answers(ask, self._questions(job),
                                  progress=lambda n, total, _: self._update(job_id, done=n))
        write_answer_report(report, out, title=course)
        return {k: v for k, v in report.to_dict().items() if k != "records"}

    def _draft(self, job_id: str, job: dict, out: Path) -> dict:
        """Draft questions from the course's passages (``total`` of them, fewer if fewer
        are long enough), each a turn in the model's queue like a student's; saved as the
        course's questions.draft.jsonl (for the instructor to review and rename
        questions.jsonl) and as the job's report."""
        from eval.generate import draft_questions, pick_chunks
        from eval.report import write_draft_report

        course, index = job["course"], self.search.index(job["course"])
        count = len(pick_chunks(index.chunks, job["total"]))
        self._update(job_id, total=count)
        drafts = list(draft_questions(_Queued(self.answers()), course, index.manifest.title,
                                      index.chunks, count=count,
                                      progress=lambda n, total: self._update(job_id, done=n)))
        target = self.data_dir / "evals" / course / "questions.draft.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in drafts),
                          encoding="utf-8")
        write_draft_report(drafts, out, title=course)
        return {"drafts": len(drafts), "passages": count,
                "saved_as": str(target.relative_to(self.data_dir))}

    def _warm(self, job_id: str, job: dict, out: Path) -> dict:
        """The course's KV warmed from its questions' prompts (:mod:`eval.warm`); no report,
        the summary says what was kept and where."""
        from eval.warm import warm_course

        warmed = warm_course(self.answers(), job["course"], self._questions(job),
                             progress=lambda n, total: self._update(job_id, done=n))
        self._update(job_id, done=job["total"])
        return warmed.summary()


class _Queued:
    """The answer service's model, reached through its queue as a student reaches it (a
    draft job waits its turn instead of taking the model from the class)."""

    def __init__(self, service) -> None:
        self.service = service

    def stream(self, messages, params):
        while True:
            try:
                ticket = self.service.queue.enter()
                break
            except Busy as busy:
                time.sleep(busy.retry_after)
        try:
            with ticket:
                yield from self.service.generator.stream(messages, params)
        finally:
            ticket.leave()


def _job_dict(row) -> dict:
    job = dict(row)
    job["params"] = json.loads(job["params"])
    job["summary"] = json.loads(job["summary"]) if job["summary"] else None
    job.pop("report_dir", None)
    return job


__all__ = ["EvalJobs", "UnknownJob", "course_dataset"]
