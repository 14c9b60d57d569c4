"""PowerPoint (.pptx): one section per slide, speaker notes included (``#slide=N``)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ingest.documents import Anchor, LoadedDocument, Section
from ingest.loaders.base import LoadError, title_from_filename


class PptxLoader:
    name = "pptx"
    suffixes = (".pptx",)

    def load(self, path: Path) -> LoadedDocument:
        from pptx import Presentation
        from pptx.exc import PackageNotFoundError

        try:
            deck = Presentation(str(path))
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise LoadError(f"corrupt or unreadable PowerPoint file: {exc}") from None
        except Exception as exc:  # lxml and zip errors from damaged packages
            raise LoadError(f"corrupt PowerPoint file: {type(exc).__name__}: {exc}") from None

        deck_title = (deck.core_properties.title or "").strip() or title_from_filename(path)
        sections: list[Section] = []
        for number, slide in enumerate(deck.slides, start=1):
            title_shape = slide.shapes.title
            slide_title = title_shape.text_frame.text.strip() if title_shape is not None else ""
            body: list[str] = []
            for shape in slide.shapes:
                if shape is title_shape:
                    continue
                if shape.has_text_frame and shape.text_frame.text.strip():
                    body.append(shape.text_frame.text.strip())
                if getattr(shape, "has_table", False) and shape.has_table:
                    for row in shape.table.rows:
                        cells = [cell.text.strip() for cell in row.cells]
                        body.append(" | ".join(cells))
            if slide.has_notes_slide:
                notes = slide.notes_slide.notes_text_frame.text.strip()
                if notes:
                    body.append(f"Speaker notes: {notes}")
            text = "\n".join(body).strip() or slide_title
            if not text:
                continue
            label = f"slide {number}" + (f": {slide_title}" if slide_title else "")
            path_ = (deck_title, slide_title) if slide_title else (deck_title,)
            sections.append(Section(text, path_, Anchor("slide", str(number), label)))
        if not sections:
            raise LoadError(f"no text on any of {len(deck.slides)} slide(s)")
        return LoadedDocument(deck_title, sections, self.name)
