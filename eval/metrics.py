"""Ranking metrics over one question's ranked relevance flags (True = relevant).

Definitions follow BEIR / TREC usage: hit@k is 1 if any of the top k is relevant;
MRR@k is the reciprocal rank of the first relevant result within the top k (0 if none).
"""

from __future__ import annotations

from collections.abc import Sequence


def hit_at_k(relevant: Sequence[bool], k: int) -> float:
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool], k: int) -> float:
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")
    for rank, is_relevant in enumerate(relevant[:k], start=1):
        if is_relevant:
            return 1.0 / rank
    return 0.0


def first_relevant_rank(relevant: Sequence[bool]) -> int | None:
    return next((rank for rank, r in enumerate(relevant, start=1) if r), None)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank q-quantile (q in [0, 1]); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
