"""Lexical retrieval: BM25 over the chunk text and its course › lesson › section path."""

from __future__ import annotations

import numpy as np

from ingest.store import CourseIndex
from retriever.base import Filters, Hit, ranked


def contenders(scores: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """The rows that can be in the top k: those scoring at least the k-th best score.

    A partial partition, linear in ``rows``, in place of sorting every row that shares a
    word with the question (most of a 100k-chunk book for a common word); ties at the
    k-th score all stay, so ``ranked`` breaks them exactly as a full sort would.
    """
    if len(rows) <= k:
        return rows
    kth = np.partition(scores[rows], len(rows) - k)[len(rows) - k]
    return rows[scores[rows] >= kth]


class Bm25Retriever:
    def __init__(self, index: CourseIndex) -> None:
        self.index = index

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        scores = self.index.bm25.scores(query)
        rows = np.flatnonzero(scores > 0)
        if filters:
            rows = np.array([row for row in rows if filters.allows(self.index.chunks[row])],
                            dtype=np.int64)
        best = ranked([(float(scores[row]), int(row)) for row in contenders(scores, rows, k)], k)
        return [
            Hit(self.index.chunks[row], score, rank, bm25_score=score)
            for rank, (score, row) in enumerate(best, start=1)
        ]
