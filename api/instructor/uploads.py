"""Uploaded files, before they are ingested: a safe name, a supported type, a bounded size.

- A name keeps its last path component only (``../../etc/notes.md`` → ``notes.md``,
  ``C:\\x\\notes.md`` → ``notes.md``); characters other than letters, digits, ``. - _`` and
  spaces become ``_``; leading dots and underscores go (ingestion skips hidden files).
- Only the formats a loader reads are taken (:func:`ingest.loaders.supported_suffixes`).
- The files of one upload together may not pass ``server.max_upload_bytes``:
  :class:`UploadBodyLimit` refuses a larger declared body before reading it, and
  :func:`save_files` counts what it writes.

Errors carry the HTTP status the route answers with.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import BodySizeLimit
from ingest.loaders import supported_suffixes

MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^\w.\- ]+")
_CHUNK = 1 << 20
UPLOAD_PATH = re.compile(r"^/v1/courses/[^/]+/files/?$")


class UploadRejected(ValueError):
    status_code = 422


class UnsupportedUpload(UploadRejected):
    status_code = 415


class UploadTooLarge(UploadRejected):
    status_code = 413


def clean_name(raw: str) -> str:
    """A file name safe to create in a course folder, with a supported suffix; or raise."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", re.sub(r"\s+", " ", name)).strip(" ._")
    if len(name) > MAX_NAME_CHARS:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: MAX_NAME_CHARS - len(suffix)].rstrip(" ._") + suffix
    if not name:
        raise UploadRejected(f"{raw!r} is not a usable file name")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in supported_suffixes():
        raise UnsupportedUpload(
            f"{name!r}: unsupported file type {suffix or '(no suffix)'!r}; "
            f"allowed: {', '.join(supported_suffixes())}")
    return name


def clean_names(raw_names: Sequence[str]) -> list[str]:
    """Every name cleaned (all checked before anything is written); two alike → 422."""
    if not raw_names:
        raise UploadRejected("no files in the upload")
    names = [clean_name(raw) for raw in raw_names]
    seen: set[str] = set()
    for name in names:
        if name.casefold() in seen:
            raise UploadRejected(f"two files in the upload are named {name!r}")
        seen.add(name.casefold())
    return names


def save_files(files: Sequence[tuple[str, BinaryIO]], folder: Path, max_bytes: int) -> None:
    """Write each (name, stream) into ``folder``; 413 once they pass ``max_bytes`` together
    (what was written stays: the caller removes the folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for name, stream in files:
        with open(folder / name, "wb") as out:
            while chunk := stream.read(_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise UploadTooLarge(
                        f"the upload passes the limit of {max_bytes:,} bytes at {name!r}; "
                        "send fewer or smaller files")
                out.write(chunk)


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


class UploadBodyLimit:
    """:class:`api.errors.BodySizeLimit` with a second, larger limit for the upload route:
    ``upload_bytes`` for ``POST /v1/courses/{course}/files``, ``max_bytes`` for the rest."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int) -> None:
        self.default = BodySizeLimit(app, max_bytes)
        self.uploads = BodySizeLimit(app, upload_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        upload = (scope["type"] == "http" and scope["method"] == "POST"
                  and UPLOAD_PATH.match(scope["path"]) is not None)
        await (self.uploads if upload else self.default)(scope, receive, send)
