"""One published index version of a course, on disk and in memory.

A version is a directory holding:

- ``chunks.sqlite``: the chunk store (row number = FAISS id) and the file table;
- ``vectors.npy``: the unit embedding of every chunk, in row order (kept so that an
  incremental re-ingest can reuse vectors and MMR can compare hits);
- ``dense.faiss`` and ``bm25/``: the two search indexes;
- ``manifest.json``: embedder name and dimension, chunking settings, every source
  file's SHA-256. Written last: a directory without it is not a version.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from ingest.documents import Anchor, Chunk
from ingest.lexical import Bm25Index, spelled_out
from ingest.vectors import build_index, index_kind, load_index, save_index
from studyhall.core.errors import Conflict

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class FileEntry(BaseModel):
    sha256: str
    title: str
    loader: str
    lesson: str
    chunks: int
    order: int


class Manifest(BaseModel):
    format: int = FORMAT_VERSION
    course_id: str
    title: str
    description: str = ""
    licence: str = ""
    embedder: str
    dimension: int
    index_kind: str
    chunk_tokens: int
    overlap_tokens: int
    chunk_count: int
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    files: dict[str, FileEntry]


class IndexMismatch(Conflict):
    """The stored index was built with a different embedder or dimension."""


_SCHEMA = """
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    lesson TEXT NOT NULL,
    title TEXT NOT NULL,
    heading_path TEXT NOT NULL,
    anchor_kind TEXT NOT NULL,
    anchor_ref TEXT NOT NULL,
    anchor_label TEXT NOT NULL,
    text TEXT NOT NULL,
    embed_text TEXT NOT NULL
);
CREATE INDEX chunks_source ON chunks(source);
CREATE TABLE files (
    source TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    title TEXT NOT NULL,
    loader TEXT NOT NULL,
    lesson TEXT NOT NULL,
    chunks INTEGER NOT NULL,
    ord INTEGER NOT NULL
);
"""


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_version(
    directory: Path,
    manifest: Manifest,
    chunks: list[Chunk],
    vectors: np.ndarray,
    *,
    index_kind_setting: str = "auto",
    hnsw_above: int = 50_000,
) -> Manifest:
    """Write a complete version into an empty ``directory``; the manifest goes last."""
    if vectors.shape != (len(chunks), manifest.dimension):
        raise ValueError(
            f"vectors have shape {vectors.shape}, expected ({len(chunks)}, {manifest.dimension})"
        )
    directory.mkdir(parents=True, exist_ok=False)
    with sqlite3.connect(directory / "chunks.sqlite") as db:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (row, c.id, c.source, c.lesson, c.title, json.dumps(list(c.heading_path)),
                 c.anchor.kind, c.anchor.ref, c.anchor.label, c.text, c.embed_text)
                for row, c in enumerate(chunks)
            ],
        )
        db.executemany(
            "INSERT INTO files VALUES (?,?,?,?,?,?,?)",
            [(s, f.sha256, f.title, f.loader, f.lesson, f.chunks, f.order)
             for s, f in manifest.files.items()],
        )
    db.close()
    np.save(directory / "vectors.npy", vectors)
    index = build_index(vectors, index_kind_setting, hnsw_above)
    save_index(index, directory / "dense.faiss")
    Bm25Index.build([c.embed_text for c in chunks]).save(directory / "bm25")
    manifest = manifest.model_copy(update={"index_kind": index_kind(index)})
    for path in directory.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    (directory / MANIFEST).write_text(manifest.model_dump_json(indent=2))
    with open(directory / MANIFEST, "rb") as fh:
        os.fsync(fh.fileno())
    fsync_dir(directory)
    return manifest


def read_manifest(directory: Path) -> Manifest:
    return Manifest.model_validate_json((directory / MANIFEST).read_text())


def read_chunks(directory: Path, course_id: str) -> list[Chunk]:
    uri = f"file:{directory / 'chunks.sqlite'}?mode=ro"
    db = sqlite3.connect(uri, uri=True)
    try:
        rows = db.execute(
            "SELECT id, source, lesson, title, heading_path, anchor_kind, anchor_ref, "
            "anchor_label, text, embed_text FROM chunks ORDER BY row"
        ).fetchall()
    finally:
        db.close()
    return [
        Chunk(
            id=cid, course=course_id, source=source, title=title,
            heading_path=tuple(json.loads(path)), anchor=Anchor(kind, ref, label),
            text=text, embed_text=embed_text, lesson=lesson,
        )
        for cid, source, lesson, title, path, kind, ref, label, text, embed_text in rows
    ]


MAX_ACRONYM = 8  # longer runs of capitals are not looked for spelled out
MAX_SPELLED = 4096  # acronyms remembered per index


class CourseIndex:
    """A loaded version: chunks, vectors and both search indexes, held in memory."""

    def __init__(self, directory: Path, manifest: Manifest, chunks: list[Chunk],
                 vectors: np.ndarray, dense, bm25: Bm25Index) -> None:
        self.directory = directory
        self.manifest = manifest
        self.chunks = chunks
        self.vectors = vectors
        self.dense = dense
        self.bm25 = bm25
        self._spelled: dict[str, bool] = {}

    @property
    def course_id(self) -> str:
        return self.manifest.course_id

    @cached_property
    def row_of(self) -> dict[str, int]:
        """Chunk id → row (FAISS id, position in ``chunks`` and ``vectors``)."""
        return {chunk.id: row for row, chunk in enumerate(self.chunks)}

    def mentions(self, name: str) -> bool:
        """Whether the course's text uses ``name``: a word its lexical index knows, or an
        acronym the text or a heading spells out (MSE where it says "mean squared error";
        read once per acronym)."""
        if self.bm25.knows(name):
            return True
        if name.endswith("s") and name[:-1].isupper():  # MLPs, GANs: the acronym's plural
            name = name[:-1]
        if not (name.isalpha() and name.isupper() and len(name) <= MAX_ACRONYM):
            return False
        if name not in self._spelled:
            if len(self._spelled) >= MAX_SPELLED:  # strangers' acronyms cannot grow it
                self._spelled.clear()
            pattern = spelled_out(name)
            self._spelled[name] = any(pattern.search(chunk.embed_text) for chunk in self.chunks)
        return self._spelled[name]

    @classmethod
    def open(cls, directory: Path, *, embedder: str | None = None,
             dimension: int | None = None) -> CourseIndex:
        """Load a version; refuse it if it was built with another embedder or dimension."""
        manifest = read_manifest(directory)
        check_compatible(manifest, embedder, dimension)
        chunks = read_chunks(directory, manifest.course_id)
        vectors = np.load(directory / "vectors.npy")
        dense = load_index(directory / "dense.faiss")
        bm25 = Bm25Index.load(directory / "bm25", len(chunks))
        if not (len(chunks) == vectors.shape[0] == dense.ntotal == manifest.chunk_count):
            raise IndexMismatch(
                f"index version {directory.name} of {manifest.course_id!r} is inconsistent: "
                f"{len(chunks)} chunks, {vectors.shape[0]} vectors, {dense.ntotal} in FAISS"
            )
        return cls(directory, manifest, chunks, vectors, dense, bm25)


def check_compatible(manifest: Manifest, embedder: str | None, dimension: int | None) -> None:
    if embedder is not None and manifest.embedder != embedder:
        raise IndexMismatch(
            f"course {manifest.course_id!r} was indexed with embedder {manifest.embedder!r} "
            f"({manifest.dimension}-d) but {embedder!r} is configured. Rebuild it with "
            f"`studyhall ingest PATH --course {manifest.course_id} --rebuild`, or set "
            f"STUDYHALL_EMBEDDER={manifest.embedder}"
        )
    if dimension is not None and manifest.dimension != dimension:
        raise IndexMismatch(
            f"course {manifest.course_id!r} holds {manifest.dimension}-d vectors but the "
            f"configured embedder makes {dimension}-d ones. Rebuild it with "
            f"`studyhall ingest PATH --course {manifest.course_id} --rebuild`"
        )
