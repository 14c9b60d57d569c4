"""The composition root: every service studyhall runs, built from one ``Settings``.

The HTTP app (:func:`api.app.create_app`), the MCP server and the CLI all start from
:func:`build_services`, so they serve the same thing the same way. Construction is cheap:
the embedder, the indexes and the model load on first use (or in ``warm_up``), and the
job tables are opened only when asked for, because opening one marks the jobs a stopped
service left unfinished as interrupted (a CLI command must not do that to a running
server's jobs).

Tests swap a part by passing it: ``build_services(settings, search=..., generator=...)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from demos.registry import DemoRunner, build_runner
from eval.gate import Refit, refit_if_stale
from eval.jobs import EvalJobs
from generator.answer import AnswerService
from generator.answer_cache import AnswerCache
from generator.base import Generator
from generator.conversations import ConversationStore
from ingest.jobs import IngestJobs
from ingest.pipeline import Ingestor
from retriever.service import SearchService
from studyhall.core.errors import UsageError
from studyhall.core.jobs import BackgroundJobs
from studyhall.core.settings import Settings
from studyhall.core.workers import RedisQueue

T = TypeVar("T")


class Services:
    """What a front end works with. ``search`` and ``demos`` are built at once (cheap);
    ``answers``, ``evals`` and ``ingest_jobs`` on first use, once, thread-safely."""

    def __init__(self, settings: Settings, *, search: SearchService, demos: DemoRunner,
                 ingestor: Ingestor, answers: Callable[[], AnswerService]) -> None:
        self.settings = settings
        self.search = search
        self.demos = demos
        self.ingestor = ingestor
        self._build_answers = answers
        self._lock = threading.RLock()  # a part may be built from another (jobs: the queue)
        self._built: dict[str, object] = {}

    def _once(self, name: str, build: Callable[[], T]) -> T:
        if name not in self._built:
            with self._lock:
                if name not in self._built:
                    self._built[name] = build()
        return self._built[name]  # type: ignore[return-value]

    @property
    def answers(self) -> AnswerService:
        """The answer service (building it resolves the model file; the model itself
        loads on the first question or in ``warm_up``)."""
        return self._once("answers", self._build_answers)

    @property
    def jobs_queue(self) -> RedisQueue | None:
        """The Redis queue workers take jobs from, when ``queue_url`` is set."""
        url = self.settings.queue_url
        return self._once("jobs_queue", lambda: RedisQueue(url)) if url else None

    @property
    def evals(self) -> EvalJobs:
        settings = self.settings
        return self._once("evals", lambda: EvalJobs(
            settings.database, settings.data_dir / "evals" / "jobs", search=self.search,
            answers=lambda: self.answers, data_dir=settings.data_dir,
            max_queued=settings.server.max_queued_jobs, queue=self.jobs_queue,
            kv_reuse=settings.generator.kv_reuse))

    def refit_gate(self, course: str) -> Refit | None:
        """After an ingest (a command or an upload): a course grown or shrunk by more than
        a quarter gets its own gate refitted (:func:`eval.gate.refit_if_stale`)."""
        return refit_if_stale(self.search, course, self.settings.answer, self.settings.data_dir)

    def _after_upload(self, course: str) -> str | None:
        """What follows a new version: the gate refitted if the course grew or shrank much,
        and, where ``generator.kv_reuse`` is on, a warm-up of its KV queued (the new
        version starts with none). What was done, in words, or None."""
        done = []
        if (refit := self.refit_gate(course)) is not None:
            done.append(refit.message(course))
        if self.settings.generator.kv_reuse:
            try:
                job = self.evals.start(course, "warm")
                done.append(f"KV warm-up queued as eval job {job['id']}")
            except UsageError as exc:  # no question set to warm from
                done.append(f"no KV warm-up: {exc}")
        return "; ".join(done) or None

    def recover(self) -> None:
        """What a stopped or killed service left, put right, as a server does at start: the
        staging and unpublished versions of interrupted ingests removed (courses another
        process is ingesting into are left to it), jobs left queued or running marked
        interrupted, and their uploads either kept (the published version holds them) or
        removed."""
        self.search.catalog.recover_all()
        self.evals, self.ingest_jobs  # noqa: B018 - opening a job table recovers it

    @property
    def ingest_jobs(self) -> IngestJobs:
        settings = self.settings
        return self._once("ingest_jobs", lambda: IngestJobs(
            settings.database, settings.sources_dir, ingestor=self.ingestor,
            max_upload_bytes=settings.server.max_upload_bytes,
            max_queued=settings.server.max_queued_jobs, after_publish=self._after_upload,
            queue=self.jobs_queue))

    def job_tables(self) -> dict[str, BackgroundJobs]:
        return {"ingest_jobs": self.ingest_jobs, "eval_jobs": self.evals}


def build_services(settings: Settings, *, search: SearchService | None = None,
                   demos: DemoRunner | None = None, generator: Generator | None = None,
                   store: ConversationStore | None = None,
                   answers: AnswerService | None = None) -> Services:
    """The services of ``settings``: the configured embedder, course catalog, demos,
    backend and model, and the conversation store in the data directory."""
    search = search or SearchService(settings)
    demos = demos or build_runner(settings)

    def build_answers() -> AnswerService:
        if answers is not None:
            return answers
        from generator.backends import build_generator

        model = generator or build_generator(settings.generator, settings.model_store)
        conversations = store or ConversationStore(
            settings.database, retention_days=settings.access.conversation_retention_days)
        return AnswerService(settings, search, model, conversations, demos=demos,
                             cache=AnswerCache(settings.database))

    ingestor = Ingestor(search.catalog, search.embedder, settings.ingest)
    return Services(settings, search=search, demos=demos, ingestor=ingestor,
                    answers=build_answers)



# --- what a `studyhall worker` process runs (studyhall/core/workers.py) -----------------

_worker_services: Services | None = None


def worker_services(settings: Settings | None = None) -> Services:
    """The services of this worker process, built once (from ``settings``, else from the
    environment) and kept for every job it takes; opening their job tables marks jobs
    whose worker stopped beating interrupted."""
    global _worker_services
    if _worker_services is None:
        _worker_services = build_services(settings or Settings())
        _worker_services.job_tables()
    return _worker_services


def run_job(table: str, job_id: str) -> bool:
    """Run one queued job in this worker process (what RQ calls)."""
    return worker_services().job_tables()[table].run(job_id)
