"""Lexical retrieval: BM25 over the chunk text and its course › lesson › section path."""

from __future__ import annotations

import numpy as np

from ingest.store import CourseIndex
from retriever.base import Filters, Hit, ranked


class Bm25Retriever:
    def __init__(self, index: CourseIndex) -> None:
        self.index = index

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        scores = self.index.bm25.scores(query)
        rows = np.flatnonzero(scores > 0)
        if filters:
            rows = [row for row in rows if filters.allows(self.index.chunks[row])]
        best = ranked([(float(scores[row]), int(row)) for row in rows], k)
        return [
            Hit(self.index.chunks[row], score, rank, bm25_score=score)
            for rank, (score, row) in enumerate(best, start=1)
        ]
