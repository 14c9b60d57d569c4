"""Dense retrieval: the question's embedding against the FAISS index (cosine)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ingest.embedder import Embedder
from ingest.store import CourseIndex
from ingest.vectors import search
from retriever.base import Filters, Hit

QUERY_CACHE = 256


class QueryEncoder:
    """Embeds questions, remembering recent ones (hybrid and MMR ask for the same one)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def __call__(self, query: str) -> np.ndarray:
        vector = self._cache.get(query)
        if vector is None:
            vector = self.embedder.embed([query])[0]
            self._cache[query] = vector
            if len(self._cache) > QUERY_CACHE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(query)
        return vector


class DenseRetriever:
    def __init__(self, index: CourseIndex, encode: QueryEncoder) -> None:
        self.index = index
        self.encode = encode

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        allowed = filters.allowed_rows(self.index) if filters else None
        scores, rows = search(self.index.dense, self.encode(query), k, allowed)
        return [
            Hit(self.index.chunks[row], float(score), rank, dense_score=float(score))
            for rank, (score, row) in enumerate(zip(scores, rows, strict=True), start=1)
        ]
