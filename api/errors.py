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
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    "no_space": 507,  # Insufficient Storage
}
# Kinds that say the server is not in order, not the request: logged as errors.
_LOGGED: set[Kind] = {"conflict", "unavailable", "failed", "no_space"}


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


# FastAPI's words when a JSON body fails to parse with anything but a syntax error (bytes
# that are not UTF-8, nesting past the parser's recursion limit); said more usefully here.
_FASTAPI_PARSE_ERROR = "There was an error parsing the body"
UNPARSABLE_JSON = ("the body could not be parsed as JSON: it is not UTF-8 text, or it nests "
                   "arrays or objects deeper than the parser allows")
_ECHO_CHARS = 200  # of a rejected value, echoed back in a 422


def _echoable(value: object) -> object:
    """A rejected value as the 422 may echo it: strings cut short and made encodable (a lone
    surrogate would make the error itself unsendable), containers summarised."""
    if isinstance(value, str):
        text = value[:_ECHO_CHARS] + ("…" if len(value) > _ECHO_CHARS else "")
        return text.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict | list | tuple):
        return f"<{type(value).__name__} of {len(value)}>"
    return value if isinstance(value, int | float | bool | type(None)) else repr(value)[:80]


def validation_response(exc: RequestValidationError) -> JSONResponse:
    errors = []
    for error in exc.errors():
        errors.append({"loc": list(error.get("loc", ())), "type": error.get("type", ""),
                       "msg": _echoable(str(error.get("msg", ""))),
                       **({"input": _echoable(error["input"])} if "input" in error else {})})
    return JSONResponse({"detail": errors}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StudyhallError)
    async def studyhall_error(_: Request, exc: StudyhallError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.detail == _FASTAPI_PARSE_ERROR:
            return JSONResponse({"detail": UNPARSABLE_JSON}, status_code=400)
        return await http_exception_handler(request, exc)
