"""Uploaded files, before they are ingested: a safe name, a supported type, a bounded size.

- A name keeps its last path component only (``../../etc/notes.md`` → ``notes.md``,
  ``C:\\x\\notes.md`` → ``notes.md``); characters other than letters, digits, ``. - _`` and
  spaces become ``_``; leading dots and underscores go (ingestion skips hidden files).
- Only the formats a loader reads are taken (:func:`ingest.loaders.supported_suffixes`).
- The files of one upload together may not pass ``server.max_upload_bytes``:
  :func:`save_files` counts what it writes (the HTTP side also refuses a larger declared
  body before reading it, ``api/limits.py``).
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ingest.loaders import supported_suffixes
from studyhall.core.errors import TooLarge, UsageError

MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^\w.\- ]+")
_CHUNK = 1 << 20


class UploadRejected(UsageError):
    """A file of an upload cannot be taken: its name, its type or its size."""


class UnsupportedUpload(UploadRejected):
    kind = "unsupported"


class UploadTooLarge(UploadRejected, TooLarge):
    kind = "too_large"


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
