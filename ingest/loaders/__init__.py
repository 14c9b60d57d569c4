"""One loader per file format, behind :class:`~ingest.loaders.base.Loader`.

:func:`loader_for` picks the loader by file suffix. Every loader turns one file into a
:class:`~ingest.documents.LoadedDocument` or raises :class:`LoadError` with a reason a
person can act on ("encrypted PDF", "not a valid notebook: ...").
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ingest.loaders.base import Loader, LoadError, UnsupportedFormat

__all__ = ["LoadError", "Loader", "UnsupportedFormat", "loader_for", "supported_suffixes"]


@cache
def _registry() -> dict[str, Loader]:
    # Imported here so that importing the package does not import every parser.
    from ingest.loaders.html import HtmlLoader
    from ingest.loaders.markdown import MarkdownLoader
    from ingest.loaders.notebook import NotebookLoader
    from ingest.loaders.pdf import PdfLoader
    from ingest.loaders.pptx import PptxLoader
    from ingest.loaders.source import SourceLoader
    from ingest.loaders.subtitles import SubtitleLoader
    from ingest.loaders.text import TextLoader

    loaders: list[Loader] = [
        MarkdownLoader(), TextLoader(), HtmlLoader(), NotebookLoader(),
        PdfLoader(), PptxLoader(), SubtitleLoader(), SourceLoader(),
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
