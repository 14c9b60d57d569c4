"""The loader interface and the suffix registry."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Protocol

from ingest.documents import LoadedDocument


class LoadError(Exception):
    """A file could not be read; the message says why."""


class UnsupportedFormat(LoadError):
    """No loader handles this file's suffix."""


class Loader(Protocol):
    name: str
    suffixes: tuple[str, ...]

    def load(self, path: Path) -> LoadedDocument: ...


@cache
def _registry() -> dict[str, Loader]:
    # Imported here so that importing the package does not import every parser.
    from ingest.loaders.html import HtmlLoader
    from ingest.loaders.markdown import MarkdownLoader
    from ingest.loaders.notebook import NotebookLoader
    from ingest.loaders.pdf import PdfLoader
    from ingest.loaders.pptx import PptxLoader
    from ingest.loaders.subtitles import SubtitleLoader
    from ingest.loaders.text import TextLoader

    loaders: list[Loader] = [
        MarkdownLoader(), TextLoader(), HtmlLoader(), NotebookLoader(),
        PdfLoader(), PptxLoader(), SubtitleLoader(),
    ]
    return {suffix: loader for loader in loaders for suffix in loader.suffixes}


def supported_suffixes() -> tuple[str, ...]:
    return tuple(sorted(_registry()))


def loader_for(path: Path) -> Loader:
    suffix = path.suffix.lower()
    try:
        return _registry()[suffix]
    except KeyError:
        raise UnsupportedFormat(
            f"unsupported file type {suffix or '(no suffix)'!r}; "
            f"supported: {', '.join(supported_suffixes())}"
        ) from None


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
