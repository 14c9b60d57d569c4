"""The loader interface, and what the loaders share."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ingest.documents import LoadedDocument
from studyhall.core.errors import StudyhallError


class LoadError(StudyhallError):
    """A file could not be read; the message says why."""


class UnsupportedFormat(LoadError):
    """No loader handles this file's suffix."""

    kind = "unsupported"


class Loader(Protocol):
    name: str
    suffixes: tuple[str, ...]

    def load(self, path: Path) -> LoadedDocument: ...


def read_text(path: Path) -> str:
    """Read a text file as UTF-8 (a BOM is dropped); refuse binary or non-UTF-8 content."""
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise LoadError("looks like a binary file, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 text (byte {exc.start})") from None


def title_from_filename(path: Path) -> str:
    """``03-ai-ml-dl.md`` → ``"03 ai ml dl"``: a fallback when a file names no title."""
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name
