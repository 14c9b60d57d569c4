"""Maximal marginal relevance (Carbonell & Goldstein, 1998): re-rank hits so that the
top k are relevant *and* not near-copies of each other (overlapping chunks, a repeated
slide).

Each step picks ``argmax_d  λ·rel(d) − (1 − λ)·max_{s ∈ selected} sim(d, s)``, where
``sim`` is cosine between passages and ``rel`` is the retriever's own score rescaled to
[0, 1] over the candidates, so MMR diversifies the ranking it is given (hybrid stays
hybrid) instead of replacing it with plain cosine.
"""

from __future__ import annotations

import numpy as np

from ingest.store import CourseIndex
from retriever.base import Hit


def mmr(
    query_vector: np.ndarray,
    hits: list[Hit],
    index: CourseIndex,
    k: int,
    lambda_: float = 0.7,
) -> list[Hit]:
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda_ must be in [0, 1], got {lambda_}")
    if not hits:
        return []
    vectors = index.vectors[[index.row_of[h.chunk.id] for h in hits]]  # (n, dim), unit rows
    cosine = vectors @ query_vector  # (n,) cosine to the question
    scores = np.array([h.score for h in hits], dtype=np.float32)
    spread = float(scores.max() - scores.min())
    # rel(d) ∈ [0, 1]: the retriever's ranking, min-max scaled over the candidates
    relevance = (scores - scores.min()) / spread if spread > 0 else np.ones_like(scores)
    similarity = vectors @ vectors.T  # (n, n) cosine between candidates
    chosen: list[int] = []
    remaining = list(range(len(hits)))
    while remaining and len(chosen) < k:
        if chosen:
            redundancy = similarity[np.ix_(remaining, chosen)].max(axis=1)
        else:
            redundancy = np.zeros(len(remaining))
        gain = lambda_ * relevance[remaining] - (1 - lambda_) * redundancy
        # ties: the candidate ranked higher before re-ranking wins
        pick = remaining[int(np.argmax(gain))]
        chosen.append(pick)
        remaining.remove(pick)
    return [
        Hit(hits[i].chunk, hits[i].score, rank, float(cosine[i]), hits[i].bm25_score)
        for rank, i in enumerate(chosen, start=1)
    ]
