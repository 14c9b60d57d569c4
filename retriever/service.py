"""The search service: validated requests against published course indexes.

One instance per process. Indexes are loaded on first use and reloaded when
``studyhall ingest`` publishes a new version (a cheap read of the course's ``CURRENT``
pointer per request), so a running server never needs a restart after an ingest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

from ingest.catalog import Catalog
from ingest.embedder import Embedder, SentenceTransformerEmbedder
from ingest.store import CourseIndex, IndexMismatch, Manifest
from retriever.base import Filters, Hit
from retriever.bm25 import Bm25Retriever
from retriever.dense import DenseRetriever, QueryEncoder
from retriever.hybrid import HybridRetriever
from retriever.mmr import mmr as mmr_rerank
from studyhall.core.database import Database
from studyhall.core.errors import InvalidRequest, QueryTooLong, text_problem
from studyhall.core.settings import RetrievalMode, Settings

log = logging.getLogger(__name__)

MODES: tuple[str, ...] = get_args(RetrievalMode)
# What an eval compares: each mode, alone or re-ranked by MMR ("hybrid+mmr").
CONFIGS: tuple[str, ...] = (*MODES, *(f"{mode}+mmr" for mode in MODES))


@dataclass(frozen=True)
class RetrievalConfig:
    """A retrieval mode with or without MMR, written ``MODE`` or ``MODE+mmr``."""

    mode: str
    mmr: bool = False

    @classmethod
    def parse(cls, spec: str) -> RetrievalConfig:
        mode, _, extra = spec.strip().partition("+")
        if mode not in MODES or extra not in ("", "mmr"):
            raise InvalidRequest(
                "configs", f"a configuration is MODE or MODE+mmr with MODE one of "
                f"{', '.join(MODES)}; got {spec!r}")
        return cls(mode, extra == "mmr")

    def __str__(self) -> str:
        return self.mode + ("+mmr" if self.mmr else "")


@dataclass(frozen=True)
class SearchRequest:
    query: str
    course: str
    k: int
    mode: str
    mmr: bool
    filters: Filters


class SearchService:
    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or SentenceTransformerEmbedder(
            settings.embedder, batch_size=settings.ingest.embed_batch_size
        )
        self.catalog = catalog or Catalog(
            settings.courses_dir, keep_versions=settings.ingest.keep_versions,
            database=Database.of(settings.database) if settings.shared else None,
        )
        self.encode = QueryEncoder(self.embedder)
        self._indexes: dict[str, CourseIndex] = {}
        self._lock = threading.Lock()

    # --- courses -------------------------------------------------------------------

    def courses(self) -> list[Manifest]:
        return self.catalog.manifests()

    def index(self, course_id: str) -> CourseIndex:
        """The course's published index, reloaded if a newer version was published."""
        version = self.catalog.require(course_id)
        cached = self._indexes.get(course_id)
        if cached is not None and cached.directory == version:
            return cached
        with self._lock:
            cached = self._indexes.get(course_id)
            if cached is None or cached.directory != version:
                log.info("loading course %s version %s", course_id, version.name)
                cached = CourseIndex.open(version, embedder=self.embedder.name)
                self._indexes[course_id] = cached
        return cached

    def warm_up(self) -> None:
        """Load the model and every course now, so the first request is not the slow one."""
        self.encode("warm-up")
        for course_id in self.catalog.course_ids():
            try:
                self._check_dimension(self.index(course_id))
            except IndexMismatch as exc:
                log.error("course %s cannot be served: %s", course_id, exc)

    # --- search --------------------------------------------------------------------

    def validate(
        self,
        query: str,
        course: str,
        k: int | None = None,
        mode: str | None = None,
        mmr: bool = False,
        documents: Sequence[str] = (),
        lessons: Sequence[str] = (),
        *,
        field: str = "query",
    ) -> SearchRequest:
        """The request, checked; ``field`` names the query in messages (``question`` for an
        answer)."""
        limits = self.settings.retrieval
        if not isinstance(query, str) or not query.strip():
            raise InvalidRequest(field, f"{field} must not be empty")
        if len(query) > limits.max_query_chars:
            raise QueryTooLong(
                field,
                f"{field} is {len(query):,} characters; the limit is {limits.max_query_chars:,}",
            )
        problem = text_problem(query)
        if problem:
            raise InvalidRequest(field, f"{field} {problem}")
        k = limits.default_k if k is None else k
        if not 1 <= k <= limits.max_k:
            raise InvalidRequest("k", f"k must be between 1 and {limits.max_k}, got {k}")
        mode = mode or limits.mode
        if mode not in MODES:
            raise InvalidRequest("mode", f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        index = self.index(course)  # raises UnknownCourse
        known_docs = index.manifest.files
        for doc in documents:
            if doc not in known_docs:
                raise InvalidRequest(
                    "documents", f"course {course!r} has no document {doc!r}; "
                    f"documents look like {next(iter(known_docs), '')!r}"
                )
        known_lessons = {e.lesson.casefold() for e in known_docs.values()} | {
            e.title.casefold() for e in known_docs.values()
        }
        for lesson in lessons:
            if lesson.casefold() not in known_lessons:
                raise InvalidRequest(
                    "lessons", f"course {course!r} has no lesson {lesson!r} (give a file "
                    "stem such as '03-ai-ml-dl-and-genai' or a lesson title)"
                )
        filters = Filters(tuple(documents), tuple(lessons))
        return SearchRequest(query.strip(), course, k, mode, mmr, filters)

    def search(self, query: str, course: str, k: int | None = None, mode: str | None = None,
               mmr: bool = False, documents: Sequence[str] = (),
               lessons: Sequence[str] = ()) -> list[Hit]:
        request = self.validate(query, course, k, mode, mmr, documents, lessons)
        return self.run(request)

    def run(self, request: SearchRequest) -> list[Hit]:
        index = self.index(request.course)
        retriever = self.retriever(index, request.mode)
        depth = max(request.k, self.settings.retrieval.candidates) if request.mmr else request.k
        hits = retriever.search(request.query, depth, request.filters)
        if request.mode == "bm25" and not request.mmr:
            return hits
        query_vector = self.encode(request.query)
        hits = self._with_dense_scores(hits, query_vector, index)
        if request.mmr:
            hits = mmr_rerank(
                query_vector, hits, index, request.k, self.settings.retrieval.mmr_lambda
            )
        return hits

    def retriever(self, index: CourseIndex, mode: str):
        if mode == "bm25":
            return Bm25Retriever(index)
        self._check_dimension(index)
        dense = DenseRetriever(index, self.encode)
        if mode == "dense":
            return dense
        limits = self.settings.retrieval
        return HybridRetriever(
            dense, Bm25Retriever(index), rrf_k=limits.rrf_k, candidates=limits.candidates,
            lexical_weight=limits.bm25_weight, code_weight=limits.code_weight,
        )

    def _check_dimension(self, index: CourseIndex) -> None:
        if index.manifest.dimension != self.embedder.dimension:
            raise IndexMismatch(
                f"course {index.course_id!r} holds {index.manifest.dimension}-d vectors but "
                f"embedder {self.embedder.name!r} makes {self.embedder.dimension}-d ones. "
                f"Rebuild it with `studyhall ingest PATH --course {index.course_id} --rebuild`"
            )

    @staticmethod
    def _with_dense_scores(hits: list[Hit], query_vector, index: CourseIndex) -> list[Hit]:
        """Fill in the cosine of hits that only BM25 found: callers use it as a confidence."""
        if all(h.dense_score is not None for h in hits):
            return hits
        return [
            h if h.dense_score is not None else Hit(
                h.chunk, h.score, h.rank,
                float(index.vectors[index.row_of[h.chunk.id]] @ query_vector), h.bm25_score,
            )
            for h in hits
        ]


__all__ = ["CONFIGS", "MODES", "RetrievalConfig", "SearchService", "SearchRequest"]
