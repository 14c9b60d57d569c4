"""Domain errors → HTTP responses, in one place.

Validation failures use FastAPI's own 422 shape (``detail: [{loc, msg, type}]``) so a
client handles one format whether pydantic or the service refused the request.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from demos.base import Cancelled
from demos.registry import DemoTimeout, InvalidParameters, UnknownTool
from eval.datasets import DatasetError
from generator.conversations import UnknownSession
from generator.models import ModelNotAvailable
from generator.queue import Busy
from ingest.catalog import UnknownCourse
from ingest.embedder import EmbedderNotFound
from ingest.store import IndexMismatch
from retriever.service import InvalidRequest, QueryTooLong
from studyhall.jobs import UnknownJob

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(UnknownCourse)
    async def unknown_course(_: Request, exc: UnknownCourse) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc), "known_courses": exc.known}, status_code=404
        )

    @app.exception_handler(QueryTooLong)
    async def too_long(_: Request, exc: QueryTooLong) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=413)

    @app.exception_handler(InvalidRequest)
    async def invalid(_: Request, exc: InvalidRequest) -> JSONResponse:
        detail = [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(UnknownTool)
    async def unknown_tool(_: Request, exc: UnknownTool) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "known_tools": exc.known}, status_code=404)

    @app.exception_handler(InvalidParameters)
    async def bad_parameters(_: Request, exc: InvalidParameters) -> JSONResponse:
        detail = [{"loc": ["body", e["field"]], "msg": e["message"], "type": "value_error"}
                  for e in exc.errors]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(UnknownJob)
    async def unknown_job(_: Request, exc: UnknownJob) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(DatasetError)
    async def no_dataset(_: Request, exc: DatasetError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(DemoTimeout)
    async def demo_timeout(_: Request, exc: DemoTimeout) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=504)

    @app.exception_handler(Cancelled)
    async def cancelled(_: Request, exc: Cancelled) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=499)  # client closed request

    @app.exception_handler(IndexMismatch)
    async def mismatch(_: Request, exc: IndexMismatch) -> JSONResponse:
        log.error("index mismatch: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(Busy)
    async def busy(_: Request, exc: Busy) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503,
                            headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(UnknownSession)
    async def unknown_session(_: Request, exc: UnknownSession) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(ModelNotAvailable)
    async def no_model(_: Request, exc: ModelNotAvailable) -> JSONResponse:
        log.error("model missing: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(EmbedderNotFound)
    async def no_embedder(_: Request, exc: EmbedderNotFound) -> JSONResponse:
        log.error("embedder missing: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=503)


class BodySizeLimit:
    """Refuse a request whose declared body is larger than ``max_bytes`` with 413,
    before reading it; a body that turns out longer than declared is cut off too."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(int(declared), send)
            return
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge(seen)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge as exc:
            await self._refuse(exc.size, send)

    async def _refuse(self, size: int, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"request body is {size:,} bytes; the limit is {self.max_bytes:,}"},
            status_code=413,
        )
        await response({"type": "http"}, _no_receive, send)


class _BodyTooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


async def _no_receive():  # pragma: no cover - JSONResponse never reads
    return {"type": "http.disconnect"}
