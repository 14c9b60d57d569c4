"""Errors → HTTP responses, in one place: each kind of :class:`StudyhallError` has one status.

A usage error that names request fields answers in FastAPI's own 422 shape
(``detail: [{loc, msg, type}]``), so a client handles one format whether pydantic or the
service refused the request; every other error answers ``{"detail": message}`` plus the
keys the error adds (the known courses of an unknown one, say) and its headers
(``Retry-After`` when busy).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from studyhall.core.errors import Kind, StudyhallError

log = logging.getLogger(__name__)

STATUS: dict[Kind, int] = {
    "usage": 422,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "unsupported": 415,
    "rate_limited": 429,
    "cancelled": 499,  # client closed request (nginx's code)
    "failed": 500,
    "busy": 503,
    "unavailable": 503,
    "timeout": 504,
}
# Kinds that say the server is not in order, not the request: logged as errors.
_LOGGED: set[Kind] = {"conflict", "unavailable", "failed"}


def error_response(exc: StudyhallError) -> JSONResponse:
    fields = exc.fields()
    if exc.kind == "usage" and fields:
        detail: object = [{"loc": ["body", name], "msg": message, "type": "value_error"}
                          for name, message in fields]
    else:
        detail = str(exc)
    if exc.kind in _LOGGED:
        log.error("%s: %s", type(exc).__name__, exc)
    return JSONResponse({"detail": detail, **exc.extra()}, status_code=STATUS[exc.kind],
                        headers=exc.headers() or None)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StudyhallError)
    async def studyhall_error(_: Request, exc: StudyhallError) -> JSONResponse:
        return error_response(exc)
