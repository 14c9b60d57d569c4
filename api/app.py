"""The application factory: the HTTP API, the pages, LTI and MCP over one set of services."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api import logs
from api.access import AccessStore
from api.access.ratelimit import RateLimits
from api.errors import install_error_handlers
from api.instructor import instructor_router
from api.limits import UploadBodyLimit
from api.lti import LtiService, lti_router
from api.mcp import build_mcp, transport_security
from api.routes import ask, courses, evals, health, openai_compat, pages, search, tools
from studyhall import __version__
from studyhall.core.settings import Settings
from studyhall.services import Services, build_services

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """The app over ``services`` (default: :func:`~studyhall.services.build_services` of
    ``settings``), after :meth:`~studyhall.services.Services.recover` has put right what a
    previous run left unfinished."""
    settings = services.settings if services is not None else settings or Settings()
    services = services or build_services(settings)
    services.recover()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        logs.install()  # after the server configured its loggers
        if settings.server.warm_up:
            log.info("warming up: embedder, course indexes and the language model")
            await run_in_threadpool(services.search.warm_up)
            await run_in_threadpool(lambda: services.answers.warm_up())
        async with mcp_server.session_manager.run():
            yield

    app = FastAPI(
        title="studyhall",
        version=__version__,
        description="Answers from course material, with citations to the exact passage.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.lti = LtiService(settings.database, settings.data_dir, settings.server.public_url)
    app.state.access = AccessStore(settings.database,
                                   default_visibility=settings.access.default_visibility)
    app.state.limits = RateLimits(settings.access,
                                  storage_url=settings.access.limits_url or settings.queue_url)
    install_error_handlers(app)
    # Uploads get their own limit; max_body_bytes on top leaves room for the form's envelope.
    app.add_middleware(UploadBodyLimit, max_bytes=settings.server.max_body_bytes,
                       upload_bytes=settings.server.max_upload_bytes
                       + settings.server.max_body_bytes)
    for module in (health, courses, search, ask, openai_compat, tools, evals, pages):
        app.include_router(module.router)
    app.include_router(lti_router)
    app.include_router(instructor_router)
    # MCP over streamable HTTP at /mcp, over the same services.
    mcp_server = build_mcp(services, app.state.access, app.state.lti, app.state.limits)
    server = settings.server
    mcp_app = mcp_server.streamable_http_app(
        streamable_http_path="/mcp", session_idle_timeout=server.mcp_session_idle_s,
        max_sessions=server.mcp_max_sessions,
        transport_security=transport_security(server.host, server.public_url))
    app.router.routes.extend(mcp_app.routes)
    return app
