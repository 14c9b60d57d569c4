"""PDF: one section per page with text, anchored by page number (``#page=N``)."""

from __future__ import annotations

import logging
from pathlib import Path

from ingest.documents import Anchor, LoadedDocument, Section
from ingest.loaders.base import LoadError, title_from_filename

log = logging.getLogger(__name__)


class PdfLoader:
    name = "pdf"
    suffixes = (".pdf",)

    def load(self, path: Path) -> LoadedDocument:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        # pypdf logs recoverable damage at WARNING; it is reported through LoadError or
        # not at all, so keep it out of the user's terminal.
        logging.getLogger("pypdf").setLevel(logging.ERROR)
        try:
            reader = PdfReader(path)
            if reader.is_encrypted:
                try:
                    opened = reader.decrypt("")  # many PDFs only restrict printing/copying
                except Exception as exc:
                    raise LoadError(f"encrypted PDF that cannot be opened: {exc}") from None
                if not opened:
                    raise LoadError("encrypted PDF: it needs a password to open")
            pages = [page.extract_text() or "" for page in reader.pages]
            meta_title = (reader.metadata.title if reader.metadata else None) or ""
        except LoadError:
            raise
        except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
            raise LoadError(f"corrupt or unreadable PDF: {exc}") from None
        except Exception as exc:  # pypdf surfaces odd types from damaged files
            raise LoadError(f"corrupt or unreadable PDF: {type(exc).__name__}: {exc}") from None

        title = str(meta_title).strip() or title_from_filename(path)
        sections = [
            Section(text.strip(), (title,), Anchor("page", str(number), f"page {number}"))
            for number, text in enumerate(pages, start=1)
            if text.strip()
        ]
        if not sections:
            raise LoadError(
                f"no extractable text in {len(pages)} page(s) (a scanned PDF needs OCR first)"
            )
        return LoadedDocument(title, sections, self.name)
