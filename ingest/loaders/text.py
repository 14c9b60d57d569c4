"""Plain text: one section; chunks are anchored to the line they start on."""

from __future__ import annotations

from pathlib import Path

from ingest.documents import Anchor, LoadedDocument, Section
from ingest.loaders.base import LoadError, read_text, title_from_filename


class TextLoader:
    name = "text"
    suffixes = (".txt", ".text", ".rst")

    def load(self, path: Path) -> LoadedDocument:
        text = read_text(path)
        if not text.strip():
            raise LoadError("empty document")
        title = title_from_filename(path)
        section = Section(text, (title,), Anchor("line", "1", "line 1"), start_line=1)
        return LoadedDocument(title, [section], self.name)
