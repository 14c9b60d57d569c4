"""Request body limits, enforced before a body is read: a declared ``Content-Length`` over
the limit is refused at once with 413, and a body that turns out longer than declared is
cut off too. The upload route gets its own, larger limit."""

from __future__ import annotations

import re

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

UPLOAD_PATH = re.compile(r"^/v1/courses/[^/]+/files/?$")


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


class UploadBodyLimit:
    """:class:`BodySizeLimit` with a second, larger limit for the upload route:
    ``upload_bytes`` for ``POST /v1/courses/{course}/files``, ``max_bytes`` for the rest."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int) -> None:
        self.default = BodySizeLimit(app, max_bytes)
        self.uploads = BodySizeLimit(app, upload_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        upload = (scope["type"] == "http" and scope["method"] == "POST"
                  and UPLOAD_PATH.match(scope["path"]) is not None)
        await (self.uploads if upload else self.default)(scope, receive, send)
