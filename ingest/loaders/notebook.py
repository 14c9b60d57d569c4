"""Jupyter notebooks: one section per cell, anchored by cell number and kind.

Markdown headings in a cell set the heading path for the cells that follow, so a code
cell is found under the explanation it belongs to. A code cell is code: it carries the
notebook's language (its kernel's, else Python), so the chunker fences it and keeps it
whole like a code block in Markdown. Outputs are not indexed.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from ingest.documents import Anchor, LoadedDocument, Section
from ingest.loaders.base import LoadError, read_text, title_from_filename
from ingest.loaders.markdown import split_headings


def notebook_language(metadata: dict) -> str:
    """The language of a notebook's code cells, as a fence names it (``python``, ``r``)."""
    for key, field in (("language_info", "name"), ("kernelspec", "language")):
        value = (metadata.get(key) or {}).get(field) if isinstance(metadata, dict) else None
        if isinstance(value, str) and re.fullmatch(r"[A-Za-z][\w+#.-]{0,23}", value.strip()):
            return value.strip().lower()
    return "python"


class NotebookLoader:
    name = "notebook"
    suffixes = (".ipynb",)

    def load(self, path: Path) -> LoadedDocument:
        try:
            nb = nbformat.reads(read_text(path), as_version=4)
        except LoadError:
            raise
        except Exception as exc:  # nbformat raises several unrelated types
            raise LoadError(f"not a valid notebook: {exc}".splitlines()[0]) from None

        title = title_from_filename(path)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                first_title, _ = split_headings(cell.source, "")
                if first_title:
                    title = first_title
                break

        language = notebook_language(nb.get("metadata", {}))
        sections: list[Section] = []
        stack: list[tuple[int, str]] = []  # the headings in force: (level, text)
        for number, cell in enumerate(nb.cells, start=1):
            source = cell.get("source", "")
            if cell.cell_type not in ("markdown", "code") or not source.strip():
                continue
            body = source
            if cell.cell_type == "markdown":
                body = self._apply_headings(source, stack)
            path = tuple(h for _, h in stack) or (title,)
            if path[0] != title:
                path = (title, *path)
            if not body.strip():
                continue
            anchor = Anchor("cell", str(number), f"cell {number} ({cell.cell_type})")
            code = language if cell.cell_type == "code" else None
            sections.append(Section(body.strip(), path, anchor, cell_type=cell.cell_type,
                                    language=code))
        if not sections:
            raise LoadError("empty notebook: no markdown or code cells with text")
        return LoadedDocument(title, sections, self.name)

    @staticmethod
    def _apply_headings(source: str, stack: list[tuple[int, str]]) -> str:
        """Update the heading stack with the cell's headings; return its non-heading text."""
        kept: list[str] = []
        in_fence = False
        for line in source.splitlines():
            stripped = line.lstrip()
            if stripped.startswith(("```", "~~~")):
                in_fence = not in_fence
            hashes = len(stripped) - len(stripped.lstrip("#"))
            if not in_fence and 1 <= hashes <= 6 and stripped[hashes:hashes + 1] == " ":
                while stack and stack[-1][0] >= hashes:
                    stack.pop()
                stack.append((hashes, stripped[hashes:].strip()))
            else:
                kept.append(line)
        return "\n".join(kept)
