"""The application factory."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api.errors import BodySizeLimit, install_error_handlers
from api.routes import courses, health, search
from retriever.service import SearchService
from studyhall import __version__
from studyhall.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.server.warm_up:
            log.info("warming up: loading the embedder and course indexes")
            await run_in_threadpool(app.state.search.warm_up)
        yield

    app = FastAPI(
        title="studyhall",
        version=__version__,
        description="Course search with citations. Answers and chat arrive in later versions.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.search = SearchService(settings)  # cheap: models load in warm_up or on use
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.server.max_body_bytes)
    for module in (health, courses, search):
        app.include_router(module.router)
    return app
