"""Uploaded files, before they are ingested: a safe name, a supported type, a bounded size.

- A name keeps its last path component only (``../../etc/notes.md`` → ``notes.md``,
  ``C:\\x\\notes.md`` → ``notes.md``); characters other than letters, digits, ``. - _`` and
  spaces become ``_``; leading dots and underscores go (ingestion skips hidden files).
- Only the formats a loader reads are taken (:func:`ingest.loaders.supported_suffixes`).
- A name with a path that climbs or roots itself (``../x.md``, ``/etc/x.md``, ``C:\\x.md``)
  is refused, naming it; a plain folder prefix (``week1/notes.md``) is dropped.
- The files of one upload together may not pass ``server.max_upload_bytes``:
  :func:`save_files` counts what it writes (the HTTP side also refuses a larger declared
  body before reading it, ``api/limits.py``).
- Before it is queued, each file is looked at without parsing it (:func:`inspect`): its
  bytes must be of the type its suffix names (a PDF starts ``%PDF-``, a deck is a zip
  whose parts do not inflate out of proportion, a notebook is JSON, text is not binary),
  so the upload's answer, not a later job report, names a corrupt or crafted file. What
  needs a parser (an encrypted PDF, a broken deck) is found by the sandboxed job.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ingest.loaders import LoadError, supported_suffixes
from ingest.sandbox import ZIPPED, Limits, check_size
from studyhall.core.errors import NoSpace, TooLarge, UsageError, out_of_space

MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^\w.\- ]+")
_CHUNK = 1 << 20


class UploadRejected(UsageError):
    """A file of an upload cannot be taken: its name, its type or its size."""


class UnsupportedUpload(UploadRejected):
    kind = "unsupported"


class UploadTooLarge(UploadRejected, TooLarge):
    kind = "too_large"


_CLIMBS = re.compile(r"(?:^|/)\.\.(?:/|$)|^/|^[A-Za-z]:/")


def clean_name(raw: str) -> str:
    """A file name safe to create in a course folder, with a supported suffix; or raise."""
    path = unicodedata.normalize("NFC", raw or "").replace("\\", "/")
    if _CLIMBS.search(path):
        raise UploadRejected(f"{raw!r}: a file name may not contain a path that leaves its "
                             "folder ('..', '/' or a drive at the start); send the file's own "
                             "name")
    name = path.rsplit("/", 1)[-1]
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
    """Write each (name, stream) into ``folder``; 413 once they pass ``max_bytes`` together,
    507 when the disk fills (what was written stays: the caller removes the folder)."""
    written = 0
    name = ""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, stream in files:
            with open(folder / name, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise UploadTooLarge(
                            f"the upload passes the limit of {max_bytes:,} bytes at {name!r}; "
                            "send fewer or smaller files")
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())  # a full disk can surface only here
    except OSError as error:
        if not out_of_space(error):
            raise
        raise NoSpace(
            f"the server's disk is full: {name or 'the upload'!r} could not be written, and "
            "nothing of this upload was kept; the course is unchanged (an administrator "
            "must free space)") from error


class UnreadableUpload(UploadRejected):
    """A file whose bytes are not of the type its name says (corrupt, or disguised)."""


_SNIFF = 1 << 16


def inspect(name: str, path: Path, limits: Limits) -> None:
    """Refuse a saved upload whose bytes are not what its suffix says, or (a zip-based
    file) whose parts would unpack out of proportion; parsing is left to the sandbox."""
    suffix = PurePosixPath(name).suffix.lower()
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF)
    if not head.strip():
        raise UnreadableUpload(f"{name!r} is empty")
    if suffix == ".pdf" and b"%PDF-" not in head[:1024]:
        raise UnreadableUpload(f"{name!r} is not a PDF: it does not start with %PDF-")
    elif suffix in ZIPPED:
        if not head.startswith(b"PK\x03\x04"):
            raise UnreadableUpload(f"{name!r} is not a {suffix} file: it is not a zip package")
        try:
            check_size(path, limits)
        except LoadError as exc:
            error = UploadTooLarge if "zip bomb" in str(exc) else UnreadableUpload
            raise error(f"{name!r}: {exc}") from None
    elif suffix == ".ipynb" and not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        raise UnreadableUpload(f"{name!r} is not a notebook: a notebook is a JSON object")
    elif suffix not in (".pdf", ".ipynb") and b"\x00" in head:
        raise UnreadableUpload(f"{name!r} is not a text file: it holds NUL bytes (binary "
                               "data with a text suffix)")


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
