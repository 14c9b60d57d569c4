"""The application factory."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api.errors import install_error_handlers
from api.instructor import IngestJobs, UploadBodyLimit, instructor_router
from api.lti import LtiService, lti_router
from api.mcp import build_mcp
from api.routes import ask, courses, evals, health, openai_compat, pages, search, tools
from demos.registry import build_runner
from eval.jobs import EvalJobs
from generator.answer import AnswerService, build_answer_service
from ingest.pipeline import Ingestor
from retriever.service import SearchService
from studyhall import __version__
from studyhall.settings import Settings

log = logging.getLogger(__name__)


def _once(build: Callable[[], AnswerService]) -> Callable[[], AnswerService]:
    """Build on first call, then return the same object (thread-safe)."""
    lock, built = threading.Lock(), []

    def get() -> AnswerService:
        if not built:
            with lock:
                if not built:
                    built.append(build())
        return built[0]

    return get


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.server.warm_up:
            log.info("warming up: embedder, course indexes and the language model")
            await run_in_threadpool(app.state.search.warm_up)
            await run_in_threadpool(lambda: app.state.answers().warm_up())
        async with mcp_server.session_manager.run():
            yield

    app = FastAPI(
        title="studyhall",
        version=__version__,
        description="Answers from course material, with citations to the exact passage.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.search = SearchService(settings)  # cheap: models load in warm_up or on use
    app.state.demos = build_runner(settings)  # cheap: demo modules load on first use
    app.state.answers = _once(
        lambda: build_answer_service(settings, app.state.search, app.state.demos))
    app.state.evals = EvalJobs(  # marks jobs a previous run left unfinished as interrupted
        settings.database, settings.data_dir / "evals" / "jobs", search=app.state.search,
        answers=lambda: app.state.answers(), data_dir=settings.data_dir)
    app.state.ingest_jobs = IngestJobs(  # marks uploads left unfinished as interrupted
        settings.database, settings.sources_dir, max_upload_bytes=settings.server.max_upload_bytes,
        ingestor=Ingestor(app.state.search.catalog, app.state.search.embedder, settings.ingest))
    install_error_handlers(app)
    # Uploads get their own limit; max_body_bytes on top leaves room for the form's envelope.
    app.add_middleware(UploadBodyLimit, max_bytes=settings.server.max_body_bytes,
                       upload_bytes=settings.server.max_upload_bytes
                       + settings.server.max_body_bytes)
    for module in (health, courses, search, ask, openai_compat, tools, evals, pages):
        app.include_router(module.router)
    app.state.lti = LtiService(settings.database, settings.data_dir, settings.server.public_url)
    app.include_router(lti_router)
    app.include_router(instructor_router)
    # MCP over streamable HTTP at /mcp; its tools read app.state when called.
    mcp_server = build_mcp(app.state)
    mcp_app = mcp_server.streamable_http_app(streamable_http_path="/mcp",
                                             host=settings.server.host)
    app.router.routes.extend(mcp_app.routes)
    return app
