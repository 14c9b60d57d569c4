"""One loader per file format, behind :class:`~ingest.loaders.base.Loader`.

:func:`loader_for` picks the loader by file suffix. Every loader turns one file into a
:class:`~ingest.documents.LoadedDocument` or raises :class:`LoadError` with a reason a
person can act on ("encrypted PDF", "not a valid notebook: ...").
"""

from ingest.loaders.base import Loader, LoadError, UnsupportedFormat, loader_for, supported_suffixes

__all__ = ["LoadError", "Loader", "UnsupportedFormat", "loader_for", "supported_suffixes"]
