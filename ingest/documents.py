"""The units that flow through ingestion: a loader yields Sections, the chunker cuts
them into Chunks. Both carry an Anchor: the place in the source a student can open."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

AnchorKind = Literal["section", "page", "slide", "cell", "time", "line"]


@dataclass(frozen=True)
class Anchor:
    """Where a passage sits in its source file.

    ``ref`` is machine-usable and becomes a URL fragment in the conventions readers
    already know: ``#page=3`` (PDF open parameters), ``#t=62`` (media fragments),
    ``#section=adversarial-training``, ``#slide=5``, ``#cell=4``, ``#line=12``.
    ``label`` is what a person reads: "page 3", "cell 4 (code)", "00:01:02–00:01:30".
    """

    kind: AnchorKind
    ref: str
    label: str

    @property
    def fragment(self) -> str:
        return f"{self.kind}={self.ref}"


@dataclass(frozen=True)
class Section:
    """One structural unit of a source file: a heading's section, a page, a slide, a
    notebook cell, a window of subtitle cues. It may be longer than a chunk."""

    text: str
    heading_path: tuple[str, ...]
    anchor: Anchor
    # For plain text: the 1-based line the section starts on, so chunks can be anchored
    # to their own line.
    start_line: int | None = None
    # For notebook cells: "markdown" or "code".
    cell_type: str | None = None
    # For source code: its language; each chunk of it is shown and embedded in a fence.
    language: str | None = None


@dataclass(frozen=True)
class LoadedDocument:
    """What a loader returns for one file."""

    title: str
    sections: list[Section]
    loader: str


@dataclass(frozen=True)
class Chunk:
    """A passage small enough for the embedder, with everything a citation needs.

    ``text`` is what is shown; ``embed_text`` is what the embedder and BM25 see: the
    course › lesson › section path followed by the text.
    """

    id: str
    course: str
    source: str
    title: str
    heading_path: tuple[str, ...]
    anchor: Anchor
    text: str
    embed_text: str
    lesson: str = field(default="")

    @property
    def location(self) -> str:
        """``source#fragment``: a link a reader can follow."""
        return f"{self.source}#{self.anchor.fragment}"


def chunk_id(source: str, anchor: Anchor, text: str) -> str:
    """Stable id: the same text at the same place in the same file gets the same id."""
    digest = hashlib.sha256(f"{source}\x00{anchor.kind}\x00{anchor.ref}\x00{text}".encode())
    return digest.hexdigest()[:20]


def slugify(heading: str) -> str:
    """``"Why GAN training is unstable"`` → ``"why-gan-training-is-unstable"``."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text.lower())
    return re.sub(r"[\s_-]+", "-", text).strip("-") or "section"


def format_timestamp(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
