"""Structure-aware chunking.

Loaders already cut a file at its structure (headings, pages, slides, cells); the
chunker only splits a section further when it is longer than the embedder can read.
Code is kept whole where prose is cut: a fenced block up to the embedder's window (cut
between lines past it, each piece fenced again), and source files' sections likewise.
The course › lesson › section path is prepended to the text that is embedded and
BM25-indexed, never to the text shown, and the split leaves room for it: no chunk's
embedded text is cut off at the embedder's word-piece limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.cleaning import drop_payloads, is_language
from ingest.documents import Anchor, Chunk, LoadedDocument, Section, chunk_id

_FENCE_LINE = re.compile(r"^\s*(?:`{3,}|~{3,})")
PATH_SEPARATOR = " › "
_SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
# A section path so long that it leaves less than this for text is cut down instead.
MIN_BODY_TOKENS = 32


def fenced(code: str, language: str) -> str:
    """``code`` in a fence naming its language; the fence is longer than any run of
    backticks inside, so code that writes a fence itself stays one block."""
    runs = [len(run) for run in re.findall(r"`{3,}", code)]
    fence = "`" * max([3, *(n + 1 for n in runs)])
    return f"{fence}{language}\n{code}\n{fence}"


def shown(section: Section) -> str:
    """A section's text as a chunk shows it: code in a fence with its language."""
    return fenced(section.text, section.language) if section.language else section.text


def open_fence(text: str) -> bool:
    """Whether ``text`` opens a code fence it does not close (a cut went through it)."""
    return _scan(text)[1] is not None


def blocks(text: str) -> list[tuple[bool, str]]:
    """``text`` as runs of prose and fenced code blocks, in order: (is_code, run)."""
    return _scan(text)[0]


def _scan(text: str) -> tuple[list[tuple[bool, str]], str | None]:
    """The runs of :func:`blocks` and the fence still open at the end (None if none).
    As in CommonMark, a fence is closed by a line of at least as many of its character
    and nothing else, so a longer fence can hold a shorter one."""
    out: list[tuple[bool, str]] = []
    run: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        mark = _FENCE_LINE.match(line)
        if fence is None and mark:
            if run:
                out.append((False, "\n".join(run)))
            run, fence = [line], mark.group().strip()
        elif fence is not None and mark and len(line.strip()) >= len(fence) and not (
                line.strip().strip(fence[0])):
            out.append((True, "\n".join([*run, line])))
            run, fence = [], None
        else:
            run.append(line)
    if run:  # a fence never closed is read as prose
        out.append((False, "\n".join(run)))
    return out, fence


class Chunker:
    """Cuts a loaded document's sections into chunks that fit the embedder.

    ``count_tokens`` counts word-pieces without special tokens; ``max_tokens`` is the
    embedder's limit including them (two for BERT-style [CLS] … [SEP]).
    """

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        *,
        max_tokens: int,
        chunk_tokens: int = 200,
        overlap_tokens: int = 40,
        special_tokens: int = 2,
        clean: bool = True,
    ) -> None:
        if chunk_tokens <= 0:
            raise ValueError(f"chunk_tokens must be > 0, got {chunk_tokens}")
        if not 0 <= overlap_tokens < chunk_tokens:
            raise ValueError(
                f"overlap_tokens must be in [0, chunk_tokens), got {overlap_tokens}"
            )
        if max_tokens - special_tokens < MIN_BODY_TOKENS:
            raise ValueError(f"max_tokens must be > {MIN_BODY_TOKENS + special_tokens}")
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens
        self.special_tokens = special_tokens
        self._splitters: dict[int, RecursiveCharacterTextSplitter] = {}
        self.not_language = 0  # sections and pieces left out as payload, over all documents
        self.clean = clean  # False: index payloads too (bench.ingest_probe's "before")

    def _splitter(self, budget: int) -> RecursiveCharacterTextSplitter:
        if budget not in self._splitters:
            self._splitters[budget] = RecursiveCharacterTextSplitter(
                chunk_size=budget,
                chunk_overlap=min(self.overlap_tokens, budget // 2),
                length_function=self.count_tokens,
                separators=_SEPARATORS,
                keep_separator="end",
            )
        return self._splitters[budget]

    def context_prefix(self, course_title: str, heading_path: tuple[str, ...]) -> str:
        """The path a chunk is embedded under, cut so that text still fits after it."""
        prefix = PATH_SEPARATOR.join((course_title, *heading_path))
        room = self.max_tokens - self.special_tokens - MIN_BODY_TOKENS
        while self.count_tokens(prefix) > room and len(prefix) > 16:
            prefix = prefix[: int(len(prefix) * 0.8)].rstrip() + "…"
        return prefix

    def split_section(self, section: Section, prefix: str) -> list[str]:
        room = self.max_tokens - self.special_tokens - self.count_tokens(prefix + "\n\n")
        if section.language:  # each piece is put in a fence (see chunk)
            room -= self.count_tokens(fenced("", section.language))
        # code is kept whole up to the embedder's window, prose is cut at the chunk size
        budget = room if section.language else min(self.chunk_tokens, room)
        text = section.text.strip()
        if self.count_tokens(text) <= budget:
            return [text]
        pieces = [piece.strip() for piece in self._splitter(budget).split_text(text)
                  if piece.strip()]
        if any(open_fence(piece) for piece in pieces):  # a cut went through a code block
            return self.split_keeping_code(text, budget, room)
        return pieces

    def split_keeping_code(self, text: str, budget: int, room: int) -> list[str]:
        """Prose cut at ``budget`` as usual; each fenced code block kept whole up to the
        embedder's ``room``, or cut between lines with every piece fenced again; a
        piece joins the one before it while both fit."""
        pieces: list[str] = []
        for is_code, block in blocks(text):
            if not is_code:
                fits = self.count_tokens(block) <= budget
                pieces += [block.strip()] if fits else [
                    p.strip() for p in self._splitter(budget).split_text(block) if p.strip()]
                continue
            if self.count_tokens(block) <= room:
                pieces.append(block)
                continue
            opening, *body, closing = block.splitlines()
            inner = room - self.count_tokens(f"{opening}\n\n{closing}")
            lines: list[str] = []
            for line in body:
                if lines and self.count_tokens("\n".join([*lines, line])) > inner:
                    pieces.append("\n".join([opening, *lines, closing]))
                    lines = []
                if self.count_tokens(line) > inner:  # one line past the window: cut it too
                    pieces += ["\n".join([opening, part, closing])
                               for part in self._splitter(inner).split_text(line)]
                    continue
                lines.append(line)
            if lines:
                pieces.append("\n".join([opening, *lines, closing]))
        merged: list[str] = []
        for piece in (p for p in pieces if p.strip()):
            if merged:
                joined = f"{merged[-1]}\n\n{piece}"
                limit = room if "```" in joined or "~~~" in joined else budget
                if self.count_tokens(joined) <= limit:
                    merged[-1] = joined
                    continue
            merged.append(piece)
        return merged

    def merge_cells(self, sections: list[Section], course_title: str) -> list[Section]:
        """Pack consecutive notebook cells under one heading into one section while they
        fit a chunk: an explanation and the code it explains are found together."""
        merged: list[Section] = []
        run: list[Section] = []

        def flush() -> None:
            if not run:
                return
            if len(run) == 1:
                merged.append(run[0])
            else:
                first, last = run[0].anchor, run[-1].anchor
                kinds = " + ".join(dict.fromkeys(s.cell_type or "cell" for s in run))
                anchor = Anchor(
                    "cell", f"{first.ref}-{last.ref}", f"cells {first.ref}–{last.ref} ({kinds})"
                )
                text = "\n\n".join(shown(s) for s in run)  # code cells fenced inside
                merged.append(Section(text, run[0].heading_path, anchor))
            run.clear()

        for section in sections:
            if section.anchor.kind != "cell":
                flush()
                merged.append(section)
                continue
            if run and run[-1].heading_path == section.heading_path:
                prefix = self.context_prefix(course_title, section.heading_path)
                budget = min(self.chunk_tokens, self.max_tokens - self.special_tokens
                             - self.count_tokens(prefix + "\n\n"))
                candidate = "\n\n".join(shown(s) for s in [*run, section])
                if self.count_tokens(candidate) <= budget:
                    run.append(section)
                    continue
            flush()
            run.append(section)
        flush()
        return merged

    def chunk(
        self,
        document: LoadedDocument,
        *,
        course_id: str,
        course_title: str,
        source: str,
        lesson: str = "",
    ) -> list[Chunk]:
        chunks: list[Chunk] = []
        seen: dict[str, int] = {}
        # only language is indexed (ingest/cleaning.py): payloads leave the text, and a
        # section or piece that is still mostly payload is left out, before cells are merged
        sections = []
        for section in document.sections:
            text = drop_payloads(section.text) if self.clean else section.text
            if not text.strip():
                continue
            if self.clean and not is_language(text):
                self.not_language += 1
                continue
            sections.append(replace(section, text=text))
        for section in self.merge_cells(sections, course_title):
            prefix = self.context_prefix(course_title, section.heading_path)
            cursor = 0
            pieces = self.split_section(section, prefix)
            language = [piece for piece in pieces if not self.clean or is_language(piece)]
            self.not_language += len(pieces) - len(language)
            for piece in language:
                anchor = section.anchor
                if anchor.kind == "line" and section.start_line is not None:
                    found = section.text.find(piece[:80], cursor)
                    if found >= 0:
                        cursor = found + 1
                        line = section.start_line + section.text.count("\n", 0, found)
                        anchor = Anchor("line", str(line), f"line {line}")
                if section.language:  # code stays code in every piece of it
                    piece = fenced(piece, section.language)
                cid = chunk_id(source, anchor, piece)
                # The same passage twice at one place (a repeated slide text) still gets
                # distinct, stable ids: the n-th copy is numbered.
                copies = seen.get(cid, 0)
                seen[cid] = copies + 1
                if copies:
                    cid = f"{cid}-{copies}"
                chunks.append(
                    Chunk(
                        id=cid,
                        course=course_id,
                        source=source,
                        title=document.title,
                        heading_path=section.heading_path,
                        anchor=anchor,
                        text=piece,
                        embed_text=f"{prefix}\n\n{piece}",
                        lesson=lesson,
                    )
                )
        return chunks
