"""Ingesting a folder or a file into a course: incremental, atomic, honest about failures.

- A folder is the whole course: files gone from it disappear from the index. A single
  file is added to (or replaces its copy in) the course; the other files stay.
- A file whose SHA-256 and chunking settings are unchanged keeps its chunks and vectors;
  a changed file is re-chunked, and only chunks whose embedded text is new are embedded.
- A file that cannot be read is skipped with the reason; if an earlier version of it was
  ingested, that version is kept. The run fails only when nothing could be ingested.
- The new version is written beside the old one and published atomically
  (:mod:`ingest.catalog`); if nothing changed, nothing is written.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ingest.catalog import Catalog, validate_course_id
from ingest.chunking import Chunker
from ingest.documents import Chunk, LoadedDocument
from ingest.embedder import Embedder
from ingest.loaders import LoadError, UnsupportedFormat, loader_for
from ingest.markup import labels_of_files, reduce_document
from ingest.progress import Mode
from ingest.progress import progress as progress_bar
from ingest.sandbox import Limits, check_size, shared_sandbox
from ingest.selection import Selection, files, group_left_out, group_skipped
from ingest.store import (
    CourseIndex,
    FileEntry,
    IndexMismatch,
    Manifest,
    check_compatible,
    write_version,
)
from studyhall.core.errors import NoSpace, StudyhallError, out_of_space
from studyhall.core.hashing import sha256_file
from studyhall.core.settings import IngestSettings

log = logging.getLogger(__name__)

COURSE_FILE = "course.yaml"
EMBED_BATCH = 256  # chunks per progress-bar step


class IngestError(StudyhallError):
    """Nothing could be ingested, or the input is not something to ingest."""


@dataclass(frozen=True)
class CourseMeta:
    title: str | None = None
    description: str = ""
    licence: str = ""
    lessons: tuple[str, ...] = ()
    selection: Selection = Selection()
    frameworks: tuple[str, ...] = ()  # of a book's per-framework tabs, the ones to keep

    @classmethod
    def read(cls, folder: Path) -> CourseMeta:
        path = folder / COURSE_FILE
        if not path.is_file():
            return cls()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise IngestError(f"{path}: invalid course file: {exc}") from None
        if not isinstance(data, dict):
            raise IngestError(f"{path}: expected a mapping of keys to values")
        return cls(
            title=str(data["title"]) if data.get("title") else None,
            description=str(data.get("description") or "").strip(),
            licence=str(data.get("licence") or data.get("license") or ""),
            lessons=tuple(str(p) for p in data.get("lessons") or ()),
            selection=Selection(include=_patterns(data, "include", path),
                                exclude=_patterns(data, "exclude", path),
                                defaults=bool(data.get("default_exclude", True))),
            frameworks=tuple(f.lower() for f in _patterns(data, "frameworks", path)),
        )


def _patterns(data: dict, key: str, path: Path) -> tuple[str, ...]:
    value = data.get(key) or ()
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip()
                                                      for v in value):
        raise IngestError(f"{path}: {key!r} must be a list of glob patterns, got {value!r}")
    return tuple(v.strip() for v in value)


@dataclass
class IngestReport:
    course_id: str
    version: str | None = None  # None: the index was already up to date
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # source → reason
    left_out: dict[str, str] = field(default_factory=dict)  # not course material → why
    kept_previous: list[str] = field(default_factory=list)
    chunks: int = 0
    not_language: int = 0  # chunks left out as mostly not language (base64, hex, ...)
    embedded: int = 0
    reused_vectors: int = 0
    seconds: float = 0.0

    @property
    def up_to_date(self) -> bool:
        return self.version is None

    def summary(self) -> str:
        state = "already up to date" if self.up_to_date else f"published version {self.version}"
        return (
            f"course {self.course_id!r}: {state}; files: {len(self.added)} added, "
            f"{len(self.changed)} changed, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.skipped)} skipped; chunks: {self.chunks} "
            f"({self.embedded} embedded, {self.reused_vectors} reused"
            + (f", {self.not_language} left out as not language" if self.not_language else "")
            + f") in {self.seconds:.1f}s"
        )

    def skipped_lines(self, verbose: bool = False) -> list[str]:
        """What was not ingested, grouped by why: one line a group, a few names for files
        a loader failed on; ``verbose``: every file, with its reason."""
        if verbose:
            lines = [f"skipped {source}: {reason}" + (
                " (kept the previously ingested version)" if source in self.kept_previous
                else "") for source, reason in self.skipped.items()]
            return lines + [f"left out {source}: {why}" for source, why in self.left_out.items()]
        lines = []
        if self.skipped:
            groups = group_skipped(self.skipped)
            lines.append(f"skipped {files(len(self.skipped))}: " + "; ".join(
                group.line(names=0 if group.by_suffix else 3) for group in groups))
        if self.kept_previous:
            lines.append(f"kept the previous version of {len(self.kept_previous)}: "
                         + ", ".join(self.kept_previous[:5])
                         + (", …" if len(self.kept_previous) > 5 else ""))
        if self.left_out:
            lines.append(f"left out {files(len(self.left_out))}: " + "; ".join(
                group.line(names=3) for group in group_left_out(self.left_out)))
        return lines


def _counted(items: list[str], bar, postfix: Callable[[], str]):
    """``items``, ticking ``bar`` after each (with ``postfix()`` beside the count)."""
    with bar:
        for item in items:
            yield item
            bar.set_postfix_str(postfix())
            bar.update(1)


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _in_process(limits: Limits):
    """Parse in this process (the sandbox off), still refusing oversized files first."""

    def parse(path: Path) -> LoadedDocument:
        check_size(path, limits)
        return loader_for(path).load(path)

    return parse


@dataclass
class Scan:
    """A course folder, sorted: the files to read, the files of a type no loader reads
    (source → reason), and the files the selection leaves out (source → why)."""

    files: dict[str, Path] = field(default_factory=dict)
    unsupported: dict[str, str] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)


def scan(root: Path, selection: Selection | None = None) -> Scan:
    """Every file under ``root``, by path relative to it, sorted into what to read, what no
    loader reads and what ``selection`` (default: the default exclusions) leaves out.
    Hidden files and folders (``.git``, ``_build``) are not listed at all."""
    selection = selection or Selection()
    found = Scan()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or rel == COURSE_FILE:
            continue
        why = selection.left_out(rel)
        if why is not None:
            if not why.startswith("hidden"):
                found.left_out[rel] = why
            continue
        try:
            loader_for(path)
        except UnsupportedFormat as exc:
            found.unsupported[rel] = str(exc)
            continue
        found.files[rel] = path
    return found


class Ingestor:
    def __init__(self, catalog: Catalog, embedder: Embedder, settings: IngestSettings) -> None:
        self.catalog = catalog
        self.embedder = embedder
        self.settings = settings
        self.limits = Limits(timeout_s=settings.parse_timeout_s,
                             memory_mb=settings.parse_memory_mb, max_file_mb=settings.max_file_mb)
        self.parse = (shared_sandbox(self.limits).load if settings.sandbox
                      else _in_process(self.limits))

    def ingest(
        self,
        path: Path,
        course_id: str,
        *,
        title: str | None = None,
        rebuild: bool = False,
        progress: bool | Mode = False,
        include: tuple[str, ...] = (),
        exclude: tuple[str, ...] = (),
    ) -> IngestReport:
        """Ingest a folder (the whole course: the files its selection keeps, course.yaml's
        patterns and then ``include``/``exclude``) or one file (added to the course).
        ``progress``: "bar" (or True) for a terminal, "lines" for a log."""
        started = time.perf_counter()
        validate_course_id(course_id)
        path = Path(path)
        found = Scan()
        if path.is_dir():
            meta, whole_course = CourseMeta.read(path), True
            found = scan(path, meta.selection.merged(include, exclude))
            files = found.files
        elif path.is_file():
            files, meta, whole_course = {path.name: path}, CourseMeta(), False
        else:
            raise IngestError(f"{path}: no such file or folder")
        if not files:
            detail = ""
            if found.unsupported or found.left_out:
                detail = (f" ({len(found.unsupported)} of a type no loader reads, "
                          f"{len(found.left_out)} left out)")
            raise IngestError(f"{path}: no files to ingest{detail}")

        mode: Mode = "bar" if progress is True else (progress or None)
        with self.catalog.lock(course_id):
            report = self._ingest_locked(
                files, meta, course_id, title, rebuild, whole_course, mode
            )
        report.skipped.update(found.unsupported)
        report.left_out = found.left_out
        report.seconds = time.perf_counter() - started
        log.info(report.summary())
        return report

    def ingest_files(self, files: dict[str, Path], course_id: str, *,
                     on_file: Callable[[int, int, str], None] | None = None) -> IngestReport:
        """Add several files to a course (``{name in the course: path}``) as one new index
        version: all of them, or (a crash, a lost lock) none. A file that cannot be read is
        skipped with its reason, and an earlier copy of it keeps being served. ``on_file``
        hears of each file as it is read: (done, total, name)."""
        started = time.perf_counter()
        validate_course_id(course_id)
        if not files:
            raise IngestError("no files to ingest")
        with self.catalog.lock(course_id):
            report = self._ingest_locked(files, CourseMeta(), course_id, None, False, False,
                                         None, on_file)
        report.seconds = time.perf_counter() - started
        log.info(report.summary())
        return report

    def _ingest_locked(
        self,
        files: dict[str, Path],
        meta: CourseMeta,
        course_id: str,
        title: str | None,
        rebuild: bool,
        whole_course: bool,
        progress: Mode,
        on_file: Callable[[int, int, str], None] | None = None,
    ) -> IngestReport:
        report = IngestReport(course_id)
        previous = self._previous(course_id, rebuild)
        prev_manifest = previous.manifest if previous else None
        course_title = title or meta.title or (prev_manifest.title if prev_manifest else course_id)
        settings_changed = prev_manifest is None or (
            prev_manifest.chunk_tokens != self.settings.chunk_tokens
            or prev_manifest.overlap_tokens != self.settings.overlap_tokens
            or prev_manifest.title != course_title
        )
        prev_by_source: dict[str, list[int]] = {}
        if previous:
            for row, chunk in enumerate(previous.chunks):
                prev_by_source.setdefault(chunk.source, []).append(row)

        order = {lesson: n for n, lesson in enumerate(meta.lessons)}
        sources = sorted(files, key=lambda s: (order.get(s, len(order)), s))
        if not whole_course and prev_manifest:
            # A single file joins the course (or replaces its copy, in place); every other
            # file of the course stays as it was.
            sources = list(prev_manifest.files) + [s for s in files if s not in prev_manifest.files]
        chunker = Chunker(
            self.embedder.count_tokens,
            max_tokens=self.embedder.max_tokens,
            chunk_tokens=self.settings.chunk_tokens,
            overlap_tokens=self.settings.overlap_tokens,
        )

        # cross-references between files read as their target's title (ingest/markup.py);
        # collected on the first file parsed, so an unchanged re-ingest reads no file twice
        labels: dict[str, str] | None = None
        chunks: list[Chunk] = []
        reused_rows: dict[int, int] = {}  # new row → previous row, for unchanged files
        entries: dict[str, FileEntry] = {}
        reading = progress_bar(len(sources), f"reading {course_id}", "file", progress)
        for source in _counted(sources, reading, lambda: f"{len(chunks):,} chunks"):
            prev_entry = prev_manifest.files.get(source) if prev_manifest else None
            if source not in files:  # carried over from an earlier single-file ingest
                assert prev_entry is not None and previous is not None
                self._carry(previous, prev_by_source.get(source, []), chunks, reused_rows)
                entries[source] = prev_entry.model_copy(update={"order": len(entries)})
                continue
            digest = sha256_file(files[source])
            if prev_entry and prev_entry.sha256 == digest and not settings_changed:
                self._carry(previous, prev_by_source.get(source, []), chunks, reused_rows)
                entries[source] = prev_entry.model_copy(update={"order": len(entries)})
                report.unchanged.append(source)
                continue
            if on_file is not None:
                on_file(len(report.added) + len(report.changed) + len(report.skipped),
                        len(files), source)
            try:
                loader = loader_for(files[source])
                document = self.parse(files[source])
                if document.loader in ("markdown", "notebook"):
                    if labels is None:
                        labels = labels_of_files(files.values(), self.limits.max_file_mb << 20)
                    document = reduce_document(document, labels, meta.frameworks)
                lesson = Path(source).stem
                dropped = chunker.not_language
                new_chunks = chunker.chunk(
                    document, course_id=course_id, course_title=course_title,
                    source=source, lesson=lesson,
                )
                dropped = chunker.not_language - dropped
                report.not_language += dropped
                if not new_chunks:
                    raise LoadError(f"no language text: its {dropped} passages are all "
                                    "payload (base64, hex)")
            except LoadError as exc:
                report.skipped[source] = str(exc)
                log.info("skipped %s: %s", files[source], exc)  # the report groups them
                if prev_entry and previous and not settings_changed:
                    self._carry(previous, prev_by_source.get(source, []), chunks, reused_rows)
                    entries[source] = prev_entry.model_copy(update={"order": len(entries)})
                    report.kept_previous.append(source)
                continue
            chunks.extend(new_chunks)
            entries[source] = FileEntry(
                sha256=digest, title=document.title, loader=loader.name, lesson=lesson,
                chunks=len(new_chunks), order=len(entries),
            )
            (report.changed if prev_entry else report.added).append(source)

        if prev_manifest:
            report.removed = [s for s in prev_manifest.files if s not in entries]
        report.chunks = len(chunks)
        nothing_changed = (
            previous is not None
            and not (report.added or report.changed or report.removed or report.kept_previous)
            and list(entries) == list(prev_manifest.files)
        )
        if nothing_changed:
            return report
        if not chunks:
            reasons = "; ".join(f"{s}: {r}" for s, r in report.skipped.items())
            raise IngestError(
                f"nothing could be ingested into {course_id!r} "
                f"({len(report.skipped)} file(s) skipped: {reasons})"
            )

        vectors = self._vectors(chunks, reused_rows, previous, report, progress)
        manifest = Manifest(
            course_id=course_id,
            title=course_title,
            description=meta.description or (prev_manifest.description if prev_manifest else ""),
            licence=meta.licence or (prev_manifest.licence if prev_manifest else ""),
            embedder=self.embedder.name,
            dimension=int(vectors.shape[1]),
            index_kind=self.settings.index_kind,
            chunk_tokens=self.settings.chunk_tokens,
            overlap_tokens=self.settings.overlap_tokens,
            chunk_count=len(chunks),
            files=entries,
        )
        name, staged = self.catalog.new_staging_dir(course_id)
        try:
            write_version(
                staged, manifest, chunks, vectors,
                index_kind_setting=self.settings.index_kind,
                hnsw_above=self.settings.hnsw_above,
            )
        except OSError as error:
            shutil.rmtree(staged, ignore_errors=True)
            if not out_of_space(error):
                raise
            raise NoSpace(
                f"the server's disk filled while writing the new index of {course_id!r}; "
                "nothing was published and the previous version still serves") from error
        self.catalog.publish(course_id, name, staged)
        report.version = name
        return report

    def _previous(self, course_id: str, rebuild: bool) -> CourseIndex | None:
        version = self.catalog.current_version(course_id)
        if version is None or rebuild:
            return None
        previous = CourseIndex.open(version)
        try:
            check_compatible(previous.manifest, self.embedder.name, None)
        except IndexMismatch as exc:
            raise IndexMismatch(
                f"{exc}. Ingesting with another embedder needs --rebuild, which re-embeds "
                "every file"
            ) from None
        return previous

    @staticmethod
    def _carry(previous: CourseIndex | None, rows: list[int], chunks: list[Chunk],
               reused_rows: dict[int, int]) -> None:
        assert previous is not None
        for row in rows:
            reused_rows[len(chunks)] = row
            chunks.append(previous.chunks[row])

    def _vectors(
        self,
        chunks: list[Chunk],
        reused_rows: dict[int, int],
        previous: CourseIndex | None,
        report: IngestReport,
        progress: Mode,
    ) -> np.ndarray:
        """Vectors for all chunks: copied where the embedded text was seen before."""
        by_text: dict[str, int] = {}
        if previous is not None:
            by_text = {_text_key(c.embed_text): row for row, c in enumerate(previous.chunks)}
        source_row: dict[int, int] = dict(reused_rows)
        to_embed: list[int] = []
        for row, chunk in enumerate(chunks):
            if row in source_row:
                continue
            old = by_text.get(_text_key(chunk.embed_text))
            if old is not None:
                source_row[row] = old
            else:
                to_embed.append(row)

        fresh = np.zeros((0, 0), dtype=np.float32)
        if to_embed:
            # Longest first across all slices, as one encode call over everything would
            # order them, so batches pad to similar lengths.
            to_embed.sort(key=lambda row: -len(chunks[row].embed_text))
            texts = [chunks[row].embed_text for row in to_embed]
            parts = []
            bar = progress_bar(len(texts), "embedding", "chunk", progress)
            with bar:
                for start in range(0, len(texts), EMBED_BATCH):
                    parts.append(self.embedder.embed(texts[start:start + EMBED_BATCH]))
                    bar.update(len(parts[-1]))
            fresh = np.concatenate(parts)
        dim = fresh.shape[1] if to_embed else previous.vectors.shape[1]
        if previous is not None and previous.vectors.shape[1] != dim:
            raise IndexMismatch(
                f"the configured embedder makes {dim}-d vectors but course "
                f"{previous.course_id!r} holds {previous.vectors.shape[1]}-d ones; use --rebuild"
            )
        vectors = np.empty((len(chunks), dim), dtype=np.float32)
        for row, old in source_row.items():
            vectors[row] = previous.vectors[old]
        for n, row in enumerate(to_embed):
            vectors[row] = fresh[n]
        report.embedded = len(to_embed)
        report.reused_vectors = len(source_row)
        return vectors
