"""What every retriever returns, and the filters every retriever honours."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ingest.documents import Chunk
from ingest.store import CourseIndex


@dataclass(frozen=True)
class Filters:
    """Keep only hits from these documents (source paths) or lessons (file stem or title).

    Empty tuples mean no restriction.
    """

    documents: tuple[str, ...] = ()
    lessons: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.documents or self.lessons)

    def allows(self, chunk: Chunk) -> bool:
        if self.documents and chunk.source not in self.documents:
            return False
        if self.lessons:
            wanted = {lesson.casefold() for lesson in self.lessons}
            return chunk.lesson.casefold() in wanted or chunk.title.casefold() in wanted
        return True

    def allowed_rows(self, index: CourseIndex) -> np.ndarray | None:
        """Row numbers that pass, or None when every row does."""
        if not self:
            return None
        return np.array(
            [row for row, chunk in enumerate(index.chunks) if self.allows(chunk)], dtype=np.int64
        )


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # what this hit was ranked by (cosine, BM25 or fused score)
    rank: int  # 1-based
    dense_score: float | None = None  # cosine similarity to the question, when known
    bm25_score: float | None = None


class Retriever(Protocol):
    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]: ...


def ranked(scored: list[tuple[float, int]], k: int) -> list[tuple[float, int]]:
    """Best first; equal scores fall back to row order, so ties rank the same every run."""
    return sorted(scored, key=lambda item: (-item[0], item[1]))[:k]

